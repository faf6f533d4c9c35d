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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from rebalancer.domain.carry import split_over_members
from rebalancer.domain.market import ZERO
from rebalancer.domain.plan import CapState, HedgeOrSell, Plan, PlanLine
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
