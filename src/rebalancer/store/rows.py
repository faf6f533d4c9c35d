"""Mapping between the domain's values and the journal's rows, in both directions.

Kept in one place so the tables never leak out of the store and the domain never learns about
them. Enums are stored by value; the plan is kept twice, as `plan_to_dict` JSON (to show it
exactly as it was) and as one row per line (to query it). Writes go through Core statements
(the journal's hot path), so the write side produces column dicts; reads map ORM rows back.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.domain.plan import Plan, Side
from rebalancer.service.journal import OrderIntentRecord, RunStart, StoredOrder, StoredRun
from rebalancer.store.tables import OrderRow, RunRow


def run_values(run: RunStart) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "portfolio": run.portfolio,
        "mode": run.mode,
        "trigger": run.trigger,
        "reason": run.reason,
        "state": RunState.STARTED.value,
        "started_at": run.started_at,
        "updated_at": run.started_at,
        "strategy": dict(run.strategy),
    }


def stored_run(row: RunRow) -> StoredRun:
    return StoredRun(
        row.run_id, row.portfolio, row.mode, RunState(row.state), row.started_at, row.writer
    )


def plan_line_values(run_id: str, plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "position": position,
            "name": line.name,
            "assets": list(line.assets),
            "instruments": list(line.instruments),
            "target_weight": line.target_weight,
            "spot_value": line.spot_value,
            "hedge_before": line.hedge_before,
            "drift_before": line.drift_before,
            "target_hedge": line.target_hedge,
            "desired_hedge": line.desired_hedge,
            "allowed_hedge": line.allowed_hedge,
            "hedge_after": line.hedge_after,
            "drift_after": line.drift_after,
            "status": line.status.value,
            "reasons": list(line.reasons),
        }
        for position, line in enumerate(plan.lines)
    ]


def order_values(intent: OrderIntentRecord, at: datetime) -> dict[str, Any]:
    return {
        "client_id": intent.client_id,
        "run_id": intent.run_id,
        "leg": intent.leg,
        "line": intent.line,
        "instrument": intent.instrument,
        "side": intent.side.value,
        "amount": intent.amount,
        "reduce_only": intent.reduce_only,
        "mark": intent.mark,
        "status": OrderStatus.SUBMITTING.value,
        # Zero with the amount's exponent, as the in-memory journal writes it.
        "filled": intent.amount * 0,
        "created_at": at,
        "updated_at": at,
    }


def stored_order(row: OrderRow) -> StoredOrder:
    intent = OrderIntentRecord(
        client_id=row.client_id,
        run_id=row.run_id,
        leg=row.leg,
        line=row.line,
        instrument=row.instrument,
        side=Side(row.side),
        amount=row.amount,
        reduce_only=row.reduce_only,
        mark=row.mark,
    )
    return StoredOrder(
        intent=intent,
        status=OrderStatus(row.status),
        exchange_id=row.exchange_id,
        filled=row.filled,
        average_price=row.average_price,
        fee=row.fee,
        updated_at=row.updated_at,
    )


def increment_price(
    old_filled: Decimal,
    old_average: Decimal | None,
    new_filled: Decimal,
    new_average: Decimal | None,
) -> Decimal | None:
    """The price of the newly filled part, recovered from the change in the average price."""
    if new_average is None:
        return None
    if not old_filled or old_average is None:
        return new_average
    return (new_filled * new_average - old_filled * old_average) / (new_filled - old_filled)
