"""The planner: snapshot + strategy -> plan (DESIGN §2). A pure function.

Steps: value every hedge line; decide the wanted hedge (to target, or to the band edge);
fit the hedges under the leverage cap and the exchange's rules together (fitting.py: a leg
whose move is refused stays, and the gross left over goes to the others); never leave the
largest drift of the hedgeable lines larger; order reductions before increases. The fees the
plan's trades pay are reserved out of the cap so that the account stays within it after
paying them.

Borrowing (unified accounts, `Strategy.max_borrow`). A short hedge's losses, and the plan's
fees, are paid in the quote; when the quote runs out the account borrows. What a plan changes
is how exposed the account is to that: its gross hedge. So "borrowing" here is the quote the
account would borrow if every hedge moved against it by `borrow_stress` (each position on its
own, the worst case) after the plan's fees: B(G) = max(0, stress x G + fees - quote). A plan
keeps B within `max_borrow x V`, or, when the account is already past it, no higher than it
was: the limit is a second cap on the gross the legs may end with, so the fit shrinks the
increases (reductions go first, as under the leverage cap); it never forces de-levering.

Cap slack (`Strategy.cap_slack`, opt-in, 0 by default). While the wanted hedges do not fit
under the leverage cap, every price move shifts the gross a little over or under it, and a plan
at slack 0 trades it back (a small de-levering, or a small increase) at every cycle. With a
slack `f`, a plan whose wanted hedges do not fit even before fees, made while the gross is
within `f` under the cap (cap x (1 - f) <= gross, or the room left is less than one
`min_trade_notional`) and not over it, holds every hedge: no fit, no orders, the cap state
still reported. With a `collateral_buffer` the hold also reaches `f` over the buffered cap, but
never past max_leverage x K: no hold leaves the gross over the 1x cap, so the slack needs no
buffer. Over that, the plan de-levers to the cap as at slack 0; below the zone, or when the
hedges fit, or when the borrowing limit is the tighter one, it plans as at slack 0 and fills
the cap exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from operator import attrgetter

from rebalancer.domain.exposure import LineState, Valuation, valuation
from rebalancer.domain.fitting import Fit, Goal, Sizings, fit
from rebalancer.domain.legs import Move
from rebalancer.domain.market import ZERO
from rebalancer.domain.plan import (
    Borrowing,
    CapState,
    CashLine,
    LineStatus,
    OrderIntent,
    Plan,
    PlanLine,
    Side,
    SkippedLeg,
    SkipReason,
)
from rebalancer.domain.snapshot import AccountKind, Snapshot
from rebalancer.domain.strategy import RebalanceTo, Strategy

MONEY_GRAIN = Decimal("1e-8")  # finest quote amount the planner distinguishes
# The fee reserve is found by a few rounds of "reserve what this plan's trades pay"; each round
# reserves this much more than the last plan paid, so that the rounds settle quickly.
_FEE_ROUNDS = 6
_FEE_SLACK = Decimal("1.01")
_ASSET = attrgetter("asset")
_INSTRUMENT = attrgetter("instrument")


class PlanningError(ValueError):
    """The inputs do not allow a plan (for example, no positive equity)."""


@dataclass(frozen=True, slots=True)
class _Caps:
    """The gross notional a plan may end with, given the fees it pays (in the quote).

    The leverage cap loses `max_leverage` per unit of fees (they come out of the collateral);
    the borrowing limit loses 1 / stress per unit (they come out of the quote).
    """

    leverage: Decimal  # L x K x (1 - buffer)
    max_leverage: Decimal
    hard: Decimal  # L x K: no hold leaves the gross above it
    borrow: Decimal | None = None  # (limit + quote) / stress, at least the gross now
    stress: Decimal = Decimal(1)

    def budget(self, fees: Decimal) -> Decimal:
        cap = self.leverage - self.max_leverage * fees
        return cap if self.borrow is None else min(cap, self.borrow - fees / self.stress)

    def borrow_binds(self, fees: Decimal) -> bool:
        return self.borrow is not None and self.borrow - fees / self.stress < (
            self.leverage - self.max_leverage * fees
        )


@dataclass(frozen=True, slots=True)
class _Fitted:
    fit: Fit
    cap_state: CapState
    fees: Decimal  # quote reserved for fees: at least what the fitted trades pay


def plan(snapshot: Snapshot, strategy: Strategy) -> Plan:
    """Plan the perp orders that bring every hedge line back on target within the cap."""
    try:
        value = valuation(strategy, snapshot)
    except ValueError as exc:
        raise PlanningError(str(exc)) from exc
    equity = value.equity
    targets = tuple([_target_hedge(state) for state in value.lines])
    if strategy.rebalance_to is RebalanceTo.TARGET:
        desired = targets  # _desired_hedge is _target_hedge then, to the digit
    else:
        desired = tuple([_desired_hedge(state, strategy, equity) for state in value.lines])
    wanted_gross = sum((abs(d) for d in desired), ZERO)
    # The cap is on collateral K: futures equity when segregated, the exchange's collateral
    # value when unified (DESIGN §2, account kinds).
    cap = max(ZERO, strategy.max_leverage * snapshot.collateral * (1 - strategy.collateral_buffer))
    gross = snapshot.gross_notional
    hard = max(ZERO, strategy.max_leverage * snapshot.collateral)
    caps = _Caps(cap, strategy.max_leverage, hard, *_borrow_cap(snapshot, strategy, gross))
    held = _held_within_slack(gross, strategy, value, wanted_gross, caps)
    fitted = held or _fit_within_fees(
        snapshot,
        strategy,
        value=value,
        desired=desired,
        targets=targets,
        caps=caps,
        gross=gross,
        wanted_gross=wanted_gross,
    )
    placed = fitted.fit.placed
    skipped = fitted.fit.skipped
    after = _positions_after(snapshot, placed)
    placed_by_line: dict[str, list[Move]] = {}
    for move in placed:
        placed_by_line.setdefault(move.line, []).append(move)
    skipped_by_line: dict[str, list[SkipReason]] = {}
    for move, reason in skipped:
        skipped_by_line.setdefault(move.line, []).append(reason)
    notes = tuple(
        f"position on {s} is not managed by any target line and counts against the cap"
        for s in value.unmanaged
    )
    if held is not None:
        notes += (
            f"hedges held: the gross {gross:.2f} is within hedging.cap_slack "
            f"({strategy.cap_slack}) of the leverage cap {caps.leverage:.2f}",
        )
    full_fees = _full_rebalance_fees(value, desired, snapshot)
    borrow_binds = fitted.cap_state is CapState.BINDING and caps.borrow_binds(fitted.fees)
    limit = "borrowing limit (hedging.max_borrow)" if borrow_binds else "leverage cap"
    required = (wanted_gross + value.unmanaged_gross) / strategy.max_leverage + full_fees
    gross_after = _gross(after, snapshot)
    return Plan(
        as_of=snapshot.taken_at,
        quote=snapshot.quote,
        equity=equity,
        futures_equity=snapshot.futures_equity,
        collateral=snapshot.collateral,
        max_leverage=strategy.max_leverage,
        leverage_budget=caps.budget(fitted.fees),
        gross_before=gross,
        gross_after=gross_after,
        required_collateral=required,
        collateral_shortfall=max(ZERO, required - snapshot.collateral),
        cap=fitted.cap_state,
        lines=tuple(
            _plan_line(
                state,
                desired=wanted,
                allowed=allot,
                after=after,
                snapshot=snapshot,
                equity=equity,
                placed=placed_by_line.get(state.line.name, []),
                skipped=skipped_by_line.get(state.line.name, []),
                limit=limit,
            )
            for state, wanted, allot in zip(value.lines, desired, fitted.fit.allowed, strict=True)
        ),
        cash=_cash_line(snapshot, strategy, after, equity),
        orders=_orders(placed),
        skipped=tuple(
            SkippedLeg(m.line, m.instrument, m.quantity, m.notional, reason)
            for m, reason in skipped
        ),
        notes=notes,
        borrowing=_borrowing(
            snapshot, strategy, caps, fitted, gross=gross, gross_after=gross_after
        ),
    )


def _held_within_slack(
    gross: Decimal, strategy: Strategy, value: Valuation, wanted_gross: Decimal, caps: _Caps
) -> _Fitted | None:
    """Every hedge held, when the cap slack applies (module doc: "cap slack"); else None."""
    slack = strategy.cap_slack
    if not slack or caps.leverage <= 0 or caps.borrow_binds(ZERO):
        return None
    if wanted_gross <= max(ZERO, caps.budget(ZERO) - value.unmanaged_gross):
        return None  # the hedges may fit: plan as usual
    low = min(caps.leverage * (1 - slack), caps.leverage - strategy.min_trade_notional)
    if not low <= gross <= min(caps.leverage * (1 + slack), caps.hard):
        return None
    state = CapState.OVER if gross > caps.leverage else CapState.BINDING
    allowed = tuple(line.hedge for line in value.lines)
    return _Fitted(Fit(allowed, (), ()), state, ZERO)


def _quote(snapshot: Snapshot) -> Decimal:
    """A unified account's quote balance with its unsettled PnL (negative: borrowed)."""
    return snapshot.cash + snapshot.futures_equity


