"""Builders for backtest tests: strategies, synthetic random-walk markets, the shared data."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from rebalancer.backtest.data import FundingSeries, PriceTable
from rebalancer.backtest.engine import Market
from rebalancer.backtest.funding import plan_funding
from rebalancer.backtest.universe import build_universe
from rebalancer.domain.strategy import Band, Hedge, RebalanceTo, Strategy

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
T0 = int(datetime(2022, 1, 1, tzinfo=UTC).timestamp())
HOUR = 3_600


def shared_data() -> Path:
    """The shared real-data folder; skips where it is absent, fails instead when CI=true."""
    if not SHARED_DATA.is_dir():
        reason = f"shared data folder {SHARED_DATA} is absent"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true requires it)")
        pytest.skip(reason)
    return SHARED_DATA


def fraction(text: str) -> Decimal:
    top, _, bottom = text.partition("/")
    return Decimal(top) / Decimal(bottom or 1)


def strategy(
    weights: Mapping[str, str],
    cash: str,
    *,
    band: Band | None = None,
    to: RebalanceTo = RebalanceTo.TARGET,
    min_trade: str = "10",
) -> Strategy:
    return Strategy(
        weights={a: fraction(w) for a, w in weights.items()},
        hedges={a: Hedge(f"{a}/USDT:USDT") for a in weights},
        cash_weight=fraction(cash),
        rebalance_to=to,
        band=band or Band(Decimal("0.05"), Decimal("0.25")),
        min_trade_notional=Decimal(min_trade),
    )


def random_walk(
    bars: int, symbols: Sequence[str], *, seed: int, vol: float = 0.01, start: float = 100.0
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, vol, size=(bars, len(symbols)))
    steps[0] = 0.0
    return np.round(start * np.exp(np.cumsum(steps, axis=0)), 6)


def market(
    closes: np.ndarray,
    symbols: Sequence[str],
    plan_for: Strategy,
    *,
    step: int = HOUR,
    funding: Mapping[str, FundingSeries] | None = None,
) -> Market:
    times = T0 + step * np.arange(len(closes), dtype=np.int64)
    prices = PriceTable("synthetic", times, tuple(symbols), np.asarray(closes, dtype=np.float64))
    universe = build_universe(plan_for, "USDT", prices)
    return Market(prices, universe, plan_funding(prices, universe, funding or {}))


def constant_funding(times: np.ndarray, rate: str, every: int = 8 * HOUR) -> FundingSeries:
    moments = np.arange(int(times[0]), int(times[-1]) + 1, every, dtype=np.int64)
    return FundingSeries("synthetic", moments, tuple(Decimal(rate) for _ in moments))
