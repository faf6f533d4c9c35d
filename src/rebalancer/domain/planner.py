"""The planner: snapshot + strategy -> plan (DESIGN §2). A pure function.

Steps: value every hedge line; decide the wanted hedge (to target, or to the band edge);
fit the hedges under the leverage cap; turn each line's hedge into positions per instrument,
rounded to the exchange's steps without adding exposure; drop legs the exchange or the user's
minimum would refuse; order reductions before increases. Fees of the trades are reserved out
of the cap so that the account stays within it after paying them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from rebalancer.domain.allocation import allocate
from rebalancer.domain.exposure import LineState, Valuation, valuation
from rebalancer.domain.legs import Move, line_moves
from rebalancer.domain.market import ZERO
from rebalancer.domain.plan import (
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
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import RebalanceTo, Strategy

MONEY_GRAIN = Decimal("1e-8")  # finest quote amount the planner distinguishes


class PlanningError(ValueError):
    """The inputs do not allow a plan (for example, no positive equity)."""


@dataclass(frozen=True, slots=True)
class _Budget:
    cap: Decimal  # L x F
    available: Decimal  # what the managed lines may use: cap - unmanaged gross - fee reserve
    fee_reserve: Decimal


def plan(snapshot: Snapshot, strategy: Strategy) -> Plan:
    """Plan the perp orders that bring every hedge line back on target within the cap."""
    try:
        value = valuation(strategy, snapshot)
    except ValueError as exc:
        raise PlanningError(str(exc)) from exc
    equity = value.equity
    desired = tuple(_desired_hedge(state, strategy, equity) for state in value.lines)
    budget = _budget(snapshot, strategy, value, desired)
    wanted_gross = sum((abs(d) for d in desired), ZERO)
    cap_state = _cap_state(snapshot, budget, wanted_gross)
    allowed = allocate(desired, budget.available)

    moves = [
        move
        for state, target in zip(value.lines, allowed, strict=True)
        for move in line_moves(state, target, snapshot)
    ]
    skips = _minimum_skips(moves, strategy, cap_state)
    skips |= _over_cap_skips(moves, skips, snapshot, budget)
    if cap_state is CapState.BINDING:
        # The guarantee of DESIGN §2: a cycle never leaves the largest drift larger.
        largest_before = max((abs(s.drift(equity)) for s in value.lines), default=ZERO)
        after = _positions_after(snapshot, moves, skips)
        largest_after = max(
            (abs(_drift_after(s, after, snapshot, equity)) for s in value.lines), default=ZERO
        )
        if largest_after > largest_before:
            skips = {m.key: SkipReason.NO_IMPROVEMENT for m in moves}

    after = _positions_after(snapshot, moves, skips)
    moves_by_line: dict[str, list[Move]] = {}
    for move in moves:
        moves_by_line.setdefault(move.line, []).append(move)
    notes = tuple(
        f"position on {s} is not managed by any target line and counts against the cap"
        for s in value.unmanaged
    )
    required = (wanted_gross + value.unmanaged_gross) / strategy.max_leverage + budget.fee_reserve
    return Plan(
        as_of=snapshot.taken_at,
        quote=snapshot.quote,
        equity=equity,
        futures_equity=snapshot.futures_equity,
        max_leverage=strategy.max_leverage,
        leverage_budget=budget.cap - budget.fee_reserve,
        gross_before=snapshot.gross_notional,
        gross_after=_gross(after, snapshot),
        required_collateral=required,
        collateral_shortfall=max(ZERO, required - snapshot.collateral),
        cap=cap_state,
        lines=tuple(
            _plan_line(
                state,
                desired=wanted,
                allowed=allot,
                after=after,
                snapshot=snapshot,
                equity=equity,
                moves=moves_by_line.get(state.line.name, []),
                skips=skips,
            )
            for state, wanted, allot in zip(value.lines, desired, allowed, strict=True)
        ),
        cash=_cash_line(snapshot, strategy, after, equity),
        orders=_orders(moves, skips),
        skipped=tuple(
            SkippedLeg(m.line, m.instrument, m.quantity, m.notional, skips[m.key])
            for m in moves
            if m.key in skips
        ),
        notes=notes,
    )


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


def _budget(
    snapshot: Snapshot, strategy: Strategy, value: Valuation, desired: Iterable[Decimal]
) -> _Budget:
    usable = snapshot.collateral * (1 - strategy.collateral_buffer)
    cap = max(ZERO, strategy.max_leverage * usable)
    # Any hedge between zero and the wanted one trades at most max(|h|, |wanted - h|).
    reserve = ZERO
    for state, wanted in zip(value.lines, desired, strict=True):
        fee = max(
            (snapshot.perps[leg.instrument].rules.taker_fee for leg in state.line.legs),
            default=ZERO,
        )
        reserve += fee * max(abs(state.hedge), abs(wanted - state.hedge))
    reserve *= strategy.max_leverage
    available = max(ZERO, cap - value.unmanaged_gross - reserve)
    return _Budget(cap=cap, available=available, fee_reserve=reserve)


def _cap_state(snapshot: Snapshot, budget: _Budget, wanted_gross: Decimal) -> CapState:
    if snapshot.gross_notional > budget.cap:
        return CapState.OVER
    if wanted_gross > budget.available:
        return CapState.BINDING
    return CapState.WITHIN


def _minimum_skips(
    moves: list[Move], strategy: Strategy, cap_state: CapState
) -> dict[tuple[str, int], SkipReason]:
    """Exchange minimums per move; the user's minimum trade per line (waived for de-levering)."""
    skips = {m.key: m.refusal for m in moves if m.refusal is not None}
    per_line: dict[str, Decimal] = {}
    for move in moves:
        if move.key not in skips:
            per_line[move.line] = per_line.get(move.line, ZERO) + move.notional
    for move in moves:
        if per_line.get(move.line, ZERO) >= strategy.min_trade_notional:
            continue
        if cap_state is CapState.OVER and move.reduces:
            continue
        skips.setdefault(move.key, SkipReason.BELOW_MIN_TRADE)
    return skips