def _borrow_cap(
    snapshot: Snapshot, strategy: Strategy, gross: Decimal
) -> tuple[Decimal | None, Decimal]:
    """The gross at which B(G) reaches the limit, never below the gross now (no de-levering)."""
    stress = strategy.borrow_stress
    if strategy.max_borrow is None or snapshot.kind is not AccountKind.UNIFIED:
        return None, stress
    limit = strategy.max_borrow * snapshot.equity
    room = (limit + _quote(snapshot)) / stress
    return max(room, gross), stress


def stressed_borrowing(
    snapshot: Snapshot, stress: Decimal, gross: Decimal, fees: Decimal
) -> Decimal:
    """B(G): the quote borrowed if every hedge lost `stress` of its notional and fees were paid."""
    return max(ZERO, stress * gross + fees - _quote(snapshot))


def _borrowing(
    snapshot: Snapshot,
    strategy: Strategy,
    caps: _Caps,
    fitted: _Fitted,
    *,
    gross: Decimal,
    gross_after: Decimal,
) -> Borrowing | None:
    if snapshot.kind is not AccountKind.UNIFIED:
        return None
    stress = strategy.borrow_stress
    limit = None if strategy.max_borrow is None else strategy.max_borrow * snapshot.equity
    return Borrowing(
        borrowed=snapshot.borrowed,
        stress=stress,
        stressed_before=stressed_borrowing(snapshot, stress, gross, ZERO),
        stressed_after=stressed_borrowing(snapshot, stress, gross_after, _fees(fitted.fit.placed)),
        limit=limit,
        binding=fitted.cap_state is CapState.BINDING and caps.borrow_binds(fitted.fees),
    )


