"""Fitting the hedges to the cap and the exchange's rules together, leg by leg.

The water-filled allocation (allocation.py) is continuous; orders are not. A leg whose move
cannot or should not be placed (an exchange minimum, the configured minimum trade, or rounding
that would end the line farther from its allowed hedge than no trade) is *pinned*: held where
it is (or at zero, when only the reopening half of a flip is refused). Its notional then
counts as fixed, and the gross left over is allocated again across the legs still free, so a
refused reduction trims the increases instead of dropping them. Each round pins at least one
more leg (or moves a pin from zero to the position), so the loop ends. Skipped moves keep the
reason they were skipped for.

Cost: a plan fits a few times (planner.py's fee reserve), each in a few rounds, and each round
sizes every line. What the pins hold is kept per line as they grow, and a line's sizing is
made once per exact input (its share and pins, then its positions) and reused across the
rounds and the fits of a plan (`Sizings`); `fit(..., reuse=False)` sizes every line afresh in
every round, the reference the tests compare against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from rebalancer.domain.allocation import allocate_sized
from rebalancer.domain.exposure import LineState
from rebalancer.domain.legs import Move, leg_moves, line_positions
from rebalancer.domain.market import ONE, ZERO, round_position
from rebalancer.domain.plan import SkipReason
from rebalancer.domain.snapshot import PerpState, Snapshot


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


class Sizings:
    """What one snapshot and one set of lines fix for every round of every fit of a plan.

    Per line (made when first asked): its legs with their marks, the gross its legs hold now,
    and, for a line of one leg, how that leg is sized when free. And the sizings made so far: a
    line's positions depend only on its share and its legs' pins, and its moves only on its
    positions (the snapshot is fixed), so each is made once per input, keyed by the input's
    exact representation (digits and exponent): a reused sizing is, to its representation,
    what a fresh one would give.
    """

    __slots__ = (
        "_gross",
        "_legs",
        "_single",
        "_single_made",
        "carries",
        "ending",
        "leg_count",
        "line_of",
        "lines",
        "names",
        "sized",
        "snapshot",
    )

    def __init__(self, lines: tuple[LineState, ...], snapshot: Snapshot) -> None:
        self.lines = lines
        self.snapshot = snapshot
        self.names = [state.line.name for state in lines]
        # Whether the line has a leg with a share of its hedge.
        self.carries = [any(leg.share for leg in state.line.legs) for state in lines]
        self.line_of = {leg.instrument: i for i, s in enumerate(lines) for leg in s.line.legs}
        self.leg_count = sum(len(state.line.legs) for state in lines)
        self._legs: list[tuple[tuple[str, Decimal, Decimal], ...] | None] = [None] * len(lines)
        self._gross: list[Decimal | None] = [None] * len(lines)
        self._single: list[_Single | None] = [None] * len(lines)
        self._single_made = [False] * len(lines)
        self.sized: dict[tuple[int, str, tuple[str | None, ...] | None], _Sized] = {}
        self.ending: dict[tuple[int, tuple[tuple[str, str], ...]], _Sized] = {}

    def fits(self, goal: Goal, snapshot: Snapshot) -> bool:
        return self.lines is goal.lines and self.snapshot is snapshot

    def legs(self, i: int) -> tuple[tuple[str, Decimal, Decimal], ...]:
        """Line i's legs: (instrument, share, mark)."""
        legs = self._legs[i]
        if legs is None:
            perps = self.snapshot.perps
            legs = self._legs[i] = tuple(
                [(g.instrument, g.share, perps[g.instrument].mark) for g in self.lines[i].line.legs]
            )
        return legs

    def gross_before(self, i: int) -> Decimal:
        """The gross line i's legs hold now, summed leg by leg."""
        gross = self._gross[i]
        if gross is None:
            gross = ZERO
            perps = self.snapshot.perps
            for leg in self.lines[i].line.legs:
                gross += abs(perps[leg.instrument].notional)
            self._gross[i] = gross
        return gross

    def single(self, i: int) -> _Single | None:
        """How line i's one leg is sized when free (None: the line has another number of legs)."""
        if not self._single_made[i]:
            self._single[i] = _single(self.lines[i], self.snapshot)
            self._single_made[i] = True
        return self._single[i]


