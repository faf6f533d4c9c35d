"""A plan as stable JSON for scripts: fixed keys, numbers as strings, lines sorted by name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rebalancer.domain.plan import (
    Borrowing,
    CarryFigures,
    HedgeOrSell,
    OrderIntent,
    Plan,
    PlanLine,
)
from rebalancer.domain.snapshot import Borrowing as SnapshotBorrowing
from rebalancer.render.borrowing import borrowing_json
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
        "borrowing": _borrowing(plan.borrowing, plan.equity),
        "hedge_or_sell": carry_to_dict(plan.carry),
    }


CARRY_LABEL = "figures only, no tax advice"


def carry_to_dict(carry: CarryFigures | None) -> dict[str, Any] | None:
    """Hedge or sell per line (None when the plan was made without the projection)."""
    if carry is None:
        return None
    return {
        "label": CARRY_LABEL,
        "horizon_hours": quantity(carry.horizon_hours),
        "lines": [
            {
                "line": f.line,
                "hedge": json_money(f.hedge),
                "added": json_money(f.added),
                "funding": json_money(f.funding),
                "interest": json_money(f.interest),
                "carry": json_money(f.carry),
                "spot_trade": json_money(f.spot_trade),
                "fees": json_money(f.fees),
                "slippage": json_money(f.slippage),
                "spot_cost": json_money(f.spot_cost),
                "realised_gain": None if f.realised_gain is None else json_money(f.realised_gain),
                "rolled": f.rolled,
            }
            for f in carry.lines
        ],
    }


def carry_from_dict(data: Any) -> CarryFigures | None:
    """The figures back from a journaled plan (None when absent or not in this form)."""
    if not isinstance(data, dict):
        return None
    try:
        lines = tuple(
            HedgeOrSell(
                line=str(row["line"]),
                hedge=Decimal(row["hedge"]),
                added=Decimal(row["added"]),
                funding=Decimal(row["funding"]),
                interest=Decimal(row["interest"]),
                spot_trade=Decimal(row["spot_trade"]),
                fees=Decimal(row["fees"]),
                slippage=Decimal(row["slippage"]),
                realised_gain=None
                if row["realised_gain"] is None
                else Decimal(row["realised_gain"]),
                rolled=row.get("rolled") is True,  # absent in journals before the roll said so
            )
            for row in data["lines"]
        )
        return CarryFigures(Decimal(data["horizon_hours"]), lines)
    except (KeyError, TypeError, ArithmeticError):
        return None


def _borrowing(borrowing: Borrowing | None, equity: Decimal) -> dict[str, Any] | None:
    """A unified account's borrowing (None when segregated: such an account borrows nothing):
    the amount and its share of equity as `render.borrowing` writes them, then the plan's
    stressed figures."""
    if borrowing is None:
        return None
    share = borrowing.borrowed / equity if equity > 0 else None
    return {
        **(borrowing_json(SnapshotBorrowing(borrowing.borrowed, share)) or {}),
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
