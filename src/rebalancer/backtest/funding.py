"""Funding events placed on the bar grid.

An event at time t settles on the position held at t, at the last close known at t. The engine
applies it, exactly and through the sim account, when it reaches the first bar at or after t;
the scan uses a float matrix of the same events (sum of mark x rate per bar and instrument)
only to project the futures wallet between actions.

Funding is read at the file's own timestamps, whatever the interval (1 h, 2 h, 4 h or 8 h, and
it may change over time). A missing payment is never silently zero: `funding_gaps` finds
them and the plan's notes say where they are (and, when there are none, that too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from rebalancer.backtest.data import FundingSeries, PriceTable, to_time
from rebalancer.backtest.universe import Universe
from rebalancer.sim import FUNDING_INTERVALS_HOURS


@dataclass(frozen=True, slots=True)
class FundingEvent:
    bar: int  # the bar at which the engine settles it
    mark_bar: int  # the bar whose close is the mark at the event
    time: int  # epoch seconds
    instrument: int
    rate: Decimal


INTERVALS = tuple(hours * 3_600 for hours in FUNDING_INTERVALS_HOURS)


@dataclass(frozen=True, slots=True)
class FundingGap:
    """Payments missing between two consecutive rows of a funding file."""

    after: int  # epoch seconds of the row before the gap
    before: int  # epoch seconds of the row after it
    interval: int  # the interval in force around it, seconds
    missing: int  # payments missing

    def describe(self) -> str:
        return (
            f"{_moment(self.after)} .. {_moment(self.before)} "
            f"({self.missing} payment{'s' if self.missing != 1 else ''} of "
            f"{self.interval // 3_600} h missing)"
        )


def funding_gaps(times: npt.NDArray[np.int64]) -> tuple[FundingGap, ...]:
    """Steps between payments that skip at least one payment.

    A step is a gap when it is no venue's interval (not 1, 2, 4 or 8 h), or when it is longer
    than the steps on both sides of it (one 8 h step among 4 h steps: a payment is missing).
    A change of interval (8 h steps, then 4 h steps) is not a gap.
    """
    steps = np.diff(times)
    gaps: list[FundingGap] = []
    for i, step in enumerate(steps.tolist()):
        before = steps[i - 1] if i > 0 else None
        after = steps[i + 1] if i + 1 < len(steps) else None
        around = [int(s) for s in (before, after) if s is not None and int(s) in INTERVALS]
        interval = min(around, default=max(INTERVALS))
        if step <= interval:
            continue  # on time, or early (uneven but nothing missing)
        if step in INTERVALS and not (len(around) == 2 and step > max(around)):
            continue  # the interval changed
        missing = (step + interval // 2) // interval - 1  # whole payments that fit in the step
        if missing < 1:
            continue  # late but nothing missing
        gaps.append(FundingGap(int(times[i]), int(times[i + 1]), interval, missing))
    return tuple(gaps)


def _moment(epoch: int) -> str:
    return to_time(epoch).isoformat().replace("+00:00", "Z")


def _gap_note(symbol: str, funding: FundingSeries, lo: int, hi: int) -> str:
    inside = (funding.times >= lo) & (funding.times <= hi)
    times = funding.times[inside]
    gaps = funding_gaps(times)
    if not gaps:
        steps = sorted({int(s) // 3_600 for s in np.diff(times)}) if len(times) > 1 else []
        every = "/".join(str(h) for h in steps) or "?"
        return f"funding for {symbol}: {len(times)} payments every {every} h, no gaps"
    missing = sum(g.missing for g in gaps)
    shown = "; ".join(g.describe() for g in gaps[:3])
    more = f"; and {len(gaps) - 3} more" if len(gaps) > 3 else ""
    return (
        f"funding for {symbol} has {len(gaps)} gap{'s' if len(gaps) != 1 else ''} "
        f"({missing} payments missing, counted as no funding): {shown}{more}"
    )


@dataclass(frozen=True, slots=True)
class FundingPlan:
    events: tuple[FundingEvent, ...]  # in settlement order
    bars: npt.NDArray[np.int64]  # `bar` of each event
    matrix: npt.NDArray[np.float64] | None  # bars x instruments: sum of mark x rate
    notes: tuple[str, ...]
    gaps: int = 0  # payments missing inside the price range, over all instruments


def plan_funding(
    prices: PriceTable, universe: Universe, series: Mapping[str, FundingSeries]
) -> FundingPlan:
    """Events of `series` (keyed by instrument symbol) inside the price range, on the bar grid."""
    times = prices.times
    notes: list[str] = []
    missing = 0
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
        if len(times):
            notes.append(_gap_note(instrument.symbol, funding, int(times[0]), int(times[-1])))
            window = (funding.times >= times[0]) & (funding.times <= times[-1])
            missing += sum(g.missing for g in funding_gaps(funding.times[window]))
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
    return FundingPlan(tuple(events), bars, matrix, tuple(notes), missing)


def _day(moment: np.int64) -> str:
    return to_time(moment).date().isoformat()