@dataclass(slots=True)
class _Single:
    """The one leg of a line, as `line_positions` sizes it when it is free: its share over the
    free legs' total share and its market's step (the rounding is `round_position`'s)."""

    instrument: str
    share: Decimal
    total: Decimal  # the free legs' shares summed, as line_positions sums them (from ZERO)
    perp: PerpState
    step: Decimal  # rules.base_step
    # share and total are both Decimal('1'): then x * share / total is x, to its representation
    # (x has at most the context's digits: exact product and quotient, exponent unchanged).
    unit: bool

    def position(self, free_hedge: Decimal) -> Decimal:
        """line_positions(...)[instrument] for a free leg: the same operations in the same order."""
        perp = self.perp
        total = self.total
        if self.unit:
            wanted = free_hedge / perp.mark
        else:
            wanted = free_hedge * self.share / total / perp.mark if total else ZERO
        return round_position(perp.position, wanted, self.step)


def _single(state: LineState, snapshot: Snapshot) -> _Single | None:
    legs = state.line.legs
    if len(legs) != 1:
        return None
    leg = legs[0]
    perp = snapshot.perps[leg.instrument]
    step = perp.rules.base_step
    # ONE + ZERO is Decimal('1'): a unit share (an own or proxy perp); any other share object
    # takes the general operations.
    unit = leg.share is ONE
    return _Single(leg.instrument, leg.share, ZERO + leg.share, perp, step, unit)


@dataclass(slots=True)
class _Sized:
    """One line's positions (pinned legs first, then the free ones) and the moves to them."""

    positions: dict[str, Decimal]
    moves: list[Move]
    traded: Decimal  # the moves' notional
    refused: bool  # some move carries an exchange refusal
    # The line's hedge and gross at its positions, summed over its legs (made when first asked).
    ends: tuple[Decimal, Decimal] | None = None
    gross: list[Decimal] | None = None  # per position: its gross notional, in `positions` order


def _sized(
    i: int,
    state: LineState,
    share: Decimal,
    snapshot: Snapshot,
    pins: dict[str, Decimal],
    *,
    sizings: Sizings | None,
) -> _Sized:
    """A line's positions for its share and pins, and the moves to them. With `sizings`, the
    moves already made for the same positions of this line are reused, and a free line of one
    leg is sized without the general `line_positions` (to the same position)."""
    name = state.line.name
    if sizings is None:
        return _sized_moves(name, line_positions(state, share, snapshot, pins), snapshot)
    single = sizings.single(i)
    if single is not None and single.instrument not in pins:
        target = single.position(share)
        only: tuple[int, tuple[tuple[str, str], ...]] = (i, ((single.instrument, str(target)),))
        found = sizings.ending.get(only)
        if found is None:
            positions = {single.instrument: target}
            found = sizings.ending[only] = _sized_moves(name, positions, snapshot)
        return found
    positions = line_positions(state, share, snapshot, pins)
    key = (i, tuple([(symbol, str(target)) for symbol, target in positions.items()]))
    found = sizings.ending.get(key)
    if found is None:
        found = sizings.ending[key] = _sized_moves(name, positions, snapshot)
    return found


def _sized_moves(name: str, positions: dict[str, Decimal], snapshot: Snapshot) -> _Sized:
    perps = snapshot.perps
    moves = [m for s, t in positions.items() for m in leg_moves(name, perps[s], t)]
    traded = ZERO
    refused = False
    for move in moves:
        traded += move.notional
        if move.refusal is not None:
            refused = True
    return _Sized(positions, moves, traded, refused)


@dataclass(slots=True)
class _Round:
    allowed: list[Decimal]
    moving: dict[str, _Sized] = field(default_factory=dict)  # by line name, the lines with moves
    lines: list[_Sized] = field(default_factory=list)  # every line, in order


