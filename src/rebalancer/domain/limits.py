"""Safety limits on a plan: caps on one order's and one cycle's notional.

A plan over a limit is refused whole, with its reason; it is never silently cut, because a
partial rebalance the user did not ask for is worse than a clear refusal.
"""

from __future__ import annotations

from decimal import Decimal

from rebalancer.domain.plan import Plan


def limit_violations(
    plan: Plan, *, max_order: Decimal | None, max_cycle: Decimal | None
) -> tuple[str, ...]:
    problems = []
    if max_order is not None:
        for order in plan.orders:
            if order.notional > max_order:
                problems.append(
                    f"leg {order.leg} ({order.instrument}) notional {order.notional:.2f} exceeds "
                    f"safety.max_order_notional {max_order}"
                )
    if max_cycle is not None and plan.traded_notional > max_cycle:
        problems.append(
            f"cycle notional {plan.traded_notional:.2f} exceeds safety.max_cycle_notional "
            f"{max_cycle}"
        )
    return tuple(problems)
