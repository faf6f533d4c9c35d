"""The backtest's market: which price column every asset and hedge instrument reads, the
exchange rules we model for them, and the hedge lines the planner balances.

Perp marks are the spot closes of the instrument's base asset (no basis is modelled). Market
rules are modelled, not fetched: an amount step that is the power of ten worth at most one quote
unit at the asset's highest price in the data, and a minimum notional of 5 quote units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from rebalancer.backtest.data import DataError, PriceTable
from rebalancer.domain.strategy import HedgeLine, Strategy, hedge_lines


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str  # as in the config, e.g. BTC/USDT:USDT
    base: str
    column: int
    step: Decimal


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    spot_symbol: str
    column: int
    step: Decimal


@dataclass(frozen=True, slots=True)
class Universe:
    """Assets, instruments and hedge lines, with the float tables the vectorized scan uses."""

    quote: str
    assets: tuple[Asset, ...]
    instruments: tuple[Instrument, ...]
    lines: tuple[HedgeLine, ...]
    weights: npt.NDArray[np.float64]  # per line
    member_terms: tuple[tuple[int, int, float, int], ...]  # (line, column, beta, asset index)
    leg_terms: tuple[tuple[int, int, int], ...]  # (line, column, instrument index)

    def instrument(self, symbol: str) -> Instrument:
        return next(i for i in self.instruments if i.symbol == symbol)


def base_of(instrument: str, quote: str) -> str:
    """The base asset of a perp symbol: `BTC/USDT:USDT` and `BTCUSDT` both give `BTC`."""
    if "/" in instrument:
        return instrument.split("/", 1)[0].upper()
    upper = instrument.upper()
    return upper.removesuffix(quote) if upper.endswith(quote) and upper != quote else upper


def needed_symbols(strategy: Strategy, quote: str) -> tuple[str, ...]:
    """Price columns a backtest of this strategy reads: every target asset and hedge base."""
    names = list(strategy.weights)
    bases = [base_of(h.instrument, quote) for h in strategy.hedges.values()]
    bases += [base_of(g.index, quote) for g in strategy.groups if g.index]
    return tuple(dict.fromkeys(names + bases))


def build_universe(strategy: Strategy, quote: str, prices: PriceTable) -> Universe:
    missing = [s for s in needed_symbols(strategy, quote) if s not in prices.symbols]
    if missing:
        raise DataError(prices.source, [f"no price column for {', '.join(missing)}"])
    peaks = np.nanmax(prices.closes, axis=0) if len(prices.times) else np.ones(len(prices.symbols))
    assets = tuple(
        Asset(a, f"{a}/{quote}", prices.column(a), _step(float(peaks[prices.column(a)])))
        for a in strategy.weights
    )
    symbols = [h.instrument for h in strategy.hedges.values()]
    symbols += [g.index for g in strategy.groups if g.index]
    instruments = []
    for symbol in dict.fromkeys(symbols):
        column = prices.column(base_of(symbol, quote))
        step = _step(float(peaks[column]))
        instruments.append(Instrument(symbol, base_of(symbol, quote), column, step))
    lines = hedge_lines(strategy, frozenset(i.symbol for i in instruments))
    return Universe(
        quote=quote,
        assets=assets,
        instruments=tuple(instruments),
        lines=lines,
        weights=np.array([float(line.weight) for line in lines], dtype=np.float64),
        member_terms=_member_terms(lines, assets),
        leg_terms=_leg_terms(lines, instruments),
    )


def _step(peak: float) -> Decimal:
    if not peak > 0 or math.isnan(peak):
        return Decimal("1e-8")
    return Decimal(1).scaleb(math.floor(-math.log10(peak)))


def band_limits(strategy: Strategy, lines: Sequence[HedgeLine]) -> npt.NDArray[np.float64]:
    """Per line, the drift beyond which the band trigger fires (inf: no band, or unhedgeable).

    Taken from the run's strategy, not the universe's: sweeps vary the band over one market.
    """
    limits = []
    for line in lines:
        width = strategy.band.half_width(line.weight) if line.hedgeable else None
        limits.append(math.inf if width is None else float(width))
    return np.array(limits, dtype=np.float64)


def _member_terms(
    lines: Sequence[HedgeLine], assets: Sequence[Asset]
) -> tuple[tuple[int, int, float, int], ...]:
    index = {a.name: k for k, a in enumerate(assets)}
    return tuple(
        (n, assets[index[m.asset]].column, float(m.beta), index[m.asset])
        for n, line in enumerate(lines)
        for m in line.members
    )


def _leg_terms(
    lines: Sequence[HedgeLine], instruments: Sequence[Instrument]
) -> tuple[tuple[int, int, int], ...]:
    index = {i.symbol: k for k, i in enumerate(instruments)}
    return tuple(
        (n, instruments[index[leg.instrument]].column, index[leg.instrument])
        for n, line in enumerate(lines)
        for leg in line.legs
    )
