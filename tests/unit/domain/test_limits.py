"""Safety limits on one order's and one cycle's notional, spot trades of a roll included."""

from __future__ import annotations

from decimal import Decimal

from rebalancer.domain.limits import limit_violations
from rebalancer.domain.planner import plan
from tests.unit.domain.builders import seed_snapshot, seed_strategy

D = Decimal


def test_a_plan_within_the_limits_passes_and_one_over_them_is_named() -> None:
    seed = plan(seed_snapshot(), seed_strategy())  # short BTC 1,000, long ETH 1,000
    traded = seed.traded_notional

    assert limit_violations(seed, max_order=traded, max_cycle=traded) == ()
    problems = limit_violations(seed, max_order=D(999), max_cycle=traded - 1)
    assert len(problems) == 3  # both orders, and the cycle
    assert all("safety.max_" in p for p in problems)


def test_a_rolls_spot_trades_count_as_orders_and_towards_the_cycle() -> None:
    seed = plan(seed_snapshot(), seed_strategy())
    traded = seed.traded_notional
    spot = {"BTC": D(-1500), "ETH": D(400)}

    assert limit_violations(seed, max_order=None, max_cycle=traded + 1900, spot=spot) == ()
    over = limit_violations(seed, max_order=None, max_cycle=traded + 1899)
    assert over == ()  # without the spot trades the cycle fits
    assert limit_violations(seed, max_order=None, max_cycle=traded + 1899, spot=spot) == (
        f"cycle notional {traded + 1900:.2f} exceeds safety.max_cycle_notional {traded + 1899}",
    )
    big = limit_violations(seed, max_order=D(1400), max_cycle=None, spot=spot)
    assert big == ("spot BTC notional 1500.00 exceeds safety.max_order_notional 1400",)
