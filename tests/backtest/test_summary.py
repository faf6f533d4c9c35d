"""How a run's metrics read: a liquidated run says so instead of a leverage of `inf`."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from rebalancer.backtest.metrics import Metrics
from rebalancer.backtest.summary import LABELS, display


def _metrics(peak: float, liquidations: int) -> Metrics:
    zero = Decimal(0)
    return Metrics(
        initial_value=Decimal(10_000), final_value=Decimal(10_000), cagr=0.1, volatility=0.5,
        max_drawdown=0.2, drift_mean=0.01, drift_p95=0.03, rebalances=3, perp_traded=zero,
        spot_traded=zero, fees=zero,
        slippage=zero, funding_paid=zero, funding_received=zero, spot_sold=zero,
        cap_bound_wakeups=0, cap_bound_share=0.0, peak_leverage=peak, liquidations=liquidations,
        rolls=0, rejected_orders=0,
    )  # fmt: skip


@pytest.mark.parametrize(("peak", "liquidations"), [(math.inf, 1), (math.inf, 0), (1.7, 1)])
def test_a_liquidated_run_reads_liquidated(peak: float, liquidations: int) -> None:
    assert display(_metrics(peak, liquidations))["peak_leverage"] == "liquidated"


def test_a_surviving_run_shows_its_peak_leverage() -> None:
    assert display(_metrics(1.234, 0))["peak_leverage"] == "1.23x"


def test_the_peak_leverage_column_says_where_it_is_measured() -> None:
    assert "between wake-ups" in LABELS["peak_leverage"]
