"""Funding events placed on the bar grid.

An event at time t settles on the position held at t, at the last close known at t. The engine
applies it, exactly and through the sim account, when it reaches the first bar at or after t;
the scan uses a float matrix of the same events (sum of mark x rate per bar and instrument)
only to project the futures wallet between actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from rebalancer.backtest.data import FundingSeries, PriceTable, to_time
from rebalancer.backtest.universe import Universe


@dataclass(frozen=True, slots=True)
class FundingEvent:
    bar: int  # the bar at which the engine settles it
    mark_bar: int  # the bar whose close is the mark at the event
    time: int  # epoch seconds
    instrument: int
    rate: Decimal


@dataclass(frozen=True, slots=True)
class FundingPlan:
    events: tuple[FundingEvent, ...]  # in settlement order
    bars: npt.NDArray[np.int64]  # `bar` of each event
    matrix: npt.NDArray[np.float64] | None  # bars x instruments: sum of mark x rate
    notes: tuple[str, ...]


def plan_funding(
    prices: PriceTable, universe: Universe, series: Mapping[str, FundingSeries]
) -> FundingPlan:
    """Events of `series` (keyed by instrument symbol) inside the price range, on the bar grid."""
    times = prices.times
    notes: list[str] = []
    events: list[FundingEvent] = []
    for k, instrument in enumerate(universe.instruments):
        funding = series.get(instrument.symbol)
        if funding is None:
            notes.append(f"no funding file for {instrument.symbol}: its funding is counted as 0")
            continue
        if len(times) and (funding.times[0] > times[0] or funding.times[-1] < times[-1]):
            notes.append(
                f"funding for {instrument.symbol} covers {_day(funding.times[0])} .. "
                f"{_day(funding.times[-1])} only; 0 outside"
            )
        inside = (funding.times > times[0]) & (funding.times <= times[-1]) if len(times) else []
        for index in np.flatnonzero(inside):
            moment = int(funding.times[index])
            mark_bar = int(np.searchsorted(times, moment, "right")) - 1
            bar = mark_bar if times[mark_bar] == moment else mark_bar + 1
            events.append(FundingEvent(bar, mark_bar, moment, k, funding.rates[index]))
    events.sort(key=lambda e: (e.bar, e.time, e.instrument))
    matrix = None
    if events:
        matrix = np.zeros((len(times), len(universe.instruments)), dtype=np.float64)
        for event in events:
            column = universe.instruments[event.instrument].column
            matrix[event.bar, event.instrument] += prices.closes[event.mark_bar, column] * float(
                event.rate
            )
    bars = np.array([e.bar for e in events], dtype=np.int64)
    return FundingPlan(tuple(events), bars, matrix, tuple(notes))


def _day(moment: np.int64) -> str:
    return to_time(moment).date().isoformat()
