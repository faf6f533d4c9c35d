"""Fitting the hedges to the cap and the exchange's rules together, leg by leg.

The water-filled allocation (allocation.py) is continuous; orders are not. A leg whose move
cannot or should not be placed (an exchange minimum, the configured minimum trade, or rounding
that would end the line farther from its allowed hedge than no trade) is *pinned*: held where
it is (or at zero, when only the reopening half of a flip is refused). Its notional then
counts as fixed, and the gross left over is allocated again across the legs still free, so a
refused reduction trims the increases instead of dropping them. Each round pins at least one
more leg (or moves a pin from zero to the position), so the loop ends. Skipped moves keep the
reason they were skipped for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rebalancer.domain.allocation import allocate
from rebalancer.domain.exposure import LineState
from rebalancer.domain.legs import Move, leg_moves, line_positions
from rebalancer.domain.market import ZERO
from rebalancer.domain.plan import SkipReason
from rebalancer.domain.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Goal:
    """What the planner asks of the fit."""

    lines: tuple[LineState, ...]
    desired: tuple[Decimal, ...]  # per line: the hedge wanted (target, or band edge)
    targets: tuple[Decimal, ...]  # per line: the full-rebalance hedge (minimax under the cap)
    budget: Decimal  # gross notional the managed legs may end with
    min_trade: Decimal
    delevering: bool  # the account is over the cap: reductions are never held back
    scarce: bool  # the wanted hedges do not fit (or the account is over the cap)


@dataclass(frozen=True, slots=True)
class Fit:
    allowed: tuple[Decimal, ...]  # per line: the hedge the cap allowed, before rounding
    placed: tuple[Move, ...]
    skipped: tuple[tuple[Move, SkipReason], ...]


@dataclass(slots=True)
class _Round:
    allowed: list[Decimal]
    moves: dict[str, list[Move]] = field(default_factory=dict)  # by line
    after: dict[str, Decimal] = field(default_factory=dict)  # every managed leg


def fit(goal: Goal, snapshot: Snapshot, *, reuse: bool = True) -> Fit:
    """`reuse=False` sizes every line afresh in every round (the reference the tests compare)."""
    pins: dict[str, Decimal] = {}
    skipped: dict[tuple[str, int], tuple[Move, SkipReason]] = {}
    allowed = list(goal.desired)
    legs = sum(len(state.line.legs) for state in goal.lines)
    sized: list[_Sized | None] = [None] * len(goal.lines)
    for _ in range(2 * legs + 1):  # each leg is pinned at most twice (at zero, then where it is)
        if not reuse:
            sized = [None] * len(goal.lines)
        current = _round(goal, snapshot, pins, allowed, sized)
        allowed = current.allowed
        found = (
            _exchange_pins(current)
            or _min_trade_pins(goal, current)
            or _farther_pins(goal, current, snapshot)
            or _over_budget_pins(goal, current, snapshot)
        )
        if not found:
            break
        for move, reason, pin in found:
            pins[move.instrument] = pin
            skipped[move.key] = (move, reason)
    else:  # pragma: no cover - the pins only grow
        raise AssertionError("fitting did not settle")
    placed = tuple(m for moves in current.moves.values() for m in moves)
    return Fit(tuple(allowed), placed, tuple(skipped[k] for k in sorted(skipped)))


@dataclass(frozen=True, slots=True)
class _Sized:
    """One line's positions and moves as sized in a round, and the inputs they came from."""

    share: Decimal
    pins: tuple[Decimal | None, ...]  # per leg
    positions: dict[str, Decimal]
    moves: list[Move]


