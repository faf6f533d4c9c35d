"""Exporting runs, orders or fills as CSV or JSON, streamed, with exact numbers.

Columns and keys are fixed and documented by `COLUMNS`; numbers are written as `history --json`
and `show --json` write them (`render.numbers`): drifts to 10 decimals, quote amounts to 8,
amounts, prices and fees as stored without trailing zeros, never with an exponent; times as
ISO 8601 in UTC with a `Z`. CSV and JSON carry the same text. A fill row is a tax record on its
own: instrument, side, amount (in contracts, as ordered), price, fee and fee currency, time.
The JSON form is `{"format": ..., "rows": [...]}`; CSV has one header line. Rows come out
oldest first, so an export appended to over time stays in order.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, TextIO

from sqlalchemy import Select, select

from rebalancer.render.numbers import json_money, json_weight, quantity
from rebalancer.store.engine import Store
from rebalancer.store.tables import FillRow, OrderRow, RunRow

What = Literal["runs", "orders", "fills"]
Format = Literal["csv", "json"]
EXPORT_FORMAT = "futures-rebalancer/export-{what}@{version}"
VERSIONS = {"runs": 1, "orders": 1, "fills": 2}  # fills@2: instrument and side; amount
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
    "fills": (
        "id",
        "client_id",
        "run_id",
        "instrument",
        "side",
        "amount",
        "price",
        "fee",
        "fee_currency",
        "at",
    ),
}
_WEIGHTS = frozenset({"largest_drift_before", "largest_drift_after"})
_QUOTE_MONEY = frozenset({"notional_traded", "fees"})
_FILL_FIELDS = {
    "run_id": OrderRow.run_id,
    "instrument": OrderRow.instrument,
    "side": OrderRow.side,
    "amount": FillRow.quantity,
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
        fields = [_FILL_FIELDS.get(c) or getattr(FillRow, c) for c in columns]
        query = select(*fields).join(OrderRow).join(RunRow)
        order = (RunRow.started_at, OrderRow.run_id, FillRow.id)
    if portfolio is not None:
        query = query.where(RunRow.portfolio == portfolio)
    if since is not None:
        query = query.where(RunRow.started_at >= since)
    return query.order_by(*order)


def text_value(value: object, column: str = "") -> str | None:
    """A stored value as export text, as the JSON views write it; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _number(value, column)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value.value) if isinstance(value, Enum) else str(value)


def _number(value: Decimal, column: str) -> str:
    if column in _WEIGHTS:
        return json_weight(value)
    return json_money(value) if column in _QUOTE_MONEY else quantity(value)


def _csv(what: str, rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    columns = COLUMNS[what]
    writer.writerow(columns)
    count = 0
    for row in rows:
        texts = (text_value(v, c) for c, v in zip(columns, row, strict=True))
        writer.writerow(["" if t is None else t for t in texts])
        count += 1
    return count


def _json_value(value: object, column: str) -> object:
    # Integers and booleans stay JSON natives; money and times become strings.
    return value if isinstance(value, int) or value is None else text_value(value, column)


def _json(what: str, rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    columns = COLUMNS[what]
    name = EXPORT_FORMAT.format(what=what, version=VERSIONS[what])
    out.write(f'{{"format": {json.dumps(name)}, "rows": [')
    count = 0
    for row in rows:
        record = {c: _json_value(v, c) for c, v in zip(columns, row, strict=True)}
        out.write(("," if count else "") + "\n  " + json.dumps(record))
        count += 1
    out.write("\n]}\n" if count else "]}\n")
    return count