def fit(
    goal: Goal, snapshot: Snapshot, *, reuse: bool = True, sizings: Sizings | None = None
) -> Fit:
    """`reuse=False` sizes every line afresh in every round (the reference the tests compare).

    `sizings`: from an earlier fit of the same lines against the same snapshot, whose sizings
    this fit may reuse (with `reuse` only).
    """
    if sizings is None or not reuse or not sizings.fits(goal, snapshot):
        sizings = Sizings(goal.lines, snapshot)
    pins: dict[str, Decimal] = {}
    skipped: dict[tuple[str, int], tuple[Move, SkipReason]] = {}
    allowed = list(goal.desired)
    held = _Held(goal, sizings)
    # Each leg is pinned at most twice (at zero, then where it is).
    for _ in range(2 * sizings.leg_count + 1):
        current = _round(goal, snapshot, pins, allowed, sizings, held=held, reuse=reuse)
        allowed = current.allowed
        found = (
            _exchange_pins(current)
            or _min_trade_pins(goal, current)
            or _farther_pins(goal, current, sizings)
            or _over_budget_pins(goal, current, sizings)
        )
        if not found:
            break
        for move, reason, pin in found:
            pins[move.instrument] = pin
            skipped[move.key] = (move, reason)
        held.pin(pins, {sizings.line_of[move.instrument] for move, _, _ in found})
    else:  # pragma: no cover - the pins only grow
        raise AssertionError("fitting did not settle")
    placed = tuple(m for sized in current.moving.values() for m in sized.moves)
    return Fit(tuple(allowed), placed, tuple(skipped[k] for k in sorted(skipped)))


def _round(
    goal: Goal,
    snapshot: Snapshot,
    pins: dict[str, Decimal],
    allowed: list[Decimal],
    sizings: Sizings,
    *,
    held: _Held,
    reuse: bool,
) -> _Round:
    """Allocate the gross the pinned legs leave over to the free legs, and size their moves.

    With `reuse`, a line whose share and pins are exactly as in an earlier round (or an earlier
    fit of the plan) takes that sizing; once most lines are pinned or out of the allocation,
    most do.
    """
    fixed, carries, pinned = held.fixed, held.carries, held.pinned
    fixed_gross = ZERO
    for i in held.lines:
        for notional in held.gross[i]:
            fixed_gross += notional
    budget = max(ZERO, goal.budget - fixed_gross)
    wanted = held.free_desired
    magnitudes = [abs(w) for w in wanted]
    if sum(magnitudes, ZERO) > budget and held.free_targets is not wanted:
        # The wanted hedges do not fit: the gross goes where it makes the largest drift
        # smallest, which in band mode means towards the targets, not the band edges.
        wanted = held.free_targets
        magnitudes = [abs(w) for w in wanted]
    shares = allocate_sized(wanted, magnitudes, budget)
    result = _Round(list(allowed))
    result_allowed = result.allowed
    moving = result.moving
    lines = result.lines
    known = sizings.sized
    names = sizings.names
    states = goal.lines
    for i, carry in enumerate(carries):
        if carry:
            result_allowed[i] = fixed[i] + shares[i]
    if reuse:
        keys = [(i, str(share), pinned[i]) for i, share in enumerate(shares)]

        def size(i: int) -> _Sized:
            made = known[keys[i]] = _sized(i, states[i], shares[i], snapshot, pins, sizings=sizings)
            return made

        lines.extend([known.get(key) or size(i) for i, key in enumerate(keys)])
        moving.update({names[i]: sized for i, sized in enumerate(lines) if sized.moves})
    else:
        for i, share in enumerate(shares):
            sized = _sized(i, states[i], share, snapshot, pins, sizings=None)
            lines.append(sized)
            if sized.moves:
                moving[names[i]] = sized
    return result


