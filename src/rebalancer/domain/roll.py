"""The roll policy's decision: when to close a hedge and trade spot to target instead.

The one place spot is sold (DESIGN §2: "roll part of the overlay into spot trades"), so the
conditions are explicit and each roll carries its reasons. Account-wide conditions roll every
line that holds a hedge: the leverage cap binds (or the account is over it; the borrowing
limit holding the plan back is not the cap), collateral falls below a floor of the gross
hedge, or the quote borrowed exceeds `max_borrow` of equity. The
carry condition is per line: its hedge's projected carry over the horizon exceeds the cost of
the spot trade it replaces (carry.py). A rolled line's spot moves by its target hedge (the
exposure its hedge would have carried), split over its members like the hedge.

Pure, and shared: the live cycle acts on it; the backtest's roll is meant to call it too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from rebalancer.domain.carry import split_over_members
from rebalancer.domain.lifecycle import OrderStatus
from rebalancer.domain.market import ZERO, MarketRules
from rebalancer.domain.plan import (
    CapState,
    HedgeOrSell,
    LineStatus,
    OrderIntent,
    Plan,
    PlanLine,
    Side,
)
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Strategy


class RollReason(Enum):
    CAP = "the leverage cap binds"
    COLLATERAL = "collateral is below the floor"
    BORROWING = "borrowing exceeds max_borrow"
    CARRY = "projected carry exceeds the cost of the spot trade"


@dataclass(frozen=True, slots=True)
class RollRules:
    """Which conditions roll (each may be off); the policy is off unless `enabled`."""

    enabled: bool = False
    on_cap: bool = True
    collateral_floor: Decimal | None = None  # K below this share of the gross hedge
    max_borrow: Decimal | None = None  # borrowed quote above this share of V
    on_carry: bool = True


@dataclass(frozen=True, slots=True)
class LineRoll:
    line: str
    hedge: Decimal  # the hedge closed (signed notional now)
    spot: Mapping[str, Decimal]  # per asset, spot value to buy (> 0) or sell (< 0)
    reasons: tuple[RollReason, ...]


@dataclass(frozen=True, slots=True)
class RollDecision:
    account_reasons: tuple[RollReason, ...]
    lines: tuple[LineRoll, ...]

    @property
    def acts(self) -> bool:
        return bool(self.lines)

    @property
    def sales(self) -> Mapping[str, Decimal]:
        """Per asset, the spot value sold (a positive amount), across every rolled line."""
        sold: dict[str, Decimal] = {}
        for roll in self.lines:
            for asset, value in roll.spot.items():
                if value < 0:
                    sold[asset] = sold.get(asset, ZERO) - value
        return sold


def account_reasons(plan: Plan, snapshot: Snapshot, rules: RollRules) -> tuple[RollReason, ...]:
    """The account-wide conditions that hold now."""
    reasons = []
    if rules.on_cap and leverage_cap_binds(plan):
        reasons.append(RollReason.CAP)
    gross = snapshot.gross_notional
    floor = rules.collateral_floor
    if floor is not None and gross > 0 and snapshot.collateral < floor * gross:
        reasons.append(RollReason.COLLATERAL)
    limit = rules.max_borrow
    if limit is not None and snapshot.borrowed > limit * snapshot.equity:
        reasons.append(RollReason.BORROWING)
    return tuple(reasons)


def leverage_cap_binds(plan: Plan) -> bool:
    """The leverage cap binds, or the account is over it.

    A plan held back by the borrowing limit (`hedging.max_borrow`, unified accounts) is not the
    leverage cap binding: that is the borrowing condition, which `roll_on` may leave out. Where
    the borrowing limit is the tighter of the two, the leverage cap binds as well when a full
    rebalance needs more collateral than the account has.
    """
    if plan.cap is CapState.WITHIN:
        return False
    if plan.cap is CapState.OVER:
        return True
    held_by_borrowing = plan.borrowing is not None and plan.borrowing.binding
    return not held_by_borrowing or plan.collateral_shortfall > 0


def decide_roll(
    plan: Plan,
    snapshot: Snapshot,
    strategy: Strategy,
    figures: Sequence[HedgeOrSell],
    rules: RollRules,
) -> RollDecision:
    """Which hedged lines to roll into spot, and why (none unless the policy is enabled)."""
    if not rules.enabled:
        return RollDecision((), ())
    shared = account_reasons(plan, snapshot, rules)
    carry = {f.line: f for f in figures}
    rolls = []
    for line in plan.lines:
        if not line.instruments or line.hedge_before == 0:
            continue  # nothing to close
        reasons = list(shared)
        figure = carry.get(line.name)
        if rules.on_carry and figure is not None and figure.carry_exceeds_sale:
            reasons.append(RollReason.CARRY)
        if reasons:
            spot = spot_to_target(line, strategy)
            rolls.append(LineRoll(line.name, line.hedge_before, spot, tuple(reasons)))
    return RollDecision(shared, tuple(rolls))


def spot_to_target(line: PlanLine, strategy: Strategy) -> dict[str, Decimal]:
    """Per member, the spot value that puts the line on target with no hedge: its target hedge."""
    return split_over_members(line, line.target_hedge, strategy)


def describe_roll(decision: RollDecision, quote: str) -> str:
    """One line: which hedges close, why, and the spot trades that replace them."""
    parts = []
    for roll in decision.lines:
        why = ", ".join(r.value for r in roll.reasons)
        trades = ", ".join(
            f"{'sell' if v < 0 else 'buy'} {abs(v):.2f} {quote} of {a}"
            for a, v in sorted(roll.spot.items())
            if v
        )
        parts.append(f"{roll.line}: close hedge {roll.hedge:+.2f} ({why}); {trades or 'no trade'}")
    return "; ".join(parts)


# -- acting on a decision (pure: the service sends what these return) ------------------------


@dataclass(frozen=True, slots=True)
class SpotOrder:
    """One spot market order of a roll: `quantity` in base units, rounded to the step."""

    leg: int
    line: str
    asset: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal  # the snapshot's spot price (for the notional and the journal)

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class SpotSkip:
    line: str
    asset: str
    value: Decimal  # the spot value the roll wanted (signed)
    reason: str


# A purchase leaves this share of its price unspent: a market buy may fill above the snapshot.
BUY_HEADROOM = Decimal("0.01")


def rolled_plan(plan: Plan, snapshot: Snapshot, decision: RollDecision) -> Plan:
    """The plan a rolling run executes: a reduce-only order closing every perp position of
    each rolled line (first), then the plan's own orders for the lines that do not roll.

    The closing orders take legs after the plan's last, so no client id is reused. The lines
    say what the run does: a rolled line ends with no hedge, on target once its spot trades
    fill (status `rolled`, with the roll's reasons); the cash line counts the closes and the
    spot trades as wanted; a rolled line's hedge-or-sell row keeps the projection the roll
    weighed, marked as rolled.
    """
    rolled = {r.line: r for r in decision.lines}
    instruments = [
        (line.name, symbol)
        for line in plan.lines
        if line.name in rolled
        for symbol in line.instruments
        if symbol in snapshot.perps and snapshot.perps[symbol].position != 0
    ]
    leg = max((o.leg for o in plan.orders), default=0)
    closes: list[OrderIntent] = []
    for name, symbol in instruments:
        perp = snapshot.perps[symbol]
        leg += 1
        size = abs(perp.position)
        closes.append(
            OrderIntent(
                leg=leg,
                line=name,
                instrument=symbol,
                side=Side.BUY if perp.position < 0 else Side.SELL,
                amount=size / perp.rules.contract_size,
                base_quantity=size,
                reduce_only=True,
                mark=perp.mark,
                position_before=perp.position,
                position_after=ZERO,
            )
        )
    closed = {symbol for _, symbol in instruments}
    kept = tuple(o for o in plan.orders if o.line not in rolled and o.instrument not in closed)
    orders = (*closes, *kept)
    after = snapshot.positions_after(orders)
    lines = tuple(
        _line_after_roll(line, snapshot, plan.equity, after=after, roll=rolled.get(line.name))
        for line in plan.lines
    )
    # Cash (stablecoins and futures equity, net of the hedges) after the closes and the spot
    # trades as wanted: sales add their value, purchases spend it.
    traded = sum((v for r in decision.lines for v in r.spot.values()), ZERO)
    base = snapshot.cash + snapshot.futures_equity
    later = base - sum((q * snapshot.perps[s].mark for s, q in after.items()), ZERO) - traded
    weight = plan.cash.target_weight
    cash = replace(plan.cash, exposure_after=later, drift_after=later / plan.equity - weight)
    carry = plan.carry
    if carry is not None:
        marked = tuple(replace(f, rolled=True) if f.line in rolled else f for f in carry.lines)
        carry = replace(carry, lines=marked)
    return replace(
        plan,
        orders=orders,
        gross_after=snapshot.gross_at(after),
        lines=lines,
        cash=cash,
        carry=carry,
    )


def _line_after_roll(
    line: PlanLine,
    snapshot: Snapshot,
    equity: Decimal,
    *,
    after: Mapping[str, Decimal],
    roll: LineRoll | None,
) -> PlanLine:
    """`line` as the rolled plan leaves it: itself unless it rolls (an instrument belongs to
    one line only: Strategy refuses sharing, so no other line is touched)."""
    if roll is None:
        return line
    hedge = sum((after[s] * snapshot.perps[s].mark for s in line.instruments if s in after), ZERO)
    # Its spot trades add the exposure its target hedge would have (spot_to_target), which puts
    # it on target with no hedge (before the spot orders' rounding and minimums): what drift
    # is left is any hedge still held.
    spot = sum(roll.spot.values(), ZERO)
    why = ", ".join(r.value for r in roll.reasons)
    return replace(
        line,
        hedge_after=hedge,
        drift_after=hedge / equity,
        status=LineStatus.ROLLED,
        reasons=(
            *line.reasons,
            f"rolled into spot ({why}): hedge closed, spot {spot:+.2f} traded to target; "
            "drift after as wanted, before the spot orders' rounding",
        ),
    )


def spot_orders(
    decision: RollDecision,
    snapshot: Snapshot,
    rules: Mapping[str, MarketRules | None],
    *,
    lines: Collection[str],
    first_leg: int,
) -> tuple[tuple[SpotOrder, ...], tuple[SpotSkip, ...]]:
    """The spot orders that trade `lines` (rolled lines whose hedge is closed) to target.

    Per asset (`rules`: its spot market's, keyed by asset): the value over the snapshot's spot
    price, rounded down to the market's step; a sale never exceeds the balance held on the
    exchange, a purchase never the quote cash; below the market's minimum amount or notional
    it is skipped with its reason. Sales come first (they fund the purchases); legs number
    on from `first_leg`.
    """
    wanted = [
        (roll.line, asset, value)
        for roll in decision.lines
        if roll.line in lines
        for asset, value in sorted(roll.spot.items())
        if value != 0
    ]
    wanted.sort(key=lambda w: w[2] > 0)  # sales first, stable otherwise
    orders: list[SpotOrder] = []
    skips: list[SpotSkip] = []
    cash = max(snapshot.cash, ZERO)
    sold: dict[str, Decimal] = {}
    leg = first_leg
    for line, asset, value in wanted:
        market = rules.get(asset)
        holding = snapshot.spot.get(asset)
        if market is None or holding is None:
            skips.append(SpotSkip(line, asset, value, "no spot market for it on the exchange"))
            continue
        price = holding.price
        if value < 0:
            most = holding.exchange - sold.get(asset, ZERO)
        else:  # room for the fee and the price moving up while the order fills
            most = cash / (price * (1 + market.taker_fee + BUY_HEADROOM))
        quantity = _floor(max(min(abs(value) / price, most), ZERO), market.amount_step)
        if quantity <= 0 or quantity < market.min_amount:
            why = (
                "not enough quote in spot to buy with"
                if value > 0 and most < abs(value) / price
                else "below the spot market's minimum amount"
            )
            skips.append(SpotSkip(line, asset, value, why))
            continue
        if quantity * price < market.min_notional:
            skips.append(SpotSkip(line, asset, value, "below the spot market's minimum notional"))
            continue
        if value < 0:
            sold[asset] = sold.get(asset, ZERO) + quantity
            cash += quantity * price * (1 - market.taker_fee)  # a sale's proceeds fund buys
        else:
            cash -= quantity * price * (1 + market.taker_fee + BUY_HEADROOM)
        side = Side.SELL if value < 0 else Side.BUY
        orders.append(SpotOrder(leg, line, asset, market.symbol, side, quantity, price))
        leg += 1
    return tuple(orders), tuple(skips)


def _floor(quantity: Decimal, step: Decimal) -> Decimal:
    return (quantity // step) * step


# -- the roll as one journaled decision (DESIGN: exactly once across a crash) ----------------


@dataclass(frozen=True, slots=True)
class RecordedLine:
    """A rolled line as the roll's record holds it: the perp closes it waits for."""

    line: str
    hedge: Decimal
    reasons: tuple[str, ...]  # RollReason names
    closes: tuple[str, ...]  # client ids of its reduce-only perp closes
    closed: bool = False  # known closed already (the record of a run finishing a roll)


@dataclass(frozen=True, slots=True)
class RecordedSpot:
    client_id: str
    order: SpotOrder


@dataclass(frozen=True, slots=True)
class RollRecord:
    """The whole roll, journaled before its first order leaves: its perp closes and the spot
    trades that replace them, with their client ids and the reasons. `resumes`: the run whose
    roll this record finishes."""

    run_id: str
    lines: tuple[RecordedLine, ...]
    spot: tuple[RecordedSpot, ...]
    resumes: str | None = None

    @property
    def client_ids(self) -> tuple[str, ...]:
        return (*(c for line in self.lines for c in line.closes), *(s.client_id for s in self.spot))


class RollStage(Enum):
    UNRESOLVED = "an order of the roll has an unknown outcome"
    VOID = "no hedge of the roll closed"
    PENDING = "its hedges closed; spot orders still to send"
    DONE = "every spot order of the roll has its answer"


@dataclass(frozen=True, slots=True)
class RollProgress:
    stage: RollStage
    closed: tuple[str, ...]  # lines whose hedge closed in full
    pending: tuple[SpotOrder, ...]  # spot orders of closed lines never placed


def roll_record(
    run_id: str,
    decision: RollDecision,
    plan: Plan,
    orders: Sequence[SpotOrder],
    client_id: Callable[[str, int], str],
) -> RollRecord:
    """The record of a roll this run performs: `plan` is its `rolled_plan`, `orders` the spot
    orders of `spot_orders` (legs after the plan's)."""
    lines = tuple(
        RecordedLine(
            roll.line,
            roll.hedge,
            tuple(r.name for r in roll.reasons),
            tuple(client_id(run_id, o.leg) for o in plan.orders if o.line == roll.line),
        )
        for roll in decision.lines
    )
    spot = tuple(RecordedSpot(client_id(run_id, o.leg), o) for o in orders)
    return RollRecord(run_id, lines, spot)


def roll_progress(record: RollRecord, statuses: Mapping[str, OrderStatus]) -> RollProgress:
    """How far a recorded roll got, from its orders' journaled statuses (by client id; an id
    missing was never journaled, so never sent). A line's spot is due once each of its closes
    filled; a spot order is still to send only if it was never journaled or was found never
    placed: anything the exchange answered (filled, rejected, ...) is never sent again."""
    if any(statuses[c].needs_resolution for c in record.client_ids if c in statuses):
        return RollProgress(RollStage.UNRESOLVED, (), ())
    closed = tuple(
        line.line
        for line in record.lines
        if line.closed or all(statuses.get(c) is OrderStatus.FILLED for c in line.closes)
    )
    if not closed:
        return RollProgress(RollStage.VOID, (), ())
    pending = tuple(
        s.order
        for s in record.spot
        if s.order.line in closed and statuses.get(s.client_id) in (None, OrderStatus.NOT_PLACED)
    )
    return RollProgress(RollStage.PENDING if pending else RollStage.DONE, closed, pending)


def resumed_record(
    record: RollRecord,
    progress: RollProgress,
    run_id: str,
    client_id: Callable[[str, int], str],
) -> RollRecord:
    """The record of `run_id` finishing `record`'s spot phase: its closed lines, and the spot
    orders still to send under this run's own client ids (legs from 1)."""
    lines = tuple(
        replace(line, closes=(), closed=True)
        for line in record.lines
        if line.line in progress.closed
    )
    spot = tuple(
        RecordedSpot(client_id(run_id, leg), replace(order, leg=leg))
        for leg, order in enumerate(progress.pending, start=1)
    )
    return RollRecord(run_id, lines, spot, resumes=record.resumes or record.run_id)


def describe_spot(orders: Sequence[SpotOrder]) -> str:
    return ", ".join(f"{o.side.value} {o.quantity} {o.asset}" for o in orders) or "no trade"