def _same(a: Decimal | None, b: Decimal | None) -> bool:
    """Equal down to the digits and exponent, so that what a fresh sizing would give is what
    the earlier one gave, to its representation."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return a == b and a.as_tuple() == b.as_tuple()


def _round(
    goal: Goal,
    snapshot: Snapshot,
    pins: dict[str, Decimal],
    allowed: list[Decimal],
    sized: list[_Sized | None],
) -> _Round:
    """Allocate the gross the pinned legs leave over to the free legs, and size their moves.

    A line's positions and moves depend only on its share and its legs' pins (the snapshot is
    fixed for the whole fit): when both are as in the previous round (`sized`, updated here),
    that round's sizing is reused. Once most lines are pinned or out of the allocation, most
    lines are.
    """
    perps = snapshot.perps
    fixed: list[Decimal] = []
    carries: list[bool] = []  # the line has a free leg with a share of its hedge
    fixed_gross = ZERO
    for state in goal.lines:
        held = ZERO
        for leg in state.line.legs:
            if leg.instrument in pins:
                held += pins[leg.instrument] * perps[leg.instrument].mark
                fixed_gross += abs(pins[leg.instrument]) * perps[leg.instrument].mark
        fixed.append(held)
        carries.append(any(leg.share and leg.instrument not in pins for leg in state.line.legs))
    budget = max(ZERO, goal.budget - fixed_gross)
    wanted = _free_part(goal.desired, fixed, carries)
    if sum((abs(w) for w in wanted), ZERO) > budget:
        # The wanted hedges do not fit: the gross goes where it makes the largest drift
        # smallest, which in band mode means towards the targets, not the band edges.
        wanted = _free_part(goal.targets, fixed, carries)
    shares = allocate(wanted, budget)
    result = _Round(list(allowed))
    for i, state in enumerate(goal.lines):
        if carries[i]:
            result.allowed[i] = fixed[i] + shares[i]
        name = state.line.name
        share = shares[i]
        line_pins = tuple(pins.get(leg.instrument) for leg in state.line.legs)
        last = sized[i]
        if (
            last is None
            or not _same(last.share, share)
            or not all(_same(a, b) for a, b in zip(last.pins, line_pins, strict=True))
        ):
            positions = line_positions(state, share, snapshot, pins)
            moves = [m for s, t in positions.items() for m in leg_moves(name, perps[s], t)]
            sized[i] = last = _Sized(share, line_pins, positions, moves)
        positions, moves = last.positions, last.moves
        result.after.update(positions)
        if moves:
            result.moves[name] = moves
    return result


def _free_part(
    hedges: Sequence[Decimal], fixed: Sequence[Decimal], carries: Sequence[bool]
) -> list[Decimal]:
    return [h - f if c else ZERO for h, f, c in zip(hedges, fixed, carries, strict=True)]


_Pins = list[tuple[Move, SkipReason, Decimal]]


def _held(moves: Sequence[Move], instrument: str) -> Decimal:
    """The position an instrument holds before this round's moves."""
    return next(m.position_before for m in moves if m.instrument == instrument)


def _exchange_pins(current: _Round) -> _Pins:
    """A move the exchange refuses holds its leg (at zero if only a flip's reopening fails)."""
    found: _Pins = []
    for moves in current.moves.values():
        for move in moves:
            if move.refusal is None:
                continue
            close_placed = move.seq == 1 and any(
                m.instrument == move.instrument and m.seq == 0 and m.refusal is None for m in moves
            )
            pin = ZERO if close_placed else _held(moves, move.instrument)
            found.append((move, move.refusal, pin))
    return found


def _min_trade_pins(goal: Goal, current: _Round) -> _Pins:
    """The configured minimum trade is per line; de-levering reductions are exempt."""
    found: _Pins = []
    for moves in current.moves.values():
        if sum((m.notional for m in moves), ZERO) >= goal.min_trade:
            continue
        for move in moves:
            if goal.delevering and move.reduces:
                continue
            # De-levering, a flip's close still goes: its reopening half is held at zero.
            pin = ZERO if goal.delevering and move.seq == 1 else _held(moves, move.instrument)
            found.append((move, SkipReason.BELOW_MIN_TRADE, pin))
    return found


def _farther_pins(goal: Goal, current: _Round, snapshot: Snapshot) -> _Pins:
    """A line whose moves would end it farther from its allowed hedge than no trade stays.

    So does one that would end exactly as far without freeing any gross: a trade for nothing.
    While the cap binds, moves that free gross go ahead even if their own line ends a little
    farther: the gross is what the other lines need (over the cap, it is the de-levering).
    """
    found: _Pins = []
    for i, state in enumerate(goal.lines):
        moves = current.moves.get(state.line.name)
        if not moves:
            continue
        after = gross_after = gross_before = ZERO
        for leg in state.line.legs:
            perp = snapshot.perps[leg.instrument]
            after += current.after[leg.instrument] * perp.mark
            gross_after += abs(current.after[leg.instrument]) * perp.mark
            gross_before += abs(perp.notional)
        allowed = current.allowed[i]
        farther = abs(after - allowed) - abs(state.hedge - allowed)
        frees = gross_after < gross_before
        if (farther > 0 and not (goal.scarce and frees)) or (farther == 0 and not frees):
            found.extend((m, SkipReason.NOT_CLOSER, _held(moves, m.instrument)) for m in moves)
    return found


def _over_budget_pins(goal: Goal, current: _Round, snapshot: Snapshot) -> _Pins:
    """Rounding off the step grid can overshoot the budget: hold the largest increase back."""
    gross = ZERO
    for symbol, position in current.after.items():
        gross += abs(position) * snapshot.perps[symbol].mark
    if gross <= goal.budget:
        return []
    increases = [m for moves in current.moves.values() for m in moves if not m.reduces]
    if not increases:
        return []
    move = max(increases, key=lambda m: (m.notional, m.key))
    # A flip's reopening half is held at zero: its close only lowers the gross.
    pin = ZERO if move.seq == 1 else _held(current.moves[move.line], move.instrument)
    return [(move, SkipReason.OVER_CAP, pin)]
