"""One place that decides how a run's results read: metric labels and formats, and the
downsampled series a report plots."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np

from rebalancer.backtest.data import to_time
from rebalancer.backtest.engine import RunResult
from rebalancer.backtest.metrics import Metrics
from rebalancer.render.numbers import json_money, money, points

MAX_POINTS = 2_000


@dataclass(frozen=True, slots=True)
class ReportSeries:
    """What the HTML report plots for one portfolio; leave a sequence empty to omit its chart."""

    times: Sequence[datetime]
    value: Sequence[float]
    largest_drift: Sequence[float] = ()
    hedge_notional: Sequence[float] = ()
    leverage: Sequence[float] = ()
    cumulative_funding: Sequence[float] = ()
    cumulative_costs: Sequence[float] = field(default=())


def report_series(result: RunResult, max_points: int = MAX_POINTS) -> ReportSeries:
    """The run's per-bar series, thinned to at most `max_points` (first and last bar kept)."""
    series = result.series
    bars = len(series.times)
    pick = np.unique(np.linspace(0, bars - 1, min(bars, max_points)).astype(np.int64))
    funding = _cumulative(result.ledger.funding_by_bar, bars)
    costs = _cumulative(result.ledger.costs_by_bar, bars)
    with np.errstate(divide="ignore", invalid="ignore"):
        leverage = np.where(series.futures > 0, series.gross / series.futures, np.nan)
    hedged = bool(np.any(series.gross))
    return ReportSeries(
        times=[to_time(t) for t in series.times[pick]],
        value=series.value[pick].tolist(),
        largest_drift=series.largest_drift[pick].tolist(),
        hedge_notional=series.gross[pick].tolist() if hedged else [],
        leverage=leverage[pick].tolist() if hedged else [],
        cumulative_funding=funding[pick].tolist(),
        cumulative_costs=costs[pick].tolist(),
    )


def _cumulative(by_bar: dict[int, Decimal], bars: int) -> np.ndarray:
    flows = np.zeros(bars)
    for bar, amount in by_bar.items():
        flows[bar] += float(amount)
    return np.cumsum(flows)


LABELS = {
    "final_value": "final value",
    "cagr": "CAGR",
    "volatility": "volatility",
    "max_drawdown": "max drawdown",
    "drift_mean": "drift mean",
    "drift_p95": "drift p95",
    "drift_max": "drift max",
    "rebalances": "rebalances",
    "perp_traded": "perp traded",
    "spot_traded": "spot traded",
    "costs": "fees + slippage",
    "funding_net": "funding net",
    "funding_paid": "funding paid",
    "funding_received": "funding received",
    "spot_sold": "spot sold (taxable)",
    "cap_bound_wakeups": "cap bound (wake-ups)",
    "cap_bound_share": "cap bound (bars)",
    "peak_leverage": "peak leverage (between wake-ups)",
    "liquidations": "liquidations",
    "rolls": "rolls",
    "rejected_orders": "rejected orders",
    "interest": "borrow interest",
    "max_borrowed_share": "max borrowed (of equity)",
}


def display(metrics: Metrics) -> dict[str, str]:
    """Metric key -> text for tables and the HTML report."""
    m = metrics
    return {
        "final_value": money(m.final_value),
        "cagr": _pct(m.cagr),
        "volatility": _pct(m.volatility),
        "max_drawdown": _pct(m.max_drawdown),
        "drift_mean": points(Decimal(repr(m.drift_mean))),
        "drift_p95": points(Decimal(repr(m.drift_p95))),
        "drift_max": points(Decimal(repr(m.drift_max))),
        "rebalances": str(m.rebalances),
        "perp_traded": money(m.perp_traded),
        "spot_traded": money(m.spot_traded),
        "costs": money(m.fees + m.slippage),
        "funding_net": money(m.funding_net, signed=True),
        "funding_paid": money(m.funding_paid),
        "funding_received": money(m.funding_received),
        "spot_sold": money(m.spot_sold),
        "cap_bound_wakeups": str(m.cap_bound_wakeups),
        "cap_bound_share": _pct(m.cap_bound_share),
        "peak_leverage": _peak_leverage(m),
        "liquidations": str(m.liquidations),
        "rolls": str(m.rolls),
        "rejected_orders": str(m.rejected_orders),
        "interest": money(m.interest),
        "max_borrowed_share": _pct(m.max_borrowed_share),
    }


def as_json(metrics: Metrics) -> dict[str, str]:
    """Metric key -> stable string (money to 1e-8, ratios to 1e-8, counts as integers)."""
    out: dict[str, str] = {}
    for name in Metrics.__dataclass_fields__:
        value = getattr(metrics, name)
        if isinstance(value, Decimal):
            out[name] = json_money(value)
        elif isinstance(value, float):
            out[name] = _ratio(value)
        else:
            out[name] = str(value)
    out["funding_net"] = json_money(metrics.funding_net)
    return out


def _peak_leverage(m: Metrics) -> str:
    # A liquidated account's leverage is not a number worth reading: its equity went to 0.
    if m.liquidations or math.isinf(m.peak_leverage):
        return "liquidated"
    return f"{m.peak_leverage:.2f}x"


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.2f}%"


def _ratio(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.8f}"
