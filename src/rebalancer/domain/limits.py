"""Safety limits on a plan: caps on one order's and one cycle's notional.

A plan over a limit is refused whole, with its reason; it is never silently cut, because a
partial rebalance the user did not ask for is worse than a clear refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from rebalancer.domain.plan import Plan


def limit_violations(
    plan: Plan,
    *,
    max_order: Decimal | None,
    max_cycle: Decimal | None,
    spot: Mapping[str, Decimal] | None = None,
) -> tuple[str, ...]:
    """Why `plan` (with `spot`, a roll's spot trades: per asset, the signed value traded) breaks
    the limits; empty when it keeps them. A spot trade is an order like any other."""
    spot = spot or {}
    problems = []
    if max_order is not None:
        for order in plan.orders:
            if order.notional > max_order:
                problems.append(
                    f"leg {order.leg} ({order.instrument}) notional {order.notional:.2f} exceeds "
                    f"safety.max_order_notional {max_order}"
                )
        for asset, value in sorted(spot.items()):
            if abs(value) > max_order:
                problems.append(
                    f"spot {asset} notional {abs(value):.2f} exceeds "
                    f"safety.max_order_notional {max_order}"
                )
    traded = plan.traded_notional + sum((abs(v) for v in spot.values()), Decimal(0))
    if max_cycle is not None and traded > max_cycle:
        problems.append(
            f"cycle notional {traded:.2f} exceeds safety.max_cycle_notional {max_cycle}"
        )
    return tuple(problems)
