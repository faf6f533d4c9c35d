"""Per-run figures: return and risk from the value series, drift statistics, and the ledger's
exact counts (trades, costs, funding, borrow interest, taxable spot sales, cap, liquidations,
rolls); for a unified account also the largest borrowed share of equity."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from rebalancer.backtest.engine import RunResult

YEAR = 365.25 * 86_400


@dataclass(frozen=True, slots=True)
class Metrics:
    initial_value: Decimal
    final_value: Decimal
    cagr: float
    volatility: float  # annualised, from per-bar log returns (crypto trades every day)
    max_drawdown: float
    drift_mean: float  # of the largest absolute drift across lines, per bar
    drift_p95: float
    rebalances: int
    perp_traded: Decimal
    spot_traded: Decimal
    fees: Decimal
    slippage: Decimal
    funding_paid: Decimal
    funding_received: Decimal
    spot_sold: Decimal  # taxable volume
    cap_bound_wakeups: int  # rebalance decisions whose plan found the cap binding
    cap_bound_share: float  # share of bars on which a full rebalance would not fit the cap
    peak_leverage: float  # gross hedge notional / futures equity, highest seen at any bar
    liquidations: int
    rolls: int
    rejected_orders: int
    drift_max: float = 0.0  # largest drift seen at any bar
    interest: Decimal = Decimal(0)  # unified: interest on borrowed quote
    max_borrowed_share: float = 0.0  # unified: borrowed quote / equity, highest at any bar

    @property
    def funding_net(self) -> Decimal:
        return self.funding_received - self.funding_paid


def compute(result: RunResult) -> Metrics:
    series = result.series
    ledger = result.ledger
    value = series.value
    initial = result.spec.equity
    span = (int(series.times[-1]) - int(series.times[0])) / YEAR if len(series.times) else 0.0
    ratio = float(result.final_value / initial) if initial else 0.0
    cagr = ratio ** (1 / span) - 1 if span > 0 and ratio > 0 else math.nan
    return Metrics(
        initial_value=initial,
        final_value=result.final_value,
        cagr=cagr,
        volatility=_volatility(series.times, value),
        max_drawdown=_drawdown(value),
        drift_mean=float(np.mean(series.largest_drift)),
        drift_p95=float(np.percentile(series.largest_drift, 95)),
        rebalances=ledger.rebalances,
        perp_traded=ledger.perp_traded,
        spot_traded=ledger.spot_traded,
        fees=ledger.fees,
        slippage=ledger.slippage,
        funding_paid=ledger.funding_paid,
        funding_received=ledger.funding_received,
        spot_sold=ledger.spot_sold,
        cap_bound_wakeups=ledger.cap_bound,
        cap_bound_share=float(np.mean(series.cap_bound)) if series.cap_bound is not None else 0.0,
        peak_leverage=_peak_leverage(series.gross, series.futures),
        liquidations=ledger.liquidations,
        rolls=ledger.rolls,
        rejected_orders=ledger.rejected,
        drift_max=float(np.max(series.largest_drift)) if len(value) else 0.0,
        interest=ledger.interest,
        max_borrowed_share=_borrowed_share(series.borrowed, value),
    )


def _borrowed_share(borrowed: np.ndarray | None, value: np.ndarray) -> float:
    if borrowed is None or not len(value):
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(value > 0, borrowed / value, np.where(borrowed > 0, np.inf, 0.0))
    return float(np.max(share))


def _volatility(times: np.ndarray, value: np.ndarray) -> float:
    if len(value) < 3 or not np.all(value > 0):
        return math.nan
    step = float(np.median(np.diff(times)))
    returns = np.diff(np.log(value))
    return float(np.std(returns, ddof=1) * math.sqrt(YEAR / step))


def _drawdown(value: np.ndarray) -> float:
    if not len(value):
        return 0.0
    peaks = np.maximum.accumulate(value)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.nanmax(np.where(peaks > 0, 1 - value / peaks, 0.0)))


def _peak_leverage(gross: np.ndarray, futures: np.ndarray) -> float:
    held = gross > 0
    if not held.any():
        return 0.0
    if np.any(futures[held] <= 0):
        return math.inf
    return float(np.max(gross[held] / futures[held]))
