"""The history page's query: filters, cursors, and an index walk on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from rebalancer.store import Store
from rebalancer.web.runs import Cursor, FilterError, RunFilter, page_query, parse_filter
from tests.store.databases import db_url, pg_database, store

__all__ = ["db_url", "pg_database", "store"]

AT = datetime(2026, 3, 1, 12, 30, 0, 250_000, tzinfo=UTC)


def test_a_cursor_survives_its_text_form() -> None:
    cursor = Cursor(AT, "20260301T123000-ab.c")
    assert Cursor.decode("before", cursor.encode()) == cursor


def test_empty_parameters_mean_any_and_the_filter_round_trips() -> None:
    assert parse_filter({"mode": "", "state": "", "limit": ""}) == RunFilter()
    chosen = RunFilter("paper", "manual", "failed", date(2026, 1, 2), date(2026, 2, 3), 20)
    assert parse_filter(chosen.params()) == chosen


def test_an_impossible_date_is_refused_naming_the_parameter() -> None:
    with pytest.raises(FilterError, match="to: '2026-13-01' is not a date"):
        parse_filter({"to": "2026-13-01"})


@pytest.mark.parametrize(
    ("runs", "cursor"),
    [
        (RunFilter(), {}),
        (RunFilter(mode="paper", trigger="manual"), {"before": Cursor(AT, "x")}),
        (RunFilter(since=date(2026, 1, 1), until=date(2026, 6, 1)), {"after": Cursor(AT, "x")}),
    ],
)
def test_every_page_is_one_walk_of_the_started_at_index(
    store: Store, runs: RunFilter, cursor: dict[str, Cursor]
) -> None:
    query = page_query("main", runs, **cursor)
    with store.read() as session:
        if store.dialect == "sqlite":
            sql = str(
                query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
            )
            plan = " ".join(str(r[-1]) for r in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "USING INDEX ix_runs_portfolio_started_at" in plan
            assert "TEMP B-TREE" not in plan  # no sort: rows come in index order
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            sql = str(
                query.compile(
                    dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
                    compile_kwargs={"literal_binds": True},
                )
            )
            plan = " ".join(str(r[0]) for r in session.execute(text(f"EXPLAIN {sql}")))
            assert "using ix_runs_portfolio_started_at" in plan
            assert "Sort" not in plan
