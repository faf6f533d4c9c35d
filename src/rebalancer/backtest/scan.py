"""Vectorized projection of a frozen account over the coming bars (numpy float64).

Between two actions the holdings do not change, so value, drift, hedge notional, futures equity
and leverage are element-wise functions of the closes. `Scanner.observe` computes them for a
block of bars and flags the bars where a trigger *might* fire (a band breach, liquidation, the
roll policy's margin floor). The flags are widened by a tolerance so that float rounding can
only add candidates, never lose one: every candidate is then decided exactly, in `Decimal`,
by the sim account and the domain's trigger code. Floats here never move money.

Each bar's numbers depend only on that bar's closes and the state, computed in a fixed order,
so observing bars in blocks of any size gives bit-identical results (the scan-vs-loop test
relies on it).

Unified accounts (`FloatState.ratios` set): the collateral is the coins at their ratios plus
the quote balance (wallet + spot quote, negative when borrowed) plus uPnL, so it moves with
every price; the cap, maintenance and margin floor are checked on it, and the wallet path
accrues interest on the borrowed quote bar by bar in the engine's order (interest over the bar,
then the bar's funding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rebalancer.backtest.universe import Universe
from rebalancer.backtest.view import FloatState

Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

DRIFT_TOLERANCE = 1e-9  # weight points; float error on drift is ~1e-15
MONEY_TOLERANCE = 1e-9  # relative to the amounts compared


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


@dataclass(frozen=True, slots=True)
class Checks:
    band: bool  # flag band breaches
    limits: Floats  # per line: band half-width (inf: none)
    floor: float | None  # flag futures equity < floor x gross
    cap: float | None  # L x (1 - buffer): compute the cap-bound flag


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
        hedge = np.zeros(n)
        gross = np.zeros(n)
        maintenance = np.zeros(n)
        for column, size, rate in self._perps:
            notional = closes[:, column] * abs(size)
            hedge = hedge + closes[:, column] * size
            gross = gross + notional
            maintenance = maintenance + notional * rate
        futures = wallet_path + hedge - self.state.cost
        spot = np.zeros(n)
        for column, quantity in self._spot:
            spot = spot + closes[:, column] * quantity
        value = spot + self.state.cash + futures
        borrowed = None
        if ratios is not None:
            # Unified: K = coins at their ratios + the quote balance + uPnL.
            coins = np.zeros(n)
            for (column, quantity), ratio in zip(self._spot, ratios, strict=True):
                coins = coins + closes[:, column] * (quantity * float(ratio))
            futures = coins + self.state.cash + futures
            borrowed = np.maximum(0.0, -(wallet_path + self.state.cash + hedge - self.state.cost))
        lines = len(self.u.lines)
        spot_lines = _apply(self._members, closes, lines)
        exposure = (
            spot_lines if self._legs is None else spot_lines + _apply(self._legs, closes, lines)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            drift = np.abs(exposure / value[:, None] - self.u.weights)
        largest = drift.max(axis=1) if drift.shape[1] else np.zeros(n)
        flags = None
        if self.checks.band:
            flags = (drift - self.checks.limits).max(axis=1) > -DRIFT_TOLERANCE
            if checks is not None:
                flags &= checks
        if self._perps:
            slack = MONEY_TOLERANCE * (1 + np.abs(futures) + gross)
            risk = futures - maintenance <= slack
            if self.checks.floor is not None:
                risk |= futures < self.checks.floor * gross + slack
            flags = risk if flags is None else flags | risk
        if flags is not None:
            flags |= ~(value > 0)
        cap_bound = None
        if self.checks.cap is not None:
            wanted = np.abs(value[:, None] * self.u.weights - spot_lines)
            wanted = np.where(self._hedgeable, wanted, 0.0).sum(axis=1)
            cap_bound = wanted > self.checks.cap * futures
        return Observation(value, largest, gross, futures, wallet_path, cap_bound, flags, borrowed)

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
    out = closes[:, terms.columns] * terms.coefficients
    for line, column, coefficient in terms.extra:
        out[:, line] += closes[:, column] * coefficient
    return out
