"""DESIGN §2 on real 2020-2025 BTC/ETH prices and funding: a 60/40 sleeve with 1/6 of equity as
USDT collateral. The pure overlay runs into the 1x cap on most days; overlay + roll rolls and
keeps the cap from binding persistently."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rebalancer.backtest.data import load_funding, load_prices
from rebalancer.backtest.engine import Market, run
from rebalancer.backtest.funding import plan_funding
from rebalancer.backtest.metrics import Metrics, compute
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import RunSpec
from rebalancer.backtest.universe import build_universe
from tests.backtest.helpers import shared_data, strategy

pytestmark = pytest.mark.needs_shared_data


@pytest.fixture(scope="module")
def outcomes() -> dict[Policy, Metrics]:
    folder = shared_data()
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6")
    prices = load_prices(folder / "prices.csv", ["BTC", "ETH"]).between(
        datetime(2020, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2025, 12, 30, tzinfo=UTC)
    )
    universe = build_universe(s, "USDT", prices)
    funding = {
        "BTC/USDT:USDT": load_funding(folder / "funding_BTCUSDT.csv"),
        "ETH/USDT:USDT": load_funding(folder / "funding_ETHUSDT.csv"),
    }
    market = Market(prices, universe, plan_funding(prices, universe, funding))
    return {
        policy: compute(run(RunSpec(policy.value, policy, s, Decimal(10_000)), market))
        for policy in (Policy.OVERLAY_BAND, Policy.ROLL, Policy.HOLD)
    }


def test_the_pure_overlay_hits_the_cap_on_most_days(outcomes: dict[Policy, Metrics]) -> None:
    overlay = outcomes[Policy.OVERLAY_BAND]
    assert overlay.cap_bound_share > 0.5
    assert overlay.cap_bound_wakeups > overlay.rebalances / 2
    assert overlay.spot_sold == 0  # spot is never sold
    # Capped hedges cannot fix the drift: it stays about as large as doing nothing.
    assert overlay.drift_p95 > 0.5 * outcomes[Policy.HOLD].drift_p95


def test_roll_rolls_and_keeps_the_cap_from_binding_persistently(
    outcomes: dict[Policy, Metrics],
) -> None:
    roll, overlay = outcomes[Policy.ROLL], outcomes[Policy.OVERLAY_BAND]
    assert roll.rolls > 0
    assert roll.spot_sold > 0  # the roll realises the overlay in spot: taxable sales
    assert roll.cap_bound_share < 0.5
    assert roll.cap_bound_share < overlay.cap_bound_share / 2
    assert roll.drift_p95 < overlay.drift_p95 / 2
    assert roll.liquidations == 0
