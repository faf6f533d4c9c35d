"""Vectorized projection of a frozen account over the coming bars (numpy float64).

Between two actions the holdings do not change, so value, drift, hedge notional, futures equity
and leverage are element-wise functions of the closes. `Scanner.observe` computes them for a
block of bars and flags the bars where a trigger *might* fire (a band breach, liquidation, the
roll policy's margin floor). The flags are widened by a tolerance so that float rounding can
only add candidates, never lose one: every candidate is then decided exactly, in `Decimal`,
by the sim account and the domain's trigger code. Floats here never move money.

Each bar's numbers depend only on that bar's closes and the state, computed in a fixed order
(sums over a bar's terms are row sums, which never see another bar), so observing bars in
blocks of any size gives bit-identical results (the scan-vs-loop test relies on it).

With a cap slack (planner.py, "cap slack"), `held` marks the candidates where the plan surely
holds every hedge: a band breach, the wanted hedges over the cap and the gross within the slack
under it and not over max_leverage x K, each by more than the tolerances, and no liquidation
risk. The engine counts those bars as cap-bound without making the plan; the reference loop
makes it, and the tests compare.

Unified accounts (`FloatState.ratios` set): the collateral is the coins at their ratios plus
the quote balance (wallet + spot quote, negative when borrowed) plus uPnL, so it moves with
every price; the cap, maintenance and margin floor are checked on it, and the wallet path
accrues interest on the borrowed quote bar by bar in the engine's order (interest over the bar,
then the bar's funding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rebalancer.backtest.universe import Universe
from rebalancer.backtest.view import FloatState

Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

DRIFT_TOLERANCE = 1e-9  # weight points; float error on drift is ~1e-15
MONEY_TOLERANCE = 1e-9  # relative to the amounts compared
MONEY_GRAIN = 1e-8  # the planner cuts each wanted hedge towards zero by less than this


@dataclass(frozen=True, slots=True)
class Observation:
    value: Floats
    largest_drift: Floats
    gross: Floats
    futures: Floats  # the collateral: futures equity (margin balance); unified: collateral value
    wallet: Floats
    cap_bound: Flags | None  # a full rebalance would not fit under the cap
    candidates: Flags | None  # bars the exact check must look at
    borrowed: Floats | None = None  # unified: quote borrowed
    held: Flags | None = None  # candidates where the plan surely holds every hedge (cap slack)


class Hold(NamedTuple):
    """The strategy's terms of the cap slack's hold, as floats."""

    slack: float
    min_trade: float
    max_leverage: float


@dataclass(frozen=True, slots=True)
class Checks:
    band: bool  # flag band breaches
    limits: Floats  # per line: band half-width (inf: none)
    floor: float | None  # flag futures equity < floor x gross
    cap: float | None  # L x (1 - buffer): compute the cap-bound flag
    # When a plan within the cap slack would hold every hedge and the engine may skip it
    # (planner.py: "cap slack"; band trigger, rebalancing to target, no borrowing limit).
    hold: Hold | None = None
    # The band half-width shared by every line, when they share one (then the largest excess
    # over the limits is the largest drift less it: x - l is monotonic in x).
    one_limit: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        limits = self.limits
        same = len(limits) > 0 and bool(np.all(limits == limits[0]))
        object.__setattr__(self, "one_limit", float(limits[0]) if same else None)


class Scanner:
    """Projection of one frozen state; build a new one after every action."""

    def __init__(self, universe: Universe, state: FloatState, checks: Checks) -> None:
        self.u = universe
        self.state = state
        self.checks = checks
        self._perps = [
            (i.column, float(h), float(m))
            for i, h, m in zip(
                universe.instruments, state.positions, state.maintenance, strict=True
            )
            if h
        ]
        self._spot = [
            (a.column, float(q)) for a, q in zip(universe.assets, state.spot, strict=True)
        ]
        self._members = _terms(
            len(universe.lines),
            [(n, col, beta * float(state.spot[k])) for n, col, beta, k in universe.member_terms],
        )
        self._legs = _terms(
            len(universe.lines),
            [(n, col, float(state.positions[k])) for n, col, k in universe.leg_terms],
        )
        self._hedgeable = np.array([line.hedgeable for line in universe.lines], dtype=bool)
        self._all_hedgeable = bool(self._hedgeable.all())
        # The same terms as arrays: each bar's sums are row sums of a (bars x terms) matrix,
        # which come out the same whatever the block (one row's sum never sees another row).
        self._perp_columns = np.array([c for c, _, _ in self._perps], dtype=np.intp)
        self._perp_sizes = np.array([h for _, h, _ in self._perps])
        self._perp_rates = np.array([abs(h) * m for _, h, m in self._perps])
        self._spot_columns = np.array([c for c, _ in self._spot], dtype=np.intp)
        self._spot_quantities = np.array([q for _, q in self._spot])
        # When every line is one asset held as is (one perp held as is), in column order, its
        # spot (hedge) exposure is the very products the spot value (hedge) summed.
        self._members_are_spot = _same_terms(
            self._members, self._spot_columns, self._spot_quantities
        )
        self._legs_are_perps = _same_terms(self._legs, self._perp_columns, self._perp_sizes)
        rates = {m for _, _, m in self._perps}
        self._one_rate = rates.pop() if len(rates) == 1 else None

    def observe(
        self,
        closes: Floats,
        funding: Floats | None,
        wallet: float,
        checks: Flags | None = None,
        accrual: Floats | None = None,
    ) -> Observation:
        """`checks`: the bars that are drift checks (None: all); others never flag a breach.
        `accrual`: per bar, the share of a year it accrues interest for (unified; 0: none)."""
        n = closes.shape[0]
        wallet_path = self._wallet(funding, wallet, n)
        ratios = self.state.ratios
        if ratios is not None and accrual is not None and self.state.borrow_rate:
            wallet_path = self._with_interest(funding, wallet, accrual, closes)
        held_perps = None
        if self._perps:
            marks = _take(closes, self._perp_columns)
            held_perps = marks * self._perp_sizes
            hedge = held_perps.sum(axis=1)
            gross = np.abs(held_perps).sum(axis=1)  # |m h| is m |h|, to the bit
            if self._one_rate is not None:  # one maintenance rate: the gross times it
                maintenance = gross * self._one_rate
            else:
                maintenance = (marks * self._perp_rates).sum(axis=1)
        else:
            hedge = gross = maintenance = np.zeros(n)
        futures = wallet_path + hedge - self.state.cost
        held_spot = _take(closes, self._spot_columns) * self._spot_quantities
        spot = held_spot.sum(axis=1)
        value = spot + self.state.cash + futures
        borrowed = None
        if ratios is not None:
            # Unified: K = coins at their ratios + the quote balance + uPnL.
            coins = np.zeros(n)
            for (column, quantity), ratio in zip(self._spot, ratios, strict=True):
                coins = coins + closes[:, column] * (quantity * float(ratio))
            futures = coins + self.state.cash + futures
            borrowed = np.maximum(0.0, -(wallet_path + self.state.cash + hedge - self.state.cost))
        largest, excess, wanted = self._drift(closes, held_spot, held_perps, value)
        flags = None
        if self.checks.band:
            flags = excess > -DRIFT_TOLERANCE
            if checks is not None:
                flags &= checks
        risk = self._risk(futures, gross, maintenance)
        if self._perps:
            flags = risk if flags is None else flags | risk
        if flags is not None:
            flags |= ~(value > 0)
        surely = excess > DRIFT_TOLERANCE  # a band breach the exact check will find too
        if checks is not None:
            surely &= checks
        cap_bound, held = self._cap_flags(value, wanted, gross, futures, surely & ~risk)
        return Observation(
            value, largest, gross, futures, wallet_path, cap_bound, flags, borrowed, held
        )

    def _drift(
        self, closes: Floats, held_spot: Floats, held_perps: Floats | None, value: Floats
    ) -> tuple[Floats, Floats, Floats | None]:
        """Per bar: the largest drift, its largest excess over the band limits, and (with a
        cap) the gross of the hedges a full rebalance wants.

        Per line, spot exposure minus target exposure (V x w) is the hedge a full rebalance
        wants, negated; the drift is that plus the hedge, over V. It is one (bars x lines)
        array updated in place: fresh arrays of this size cost page faults, not arithmetic.
        `held_spot` and `held_perps` are the products the spot value and the hedge summed;
        the lines reuse them when they are the lines' own terms (`held_spot` is overwritten).
        """
        n, lines = closes.shape[0], len(self.u.lines)
        gap = held_spot if self._members_are_spot else _apply(self._members, closes, lines)
        np.subtract(gap, value[:, None] * self.u.weights, out=gap)
        wanted = self._wanted(gap) if self.checks.cap is not None else None
        if self._legs is not None:
            hedges = held_perps if self._legs_are_perps else None
            np.add(gap, _apply(self._legs, closes, lines) if hedges is None else hedges, out=gap)
        drift = np.abs(gap, out=gap)
        if n and value.min() > 0:  # the usual case, without errstate's cost per call
            np.divide(drift, value[:, None], out=drift)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(drift, value[:, None], out=drift)
        if not lines:
            return np.zeros(n), np.full(n, -np.inf), wanted
        largest = drift.max(axis=1)
        if self.checks.one_limit is not None:
            return largest, largest - self.checks.one_limit, wanted
        return largest, (drift - self.checks.limits).max(axis=1), wanted

    def _wanted(self, gap: Floats) -> Floats:
        """The gross of the hedges a full rebalance wants: |target - spot| over hedgeable lines."""
        wanted = np.abs(gap)
        if not self._all_hedgeable:
            wanted[:, ~self._hedgeable] = 0.0
        total: Floats = wanted.sum(axis=1)
        return total

    def _cap_flags(
        self,
        value: Floats,
        wanted: Floats | None,
        gross: Floats,
        collateral: Floats,
        due: Flags,
    ) -> tuple[Flags | None, Flags | None]:
        """The cap-bound flags, and the bars `due` for a plan where it surely holds every hedge
        within the cap slack: the wanted hedges do not fit under the cap even before fees, and
        the gross is within the slack under it (or less than a minimum trade under it) and not
        over it (with a buffer: within the slack over it, never over max_leverage x K), each by
        more than float error and the planner's money grain per line."""
        if self.checks.cap is None or wanted is None:
            return None, None
        cap = self.checks.cap * collateral
        cap_bound = wanted > cap
        if self.checks.hold is None:
            return cap_bound, None
        slack, min_trade, leverage = self.checks.hold
        margin = MONEY_TOLERANCE * (1 + np.abs(value) + np.abs(cap) + gross + wanted)
        margin = margin + MONEY_GRAIN * len(self.u.lines)
        with np.errstate(invalid="ignore"):
            held = (
                due
                & (value > margin)
                & (cap > margin)
                & (wanted > cap + margin)
                & (gross >= np.minimum(cap * (1 - slack), cap - min_trade) + margin)
                & (gross <= np.minimum(cap * (1 + slack), leverage * collateral) - margin)
            )
        return cap_bound, held

    def _risk(self, futures: Floats, gross: Floats, maintenance: Floats) -> Flags:
        """Bars where liquidation, or the roll policy's margin floor, may be reached."""
        if not self._perps:
            return np.zeros(len(futures), dtype=bool)
        slack = MONEY_TOLERANCE * (1 + np.abs(futures) + gross)
        risk = futures - maintenance <= slack
        if self.checks.floor is not None:
            risk |= futures < self.checks.floor * gross + slack
        return risk

    def _flows(self, funding: Floats | None, n: int) -> Floats:
        flow = np.zeros(n)
        if funding is not None:
            for k, size in enumerate(self.state.positions):
                if size:
                    flow = flow - funding[:, k] * float(size)
        return flow

    def _with_interest(
        self, funding: Floats | None, wallet: float, accrual: Floats, closes: Floats
    ) -> Floats:
        """Like the exact accrual: at each accrual bar, interest on the debt at its close (quote
        balance + uPnL below 0) for its share of a year, then that bar's funding; between them,
        the funding alone. Sequential additions (cumsum) from the carried wallet, so any block
        split gives bit-identical paths."""
        n = len(accrual)
        flow = self._flows(funding, n)
        pnl = np.full(n, -self.state.cost)
        for column, size, _ in self._perps:
            pnl = pnl + closes[:, column] * size
        rate = self.state.borrow_rate
        cash = self.state.cash
        out = np.empty(n)
        w = wallet
        start = 0
        for i in np.flatnonzero(accrual).tolist():
            if i > start:
                out[start:i] = np.cumsum(np.concatenate(([w], flow[start:i])))[1:]
                w = float(out[i - 1])
            debt = -(w + cash + float(pnl[i]))
            if debt > 0:
                w -= debt * rate * float(accrual[i])
            w += float(flow[i])
            out[i] = w
            start = i + 1
        if start < n:
            out[start:] = np.cumsum(np.concatenate(([w], flow[start:])))[1:]
        return out

    def _wallet(self, funding: Floats | None, wallet: float, n: int) -> Floats:
        if funding is None or not self._perps:
            return np.full(n, wallet)
        # cumsum is sequential, so starting from the carried wallet keeps blocks bit-identical.
        return np.cumsum(np.concatenate(([wallet], self._flows(funding, n))))[1:]