def _fit_within_fees(
    snapshot: Snapshot,
    strategy: Strategy,
    *,
    value: Valuation,
    desired: tuple[Decimal, ...],
    targets: tuple[Decimal, ...],
    caps: _Caps,
    gross: Decimal,
    wanted_gross: Decimal,
) -> _Fitted:
    """Fit with a fee reserve at least what the fitted trades pay (at the taker fee, per leg).

    The reserve is the fees of the plan itself, not a bound on any plan, so it costs the
    hedges almost nothing; if the rounds do not settle, a reserve that covers every possible
    plan is used. The fits differ in their budget only: they share the lines' sizings.
    """
    sizings = Sizings(value.lines, snapshot)
    largest: list[Decimal] = []  # the largest drift now, once a fit needs it

    def fit_with(fees: Decimal) -> _Fitted:
        available = max(ZERO, caps.budget(fees) - value.unmanaged_gross)
        if gross > caps.leverage:
            cap_state = CapState.OVER
        elif wanted_gross > available:
            cap_state = CapState.BINDING
        else:
            cap_state = CapState.WITHIN
        goal = Goal(
            lines=value.lines,
            desired=desired,
            targets=targets,
            budget=available,
            min_trade=strategy.min_trade_notional,
            delevering=cap_state is CapState.OVER,
            scarce=cap_state is not CapState.WITHIN,
        )
        fitted = fit(goal, snapshot, sizings=sizings)
        if cap_state is CapState.BINDING and fitted.placed:
            if not largest:
                largest.append(_largest_drift(value))
            if _worsens(value, fitted.placed, snapshot, largest[0]):
                # The guarantee of DESIGN §2: a cycle never leaves the largest drift larger.
                # Skips already decided keep their own reason.
                held = tuple((m, SkipReason.NO_IMPROVEMENT) for m in fitted.placed)
                skipped = tuple(sorted(fitted.skipped + held, key=lambda s: s[0].key))
                fitted = Fit(fitted.allowed, (), skipped)
        return _Fitted(fitted, cap_state, fees)

    reserve = ZERO
    for _ in range(_FEE_ROUNDS):
        fitted = fit_with(reserve)
        fees = _fees(fitted.fit.placed)
        if fees <= reserve:
            return fitted
        reserve = fees * _FEE_SLACK
    highest = max((p.rules.taker_fee for p in snapshot.perps.values()), default=ZERO)
    # Every leg trades at most |before| + |after|, and the legs end within max(cap, gross).
    return fit_with(highest * (gross + max(caps.leverage, gross)))