class _Held:
    """What the pinned legs hold, per line, kept as the pins grow (only their lines change).

    Per line: the hedge its pinned legs hold (`fixed`), whether it has a free leg with a share of
    the hedge (`carries`), its legs' pins (None: none pinned), the gross each pinned leg holds,
    and the part of its desired and target hedge left to its free legs (zero if it has none).
    """

    __slots__ = (
        "carries",
        "desired",
        "fixed",
        "free_desired",
        "free_targets",
        "gross",
        "lines",
        "pinned",
        "sizings",
        "targets",
    )

    def __init__(self, goal: Goal, sizings: Sizings) -> None:
        count = len(goal.lines)
        self.sizings = sizings
        self.desired = goal.desired
        self.targets = goal.targets
        self.fixed: list[Decimal] = [ZERO] * count
        self.carries = list(sizings.carries)
        self.pinned: list[tuple[str | None, ...] | None] = [None] * count
        self.gross: list[list[Decimal]] = [[] for _ in range(count)]
        self.lines: list[int] = []  # the lines with a pinned leg, in order
        self.free_desired = _free_part(goal.desired, self.fixed, self.carries)
        # Rebalancing to target, the desired hedges are the targets (one tuple): one list serves.
        same = goal.targets is goal.desired
        self.free_targets = (
            self.free_desired if same else _free_part(goal.targets, self.fixed, self.carries)
        )

    def pin(self, pins: dict[str, Decimal], lines: set[int]) -> None:
        """Take the pins' new values on `lines`."""
        sizings = self.sizings
        for i in lines:
            held = ZERO
            carry = False
            legs = sizings.legs(i)
            line_pins: list[str | None] = [None] * len(legs)
            gross: list[Decimal] = []
            for k, (instrument, share, mark) in enumerate(legs):
                pin = pins.get(instrument)
                if pin is None:
                    if share:
                        carry = True
                    continue
                held += pin * mark
                gross.append(abs(pin) * mark)
                line_pins[k] = str(pin)
            self.fixed[i] = held
            self.carries[i] = carry
            self.pinned[i] = tuple(line_pins)
            self.gross[i] = gross
            self.free_desired[i] = self.desired[i] - held if carry else ZERO
            self.free_targets[i] = self.targets[i] - held if carry else ZERO
        self.lines = sorted(set(self.lines) | lines)


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
    for sized in current.moving.values():
        if not sized.refused:
            continue
        moves = sized.moves
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
    for sized in current.moving.values():
        if sized.traded >= goal.min_trade:
            continue
        moves = sized.moves
        for move in moves:
            if goal.delevering and move.reduces:
                continue
            # De-levering, a flip's close still goes: its reopening half is held at zero.
            pin = ZERO if goal.delevering and move.seq == 1 else _held(moves, move.instrument)
            found.append((move, SkipReason.BELOW_MIN_TRADE, pin))
    return found


def _ends(sized: _Sized, legs: tuple[tuple[str, Decimal, Decimal], ...]) -> tuple[Decimal, Decimal]:
    """The line's hedge and gross at its sized positions, summed leg by leg."""
    if sized.ends is None:
        after = gross_after = ZERO
        positions = sized.positions
        for instrument, _, mark in legs:
            after += positions[instrument] * mark
            gross_after += abs(positions[instrument]) * mark
        sized.ends = (after, gross_after)
    return sized.ends


def _farther_pins(goal: Goal, current: _Round, sizings: Sizings) -> _Pins:
    """A line whose moves would end it farther from its allowed hedge than no trade stays.

    So does one that would end exactly as far without freeing any gross: a trade for nothing.
    While the cap binds, moves that free gross go ahead even if their own line ends a little
    farther: the gross is what the other lines need (over the cap, it is the de-levering).
    """
    found: _Pins = []
    for i, state in enumerate(goal.lines):
        sized = current.moving.get(state.line.name)
        if sized is None:
            continue
        moves = sized.moves
        after, gross_after = _ends(current.lines[i], sizings.legs(i))
        allowed = current.allowed[i]
        farther = abs(after - allowed) - abs(state.hedge - allowed)
        frees = gross_after < sizings.gross_before(i)
        if (farther > 0 and not (goal.scarce and frees)) or (farther == 0 and not frees):
            found.extend((m, SkipReason.NOT_CLOSER, _held(moves, m.instrument)) for m in moves)
    return found


def _over_budget_pins(goal: Goal, current: _Round, sizings: Sizings) -> _Pins:
    """Rounding off the step grid can overshoot the budget: hold the largest increase back."""
    marks = sizings.snapshot.perps
    gross = ZERO
    for sized in current.lines:  # every managed leg, in the order the round sized them
        if sized.gross is None:
            sized.gross = [abs(p) * marks[s].mark for s, p in sized.positions.items()]
        for notional in sized.gross:
            gross += notional
    if gross <= goal.budget:
        return []
    increases = [m for sized in current.moving.values() for m in sized.moves if not m.reduces]
    if not increases:
        return []
    move = max(increases, key=lambda m: (m.notional, m.key))
    # A flip's reopening half is held at zero: its close only lowers the gross.
    pin = ZERO if move.seq == 1 else _held(current.moving[move.line].moves, move.instrument)
    return [(move, SkipReason.OVER_CAP, pin)]
