"""Order validation against exchange filters: lot size step, minimum quantity, minimum notional
and reduce-only.

Mirrors Binance's rules, including its exemption of reduce-only orders from MIN_NOTIONAL so a
small remainder can always be closed. Margin sufficiency depends on the whole account and is
checked in `account`.
"""

from __future__ import annotations

from decimal import Decimal

from rebalancer.sim.values import ZERO, Rejection, RejectReason, Side


def check_quantity(qty: Decimal, step_size: Decimal, min_qty: Decimal) -> Rejection | None:
    if qty <= 0:
        return Rejection(RejectReason.INVALID_QUANTITY, f"quantity {qty} must be positive")
    if step_size > 0 and qty % step_size != 0:
        return Rejection(
            RejectReason.LOT_SIZE_STEP, f"quantity {qty} is not a multiple of {step_size}"
        )
    if qty < min_qty:
        return Rejection(RejectReason.MIN_QTY, f"quantity {qty} is below the minimum {min_qty}")
    return None


def check_min_notional(
    qty: Decimal, price: Decimal, min_notional: Decimal, *, reduce_only: bool
) -> Rejection | None:
    if reduce_only or qty * price >= min_notional:
        return None
    return Rejection(
        RejectReason.MIN_NOTIONAL, f"notional {qty * price} is below the minimum {min_notional}"
    )


def check_reduce_only(position_size: Decimal, side: Side, qty: Decimal) -> Rejection | None:
    """A reduce-only order must point against the position and not exceed it (no flip)."""
    reduces = position_size != ZERO and (position_size > 0) != (side is Side.BUY)
    if reduces and qty <= abs(position_size):
        return None
    return Rejection(
        RejectReason.REDUCE_ONLY,
        f"reduce-only {side.value} {qty} against position {position_size} would grow or flip it",
    )
