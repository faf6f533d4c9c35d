"""Exporting runs, orders or fills as CSV or JSON, streamed, with exact numbers.

Columns and keys are fixed and documented by `COLUMNS`; numbers are written in plain decimal
notation with every stored digit (no rounding, no exponent), times as ISO 8601 in UTC with a
`Z`. The JSON form is `{"format": ..., "rows": [...]}`; CSV has one header line. Rows come out
oldest first, so an export appended to over time stays in order.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TextIO

from sqlalchemy import Select, select

from rebalancer.store.engine import Store
from rebalancer.store.tables import FillRow, OrderRow, RunRow

What = Literal["runs", "orders", "fills"]
Format = Literal["csv", "json"]
EXPORT_FORMAT = "futures-rebalancer/export-{what}@1"
_BATCH = 1000

COLUMNS: dict[str, tuple[str, ...]] = {
    "runs": (
        "run_id",
        "portfolio",
        "mode",
        "trigger",
        "reason",
        "state",
        "started_at",
        "finished_at",
        "quote",
        "largest_drift_before",
        "largest_drift_after",
        "orders_count",
        "notional_traded",
        "fees",
        "error",
    ),
    "orders": (
        "client_id",
        "run_id",
        "leg",
        "line",
        "instrument",
        "side",
        "amount",
        "reduce_only",
        "mark",
        "status",
        "exchange_id",
        "filled",
        "average_price",
        "fee",
        "fee_currency",
        "error",
        "created_at",
        "updated_at",
    ),
    "fills": ("id", "client_id", "run_id", "quantity", "price", "fee", "fee_currency", "at"),
}


def export(
    store: Store,
    what: What,
    fmt: Format,
    out: TextIO,
    *,
    portfolio: str | None = None,
    since: datetime | None = None,
) -> int:
    """Write every `what` (of one portfolio, of runs started since a time) to `out`; the count."""
    if what not in COLUMNS:
        raise ValueError(f"cannot export {what!r}; choose one of {', '.join(COLUMNS)}")
    if fmt not in ("csv", "json"):
        raise ValueError(f"unknown format {fmt!r}; choose csv or json")
    query = _query(what, portfolio, since).execution_options(yield_per=_BATCH)
    with store.read() as session:
        rows = (tuple(row) for row in session.execute(query))
        writer = _csv if fmt == "csv" else _json
        return writer(what, rows, out)


def _query(what: str, portfolio: str | None, since: datetime | None) -> Select[Any]:
    columns = COLUMNS[what]
    if what == "runs":
        query = select(*(getattr(RunRow, c) for c in columns))
        order: tuple[Any, ...] = (RunRow.started_at, RunRow.run_id)
    elif what == "orders":
        query = select(*(getattr(OrderRow, c) for c in columns)).join(RunRow)
        order = (RunRow.started_at, OrderRow.run_id, OrderRow.leg, OrderRow.client_id)
    else:
        fields = [OrderRow.run_id if c == "run_id" else getattr(FillRow, c) for c in columns]
        query = select(*fields).join(OrderRow).join(RunRow)
        order = (RunRow.started_at, OrderRow.run_id, FillRow.id)
    if portfolio is not None:
        query = query.where(RunRow.portfolio == portfolio)
    if since is not None:
        query = query.where(RunRow.started_at >= since)
    return query.order_by(*order)


def text_value(value: object) -> str | None:
    """A stored value as export text: exact decimals, UTC times with Z; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _csv(what: str, rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS[what])
    count = 0
    for row in rows:
        writer.writerow(["" if (t := text_value(v)) is None else t for v in row])
        count += 1
    return count


def _json_value(value: object) -> object:
    # Integers and booleans stay JSON natives; money and times become strings.
    return value if isinstance(value, int) or value is None else text_value(value)


def _json(what: str, rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    columns = COLUMNS[what]
    out.write(f'{{"format": {json.dumps(EXPORT_FORMAT.format(what=what))}, "rows": [')
    count = 0
    for row in rows:
        record = {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        out.write(("," if count else "") + "\n  " + json.dumps(record))
        count += 1
    out.write("\n]}\n" if count else "]}\n")
    return count
