"""The roll policy's decision: when to close a hedge and trade spot to target instead.

The one place spot is sold (DESIGN §2: "roll part of the overlay into spot trades"), so the
conditions are explicit and each roll carries its reasons. Account-wide conditions roll every
line that holds a hedge: the leverage cap binds (or the account is over it), collateral falls
below a floor of the gross hedge, or the quote borrowed exceeds `max_borrow` of equity. The
carry condition is per line: its hedge's projected carry over the horizon exceeds the cost of
the spot trade it replaces (carry.py). A rolled line's spot moves by its target hedge (the
exposure its hedge would have carried), split over its members like the hedge.

Pure, and shared: the live cycle acts on it; the backtest's roll is meant to call it too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from rebalancer.domain.carry import split_over_members
from rebalancer.domain.market import ZERO, MarketRules
from rebalancer.domain.plan import CapState, HedgeOrSell, OrderIntent, Plan, PlanLine, Side
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
    if rules.on_cap and plan.cap is not CapState.WITHIN:
        reasons.append(RollReason.CAP)
    gross = snapshot.gross_notional
    floor = rules.collateral_floor
    if floor is not None and gross > 0 and snapshot.collateral < floor * gross:
        reasons.append(RollReason.COLLATERAL)
    limit = rules.max_borrow
    if limit is not None and snapshot.borrowed > limit * snapshot.equity:
        reasons.append(RollReason.BORROWING)
    return tuple(reasons)


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

    The closing orders take legs after the plan's last, so no client id is reused.
    """
    rolled = {r.line for r in decision.lines}
    instruments = [
        (line.name, symbol)
        for line in plan.lines
        if line.name in rolled
        for symbol in line.instruments
        if symbol in snapshot.perps and snapshot.perps[symbol].position != 0
    ]
    leg = max((o.leg for o in plan.orders), default=0)
    closes: list[OrderIntent] = []
    gross_after = plan.gross_after
    for name, symbol in instruments:
        perp = snapshot.perps[symbol]
        planned = [o for o in plan.orders if o.instrument == symbol]
        ends = planned[-1].position_after if planned else perp.position
        gross_after -= abs(ends) * perp.mark
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
    return replace(plan, orders=(*closes, *kept), gross_after=max(gross_after, ZERO))


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