@dataclass(frozen=True, slots=True)
class _Terms:
    columns: npt.NDArray[np.intp]  # first term of every line
    coefficients: Floats
    extra: tuple[tuple[int, int, float], ...]  # further (line, column, coefficient) terms


def _terms(lines: int, terms: list[tuple[int, int, float]]) -> _Terms | None:
    merged: dict[tuple[int, int], float] = {}
    for line, column, coefficient in terms:
        merged[(line, column)] = merged.get((line, column), 0.0) + coefficient
    if not any(merged.values()):
        return None
    columns = np.zeros(lines, dtype=np.intp)
    coefficients = np.zeros(lines)
    seen: set[int] = set()
    extra = []
    for (line, column), coefficient in merged.items():
        if line in seen:
            extra.append((line, column, coefficient))
            continue
        seen.add(line)
        columns[line] = column
        coefficients[line] = coefficient
    return _Terms(columns, coefficients, tuple(extra))


def _apply(terms: _Terms | None, closes: Floats, lines: int) -> Floats:
    if terms is None:
        return np.zeros((closes.shape[0], lines))
    out = _take(closes, terms.columns) * terms.coefficients
    for line, column, coefficient in terms.extra:
        out[:, line] += closes[:, column] * coefficient
    return out


def _same_terms(terms: _Terms | None, columns: npt.NDArray[np.intp], coefficients: Floats) -> bool:
    """Whether `terms` are one term per line with exactly these columns and coefficients."""
    return (
        terms is not None
        and not terms.extra
        and np.array_equal(terms.columns, columns)
        and np.array_equal(terms.coefficients, coefficients)
    )


def _take(closes: Floats, columns: npt.NDArray[np.intp]) -> Floats:
    """`closes[:, columns]`, without the copy when that is every column in order."""
    if len(columns) == closes.shape[1] and _in_order(columns):
        return closes
    return closes[:, columns]


def _in_order(columns: npt.NDArray[np.intp]) -> bool:
    return bool(np.array_equal(columns, np.arange(len(columns))))
