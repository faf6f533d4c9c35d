"""A plan as stable JSON for scripts: fixed keys, numbers as strings, lines sorted by name."""

from __future__ import annotations

from typing import Any

from rebalancer.domain.plan import Borrowing, OrderIntent, Plan, PlanLine
from rebalancer.render.numbers import json_money, json_weight, quantity

PLAN_FORMAT = "futures-rebalancer/plan@1"


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "as_of": plan.as_of.isoformat().replace("+00:00", "Z"),
        "quote": plan.quote,
        "equity": json_money(plan.equity),
        "futures_equity": json_money(plan.futures_equity),
        "collateral": json_money(plan.collateral),
        "max_leverage": quantity(plan.max_leverage),
        "leverage_budget": json_money(plan.leverage_budget),
        "gross_before": json_money(plan.gross_before),
        "gross_after": json_money(plan.gross_after),
        "required_collateral": json_money(plan.required_collateral),
        "collateral_shortfall": json_money(plan.collateral_shortfall),
        "cap": plan.cap.value,
        "largest_drift_before": json_weight(plan.largest_drift_before),
        "largest_drift_after": json_weight(plan.largest_drift_after),
        "lines": [line_to_dict(line) for line in plan.lines],
        "cash": {
            "target_weight": json_weight(plan.cash.target_weight),
            "exposure_before": json_money(plan.cash.exposure_before),
            "exposure_after": json_money(plan.cash.exposure_after),
            "drift_before": json_weight(plan.cash.drift_before),
            "drift_after": json_weight(plan.cash.drift_after),
        },
        "orders": [_order(order) for order in plan.orders],
        "skipped": [
            {
                "line": s.line,
                "instrument": s.instrument,
                "base_quantity": quantity(s.base_quantity),
                "notional": json_money(s.notional),
                "reason": s.reason.name.lower(),
                "explanation": s.reason.value,
            }
            for s in plan.skipped
        ],
        "notes": list(plan.notes),
        "borrowing": _borrowing(plan.borrowing),
    }


def _borrowing(borrowing: Borrowing | None) -> dict[str, Any] | None:
    """A unified account's borrowing (None when segregated: such an account borrows nothing)."""
    if borrowing is None:
        return None
    return {
        "borrowed": json_money(borrowing.borrowed),
        "stress": quantity(borrowing.stress),
        "stressed_before": json_money(borrowing.stressed_before),
        "stressed_after": json_money(borrowing.stressed_after),
        "limit": None if borrowing.limit is None else json_money(borrowing.limit),
        "binding": borrowing.binding,
    }


def line_to_dict(line: PlanLine) -> dict[str, Any]:
    """One plan line as JSON (shared by the plan and the review of a run)."""
    return {
        "name": line.name,
        "assets": list(line.assets),
        "instruments": list(line.instruments),
        "target_weight": json_weight(line.target_weight),
        "spot_value": json_money(line.spot_value),
        "hedge_before": json_money(line.hedge_before),
        "exposure_before": json_money(line.exposure_before),
        "drift_before": json_weight(line.drift_before),
        "target_hedge": json_money(line.target_hedge),
        "desired_hedge": json_money(line.desired_hedge),
        "allowed_hedge": json_money(line.allowed_hedge),
        "hedge_after": json_money(line.hedge_after),
        "exposure_after": json_money(line.exposure_after),
        "drift_after": json_weight(line.drift_after),
        "status": line.status.value,
        "reasons": list(line.reasons),
    }


def _order(order: OrderIntent) -> dict[str, Any]:
    return {
        "leg": order.leg,
        "line": order.line,
        "instrument": order.instrument,
        "side": order.side.value,
        "amount": quantity(order.amount),
        "base_quantity": quantity(order.base_quantity),
        "reduce_only": order.reduce_only,
        "mark": quantity(order.mark),
        "notional": json_money(order.notional),
        "position_before": quantity(order.position_before),
        "position_after": quantity(order.position_after),
    }