def _largest_drift(value: Valuation) -> Decimal:
    """The largest |drift| of the hedgeable lines now."""
    equity = value.equity
    return max((abs(s.drift(equity)) for s in value.lines if s.line.hedgeable), default=ZERO)


def _worsens(value: Valuation, placed: Sequence[Move], snapshot: Snapshot, now: Decimal) -> bool:
    """Whether the moves leave the largest drift of the hedgeable lines larger than `now`.

    A line no move touches ends at the drift it has (computed the same way, to the digit), which
    is at most `now`: only the lines that move can make the largest drift larger.
    """
    equity = value.equity
    after = _positions_after(snapshot, placed)
    moved = {m.instrument for m in placed}
    for state in value.lines:
        legs = state.line.legs
        touched = legs and any(leg.instrument in moved for leg in legs)
        if touched and abs(_drift_after(state, after, snapshot, equity)) > now:
            return True
    return False


def _fees(moves: Iterable[Move]) -> Decimal:
    return sum((m.notional * m.taker_fee for m in moves), ZERO)


def _full_rebalance_fees(
    value: Valuation, desired: Iterable[Decimal], snapshot: Snapshot
) -> Decimal:
    """Taker fees of trading every leg to its share of the wanted hedge (before rounding)."""
    fees = ZERO
    perps = snapshot.perps
    for state, wanted in zip(value.lines, desired, strict=True):
        legs = state.line.legs
        total = ZERO
        for leg in legs:
            total += leg.share
        for leg in legs:
            perp = perps[leg.instrument]
            share = leg.share / total if total else ZERO
            fees += perp.rules.taker_fee * abs(wanted * share - perp.notional)
    return fees


def _desired_hedge(state: LineState, strategy: Strategy, equity: Decimal) -> Decimal:
    """The hedge notional wanted before the cap, cut towards zero to `MONEY_GRAIN`.

    The cut keeps weights such as 1/3 (inexact in decimal) from reading as a hair over the cap.
    """
    if not state.line.hedgeable:
        return ZERO
    if strategy.rebalance_to is RebalanceTo.TARGET:
        wanted = state.target_hedge
    else:
        width = strategy.band.half_width(state.line.weight)
        drift = state.drift(equity)
        if width is None or abs(drift) <= width:
            return state.hedge
        edge = width if drift > 0 else -width
        wanted = state.target_exposure + edge * equity - state.spot_value
    return wanted.quantize(MONEY_GRAIN, ROUND_DOWN)


def _target_hedge(state: LineState) -> Decimal:
    if not state.line.hedgeable:
        return ZERO
    return state.target_hedge.quantize(MONEY_GRAIN, ROUND_DOWN)