def _over_cap_skips(
    moves: list[Move],
    skips: dict[tuple[str, int], SkipReason],
    snapshot: Snapshot,
    budget: _Budget,
) -> dict[tuple[str, int], SkipReason]:
    """Drop increases, largest first, while a refused reduction leaves the plan over the cap."""
    limit = budget.cap - budget.fee_reserve
    dropped: dict[tuple[str, int], SkipReason] = {}
    increases = sorted(
        (m for m in moves if not m.reduces and m.key not in skips),
        key=lambda m: (-m.notional, m.key),
    )
    for move in increases:
        after = _positions_after(snapshot, moves, skips | dropped)
        gross = _gross(after, snapshot)
        if gross <= limit or gross <= snapshot.gross_notional:
            break
        dropped[move.key] = SkipReason.OVER_CAP
    return dropped


def _positions_after(
    snapshot: Snapshot, moves: Iterable[Move], skips: dict[tuple[str, int], SkipReason]
) -> dict[str, Decimal]:
    after = {symbol: perp.position for symbol, perp in snapshot.perps.items()}
    for move in moves:
        if move.key not in skips:
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
    moves: list[Move],
    skips: dict[tuple[str, int], SkipReason],
) -> PlanLine:
    line = state.line
    parts = moves
    hedge_after = _line_hedge(state, after, snapshot)
    placed = [m for m in parts if m.key not in skips]
    reasons: list[str] = [line.note] if line.note else []
    if not line.hedgeable:
        status = LineStatus.UNHEDGEABLE
    elif placed:
        status = LineStatus.CAPPED if allowed != desired else LineStatus.REBALANCED
    elif parts:
        status = LineStatus.SKIPPED
    elif desired == state.hedge and desired != state.target_hedge:
        status = LineStatus.IN_BAND
    else:
        status = LineStatus.CAPPED if allowed != desired else LineStatus.ON_TARGET
    if allowed != desired:
        reasons.append(f"leverage cap: hedge limited to {allowed:.2f} of wanted {desired:.2f}")
    reasons.extend(sorted({skips[m.key].value for m in parts if m.key in skips}))
    return PlanLine(
        name=line.name,
        assets=tuple(m.asset for m in line.members),
        instruments=tuple(leg.instrument for leg in line.legs),
        target_weight=line.weight,
        spot_value=state.spot_value,
        hedge_before=state.hedge,
        drift_before=state.drift(equity),
        target_hedge=state.target_hedge if line.hedgeable else ZERO,
        desired_hedge=desired,
        allowed_hedge=allowed,
        hedge_after=hedge_after,
        drift_after=(state.spot_value + hedge_after - state.target_exposure) / equity,
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


def _orders(moves: list[Move], skips: dict[tuple[str, int], SkipReason]) -> tuple[OrderIntent, ...]:
    placed = sorted((m for m in moves if m.key not in skips), key=lambda m: (not m.reduces, m.key))
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
            position_after=move.position_before + move.quantity,
        )
        for leg, move in enumerate(placed)
    )
