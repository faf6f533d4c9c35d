"""The history page's query: the review's `history_query` plus filters and keyset pages.

Pages are cut by a cursor (the last row's start time and run id) rather than an offset, so
page 2,000 costs what page 1 does: each page is one range scan of the `(portfolio,
started_at, run_id)` index the review's history already uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, and_, or_

from rebalancer.config import Mode
from rebalancer.domain.lifecycle import RunState
from rebalancer.domain.triggers import Wake
from rebalancer.review import HistoryRow
from rebalancer.review.queries import history_query
from rebalancer.store.engine import Store
from rebalancer.store.tables import RunRow

MAX_LIMIT = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
MODES = tuple(m.value for m in Mode)
TRIGGERS = tuple(w.value for w in Wake)
STATES = tuple(s.value for s in RunState)


class FilterError(ValueError):
    """A query parameter that cannot be used: names the parameter and the fix."""


@dataclass(frozen=True, slots=True)
class Cursor:
    started_at: datetime
    run_id: str

    def encode(self) -> str:
        return f"{(self.started_at - _EPOCH) // _MICRO}.{self.run_id}"

    @classmethod
    def decode(cls, name: str, text: str) -> Cursor:
        micros, _, run_id = text.partition(".")
        if not (micros.isdigit() and run_id):
            raise FilterError(f"{name}: {text!r} is not a page cursor; follow the page links")
        return cls(_EPOCH + int(micros) * _MICRO, run_id)


@dataclass(frozen=True, slots=True)
class RunFilter:
    mode: str | None = None
    trigger: str | None = None
    state: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = 50

    def params(self) -> dict[str, str]:
        """The filter as query parameters (for the page links and the chart's data URL)."""
        out = {
            "mode": self.mode,
            "trigger": self.trigger,
            "state": self.state,
            "from": None if self.since is None else self.since.isoformat(),
            "to": None if self.until is None else self.until.isoformat(),
        }
        found = {k: v for k, v in out.items() if v}
        if self.limit != 50:
            found["limit"] = str(self.limit)
        return found


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[HistoryRow]
    older: Cursor | None
    newer: Cursor | None


def parse_filter(params: Mapping[str, str]) -> RunFilter:
    """Query parameters -> a filter; empty values mean "any". Raises `FilterError`."""
    return RunFilter(
        mode=_choice(params, "mode", MODES),
        trigger=_choice(params, "trigger", TRIGGERS),
        state=_choice(params, "state", STATES),
        since=_date(params, "from"),
        until=_date(params, "to"),
        limit=_limit(params.get("limit") or "50"),
    )


def parse_cursor(params: Mapping[str, str], name: str) -> Cursor | None:
    text = params.get(name)
    return Cursor.decode(name, text) if text else None


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name) or None
    if value is not None and value not in allowed:
        raise FilterError(f"{name}: {value!r} is not one of {', '.join(allowed)}; pick one")
    return value


def _date(params: Mapping[str, str], name: str) -> date | None:
    value = params.get(name) or None
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name}: {value!r} is not a date; use YYYY-MM-DD") from None


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise FilterError(f"limit: {value!r} is not a page size; use 1 to {MAX_LIMIT}")
    return int(value)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def page_query(
    portfolio: str,
    runs: RunFilter,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> Select[Any]:
    """The statement behind `page` (exposed so tests can check its plan uses an index): one
    row more than the page, to know whether another page follows."""
    since = None if runs.since is None else _midnight(runs.since)
    query = history_query(portfolio=portfolio, since=since, limit=runs.limit + 1, mode=runs.mode)
    if runs.trigger is not None:
        query = query.where(RunRow.trigger == runs.trigger)
    if runs.state is not None:
        query = query.where(RunRow.state == runs.state)
    if runs.until is not None:
        query = query.where(RunRow.started_at < _midnight(runs.until) + timedelta(days=1))
    if after is not None:
        query = query.where(_newer_than(after)).order_by(None)
        return query.order_by(RunRow.started_at.asc(), RunRow.run_id.asc())
    if before is not None:
        return query.where(_older_than(before))
    return query


def page(
    store: Store,
    portfolio: str,
    runs: RunFilter,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> Page:
    """One page of runs, newest first: older than `before`, or the page just newer than `after`."""
    query = page_query(portfolio, runs, before=before, after=after)
    with store.read() as session:
        found = [_row(row) for row in session.execute(query)]
    more = len(found) > runs.limit
    found = found[: runs.limit]
    if after is not None:
        found.reverse()
        older = _cursor(found[-1]) if found else None
        return Page(found, older, _cursor(found[0]) if more and found else None)
    older = _cursor(found[-1]) if more and found else None
    newer = _cursor(found[0]) if before is not None and found else None
    return Page(found, older, newer)


def requested_page(
    store: Store, portfolio: str, params: Mapping[str, str]
) -> tuple[RunFilter, Page]:
    """The filter and the page a request's query parameters ask for (`FilterError` if bad);
    the pages and the API read history the same way."""
    runs = parse_filter(params)
    found = page(
        store,
        portfolio,
        runs,
        before=parse_cursor(params, "before"),
        after=parse_cursor(params, "after"),
    )
    return runs, found


# Each keeps a plain range bound on started_at beside the tie-break, so the index scan
# starts at the cursor instead of filtering every newer row.
def _newer_than(cursor: Cursor) -> Any:
    at = cursor.started_at
    tie = and_(RunRow.started_at == at, RunRow.run_id > cursor.run_id)
    return and_(RunRow.started_at >= at, or_(RunRow.started_at > at, tie))


def _older_than(cursor: Cursor) -> Any:
    at = cursor.started_at
    tie = and_(RunRow.started_at == at, RunRow.run_id < cursor.run_id)
    return and_(RunRow.started_at <= at, or_(RunRow.started_at < at, tie))


def _cursor(row: HistoryRow) -> Cursor:
    return Cursor(row.started_at, row.run_id)


def _row(row: Row[Any]) -> HistoryRow:
    fields = row._asdict()
    return HistoryRow(**{**fields, "state": RunState(fields["state"])})
