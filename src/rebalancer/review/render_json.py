"""History and run detail as stable JSON for scripts: a `format` key, fixed key order,
numbers as strings (counts and legs stay integers), times in UTC with a `Z`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rebalancer.render.borrowing import borrowing_json
from rebalancer.render.numbers import json_money, json_weight, quantity
from rebalancer.render.plan_json import line_to_dict
from rebalancer.review.records import HistoryRow, OrderView, RunDetail
from rebalancer.snapshot_file import snapshot_to_dict

HISTORY_FORMAT = "futures-rebalancer/history@1"
RUN_FORMAT = "futures-rebalancer/run@1"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else json_money(value)


def _weight(value: Decimal | None) -> str | None:
    return None if value is None else json_weight(value)


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else quantity(value)


def history_to_dict(rows: Sequence[HistoryRow]) -> dict[str, Any]:
    return {"format": HISTORY_FORMAT, "runs": [_summary(row) for row in rows]}


def _summary(row: HistoryRow) -> dict[str, Any]:
    return {
        "started_at": _time(row.started_at),
        "run_id": row.run_id,
        "portfolio": row.portfolio,
        "trigger": row.trigger,
        "mode": row.mode,
        "state": row.state.value,
        "quote": row.quote,
        "largest_drift_before": _weight(row.largest_drift_before),
        "largest_drift_after": _weight(row.largest_drift_after),
        "orders_count": row.orders_count,
        "notional_traded": _money(row.notional_traded),
        "fees": _money(row.fees),
    }


def run_to_dict(detail: RunDetail) -> dict[str, Any]:
    return {
        "format": RUN_FORMAT,
        "run": {
            **_summary(detail.summary),
            "reason": detail.reason,
            "finished_at": _time(detail.finished_at),
            "error": detail.error,
        },
        "strategy": _plain(detail.strategy),
        "before": None if detail.before is None else snapshot_to_dict(detail.before),
        "after": None if detail.after is None else snapshot_to_dict(detail.after),
        "borrowing": borrowing_json(detail.before.borrowing) if detail.before else None,
        "lines": [line_to_dict(line) for line in detail.lines],
        "notes": list(detail.notes),
        "orders": [_order(order) for order in detail.orders],
        "events": [
            {"at": _time(e.at), "kind": e.kind, "message": e.message, "data": _plain(e.data)}
            for e in detail.events
        ],
        "residual": [
            {"line": r.line, "target_weight": _weight(r.target_weight), "drift": _weight(r.drift)}
            for r in detail.residual
        ],
        "largest_residual_drift": _weight(detail.largest_residual_drift),
    }


def _order(order: OrderView) -> dict[str, Any]:
    return {
        "client_id": order.client_id,
        "leg": order.leg,
        "line": order.line,
        "instrument": order.instrument,
        "side": order.side.value,
        "amount": quantity(order.amount),
        "reduce_only": order.reduce_only,
        "mark": quantity(order.mark),
        "status": order.status.value,
        "exchange_id": order.exchange_id,
        "filled": quantity(order.filled),
        "average_price": _amount(order.average_price),
        "fee": _amount(order.fee),
        "fee_currency": order.fee_currency,
        "error": order.error,
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
        "fills": [
            {
                "quantity": quantity(f.quantity),
                "price": _amount(f.price),
                "fee": _amount(f.fee),
                "fee_currency": f.fee_currency,
                "at": _time(f.at),
            }
            for f in order.fills
        ],
    }


def _plain(value: Any) -> Any:
    """Stored JSON as plain JSON values: decimals (read exactly) go back out as strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value