def _positions_after(snapshot: Snapshot, moves: Iterable[Move]) -> dict[str, Decimal]:
    after = {symbol: perp.position for symbol, perp in snapshot.perps.items()}
    for move in moves:
        after[move.instrument] += move.quantity
    return after


def _gross(after: dict[str, Decimal], snapshot: Snapshot) -> Decimal:
    gross = ZERO
    perps = snapshot.perps
    for symbol, quantity in after.items():
        if quantity:
            gross += abs(quantity) * perps[symbol].mark
    return gross


def _line_hedge(state: LineState, after: dict[str, Decimal], snapshot: Snapshot) -> Decimal:
    hedge = ZERO
    for leg in state.line.legs:
        hedge += after[leg.instrument] * snapshot.perps[leg.instrument].mark
    return hedge


def _drift_after(
    state: LineState, after: dict[str, Decimal], snapshot: Snapshot, equity: Decimal
) -> Decimal:
    hedge = _line_hedge(state, after, snapshot)
    return (state.spot_value + hedge - state.target_exposure) / equity


def _plan_line(
    state: LineState,
    *,
    desired: Decimal,
    allowed: Decimal,
    after: dict[str, Decimal],
    snapshot: Snapshot,
    equity: Decimal,
    placed: list[Move],
    skipped: list[SkipReason],
    limit: str,
) -> PlanLine:
    line = state.line
    legs = line.legs
    drift_before = state.drift(equity)
    if placed:
        hedge_after = _line_hedge(state, after, snapshot)
        drift_after = (state.spot_value + hedge_after - state.target_exposure) / equity
    else:
        # Its legs end where they are: the same sums as the hedge and drift now, to the digit.
        hedge_after, drift_after = state.hedge, drift_before
    reasons: list[str] = [line.note] if line.note else []
    target_hedge = state.target_hedge if legs else ZERO
    capped = allowed != desired
    if not legs:
        status = LineStatus.UNHEDGEABLE
    elif placed:
        status = LineStatus.CAPPED if capped else LineStatus.REBALANCED
    elif skipped:
        status = LineStatus.SKIPPED
    elif desired == state.hedge and desired != target_hedge:
        status = LineStatus.IN_BAND
    else:
        status = LineStatus.CAPPED if capped else LineStatus.ON_TARGET
    if capped:
        reasons.append(f"{limit}: hedge limited to {allowed:.2f} of wanted {desired:.2f}")
    if skipped:
        reasons.extend(sorted({reason.value for reason in skipped}))
    return PlanLine(
        name=line.name,
        assets=tuple(map(_ASSET, line.members)),
        instruments=tuple(map(_INSTRUMENT, legs)),
        target_weight=line.weight,
        spot_value=state.spot_value,
        hedge_before=state.hedge,
        drift_before=drift_before,
        target_hedge=target_hedge,
        desired_hedge=desired,
        allowed_hedge=allowed,
        hedge_after=hedge_after,
        drift_after=drift_after,
        status=status,
        reasons=tuple(reasons),
    )


def _cash_line(
    snapshot: Snapshot, strategy: Strategy, after: dict[str, Decimal], equity: Decimal
) -> CashLine:
    base = snapshot.cash + snapshot.futures_equity
    before = base - sum((p.notional for p in snapshot.perps.values()), ZERO)
    later = base - sum((q * snapshot.perps[s].mark for s, q in after.items()), ZERO)
    weight = strategy.cash_weight
    return CashLine(weight, before, later, before / equity - weight, later / equity - weight)


def _orders(moves: Iterable[Move]) -> tuple[OrderIntent, ...]:
    placed = sorted(moves, key=lambda m: (not m.reduces, m.key))
    return tuple(
        OrderIntent(
            leg=leg,
            line=move.line,
            instrument=move.instrument,
            side=Side.BUY if move.quantity > 0 else Side.SELL,
            amount=abs(move.quantity) / move.contract_size,
            base_quantity=abs(move.quantity),
            reduce_only=move.reduces,
            mark=move.mark,
            position_before=move.position_before,
            position_after=move.position_after,
        )
        for leg, move in enumerate(placed)
    )
