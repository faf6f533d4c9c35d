"""DESIGN §2 on real 2020-2025 BTC/ETH prices and funding, unified vs segregated: the same 60/40
overlay (1/6 USDT, 5 % band) is cap-bound on ~92 % of bars in a segregated account and tracks
like spot rebalancing in a unified one (95 % collateral ratios, 10 %/yr borrow), selling no
spot and borrowing up to ~30 % of equity. The funding files have no gaps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from rebalancer.backtest.data import load_funding, load_prices
from rebalancer.backtest.engine import Market, run
from rebalancer.backtest.funding import funding_gaps, plan_funding
from rebalancer.backtest.metrics import Metrics, compute
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import RunSpec
from rebalancer.backtest.universe import build_universe
from rebalancer.domain.snapshot import AccountKind
from rebalancer.domain.strategy import Band
from tests.backtest.helpers import shared_data, strategy

pytestmark = pytest.mark.needs_shared_data

Table = dict[tuple[AccountKind, Policy], Metrics]


@pytest.fixture(scope="module")
def table() -> Table:
    folder = shared_data()
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6", band=Band(Decimal("0.05"), None))
    prices = load_prices(folder / "prices.csv", ["BTC", "ETH"]).between(
        datetime(2020, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2025, 12, 30, tzinfo=UTC)
    )
    universe = build_universe(s, "USDT", prices)
    funding = {
        "BTC/USDT:USDT": load_funding(folder / "funding_BTCUSDT.csv"),
        "ETH/USDT:USDT": load_funding(folder / "funding_ETHUSDT.csv"),
    }
    market = Market(prices, universe, plan_funding(prices, universe, funding))
    assert market.funding.gaps == 0
    out: Table = {}
    for policy in (Policy.OVERLAY_BAND, Policy.SPOT_BAND, Policy.HOLD):
        spec = RunSpec(policy.value, policy, s, Decimal(10_000))
        for kind in AccountKind:
            out[kind, policy] = compute(run(replace(spec, account=kind), market))
    return out


def test_the_real_funding_files_have_no_gaps() -> None:
    folder = shared_data()
    for name in ("funding_BTCUSDT.csv", "funding_ETHUSDT.csv"):
        assert funding_gaps(load_funding(folder / name).times) == ()


def test_the_unified_overlay_tracks_like_spot_rebalancing_without_selling(table: Table) -> None:
    unified = table[AccountKind.UNIFIED, Policy.OVERLAY_BAND]
    spot = table[AccountKind.SEGREGATED, Policy.SPOT_BAND]
    assert abs(unified.drift_mean - spot.drift_mean) < 0.005
    assert 0.015 < unified.drift_mean < 0.03
    assert unified.cap_bound_share == 0
    assert unified.liquidations == 0
    assert unified.spot_sold == 0
    assert 0.2 < unified.max_borrowed_share < 0.4
    assert unified.interest > 0
    assert spot.spot_sold > 0  # spot rebalancing sells: the taxable volume the overlay avoids


def test_the_segregated_overlay_is_cap_bound_on_most_bars(table: Table) -> None:
    segregated = table[AccountKind.SEGREGATED, Policy.OVERLAY_BAND]
    assert 0.85 < segregated.cap_bound_share < 0.97
    assert segregated.drift_mean > 0.2
    assert segregated.interest == 0
    assert segregated.max_borrowed_share == 0


def test_without_hedges_the_account_kind_changes_nothing(table: Table) -> None:
    for policy in (Policy.SPOT_BAND, Policy.HOLD):
        assert table[AccountKind.UNIFIED, policy] == table[AccountKind.SEGREGATED, policy]


def test_scan_and_loop_agree_on_a_unified_account_on_real_prices() -> None:
    folder = shared_data()
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6", band=Band(Decimal("0.05"), None))
    prices = load_prices(folder / "prices.csv", ["BTC", "ETH"]).between(
        datetime(2020, 6, 1, tzinfo=UTC), datetime(2021, 6, 1, tzinfo=UTC)
    )
    universe = build_universe(s, "USDT", prices)
    funding = {
        "BTC/USDT:USDT": load_funding(folder / "funding_BTCUSDT.csv"),
        "ETH/USDT:USDT": load_funding(folder / "funding_ETHUSDT.csv"),
    }
    market = Market(prices, universe, plan_funding(prices, universe, funding))
    spec = RunSpec("o", Policy.OVERLAY_BAND, s, account=AccountKind.UNIFIED)
    scanned, looped = run(spec, market), run(spec, market, scan=False)
    assert scanned.ledger == looped.ledger
    assert scanned.holdings == looped.holdings
    assert scanned.ledger.interest > 0  # the 2020-2021 rally: borrowed
    assert scanned.series.borrowed is not None
    assert looped.series.borrowed is not None
    assert np.array_equal(scanned.series.borrowed, looped.series.borrowed)
    assert np.array_equal(scanned.series.futures, looped.series.futures)
