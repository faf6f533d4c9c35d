"""The vectorized scan finds exactly the bars a plain per-bar loop acts on: same events, same
ledger, same final holdings, bit-identical series."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from rebalancer.backtest.data import load_funding, load_prices
from rebalancer.backtest.engine import Market, RunResult, run
from rebalancer.backtest.funding import plan_funding
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import RunSpec
from rebalancer.backtest.universe import build_universe
from rebalancer.domain.strategy import Band, RebalanceTo
from tests.backtest.helpers import constant_funding, market, random_walk, shared_data, strategy


def _same(a: RunResult, b: RunResult) -> None:
    assert a.ledger == b.ledger
    assert a.holdings == b.holdings
    assert a.final_value == b.final_value
    for name in ("value", "largest_drift", "gross", "futures"):
        assert np.array_equal(getattr(a.series, name), getattr(b.series, name)), name
    assert (a.series.cap_bound is None) == (b.series.cap_bound is None)
    if a.series.cap_bound is not None and b.series.cap_bound is not None:
        assert np.array_equal(a.series.cap_bound, b.series.cap_bound)


@pytest.mark.parametrize("policy", list(Policy))
@pytest.mark.parametrize("to", [RebalanceTo.TARGET, RebalanceTo.BAND])
def test_scan_and_loop_agree_on_a_volatile_random_walk(policy: Policy, to: RebalanceTo) -> None:
    symbols = ["BTC", "ETH", "SOL"]
    s = strategy(
        {"BTC": "0.4", "ETH": "0.3", "SOL": "0.1"}, "0.2", to=to, band=Band(Decimal("0.03"), None)
    )
    closes = random_walk(1_500, symbols, seed=7, vol=0.02)
    times = 1_640_995_200 + 3_600 * np.arange(len(closes))
    funding = {f"{a}/USDT:USDT": constant_funding(times, "0.0003") for a in ("BTC", "ETH")}
    m = market(closes, symbols, s, funding=funding)
    spec = RunSpec(
        policy.value, policy, s, Decimal(10_000), cron="0 */12 * * *", margin_floor=Decimal("0.9")
    )
    scanned, looped = run(spec, m, scan=True), run(spec, m, scan=False)
    _same(scanned, looped)
    if policy is not Policy.HOLD:
        assert scanned.ledger.rebalances > 0


@pytest.mark.needs_shared_data
def test_scan_and_loop_agree_on_real_prices_with_funding() -> None:
    folder = shared_data()
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6")
    prices = load_prices(folder / "prices.csv", ["BTC", "ETH"])
    prices = prices.between(*_window("2020-06-01", "2021-06-01"))
    universe = build_universe(s, "USDT", prices)
    funding = {
        "BTC/USDT:USDT": load_funding(folder / "funding_BTCUSDT.csv"),
        "ETH/USDT:USDT": load_funding(folder / "funding_ETHUSDT.csv"),
    }
    m = Market(prices, universe, plan_funding(prices, universe, funding))
    for policy in (Policy.OVERLAY_BAND, Policy.ROLL, Policy.OVERLAY_CALENDAR):
        spec = RunSpec(policy.value, policy, s, cron="0 0 * * 1")
        _same(run(spec, m, scan=True), run(spec, m, scan=False))
    spec = RunSpec("band", Policy.SPOT_BAND, replace(s, band=Band(Decimal("0.02"))))
    _same(run(spec, m, scan=True), run(spec, m, scan=False))


def _window(start: str, end: str) -> tuple[datetime, datetime]:
    return (
        datetime.fromisoformat(start).replace(tzinfo=UTC),
        datetime.fromisoformat(end).replace(tzinfo=UTC),
    )
