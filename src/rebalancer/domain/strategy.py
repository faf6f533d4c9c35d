"""What the user wants: target weights, how each asset is hedged, and the rebalancing rules.

This is the domain's view of the config (built from it by the shell). `hedge_lines` turns it
into the units the planner balances: assets that share a hedge instrument (an index perp for a
group, or a proxy perp) are balanced together, because one position cannot be split between
them without memory the planner does not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from rebalancer.domain.market import ONE, ZERO

MAX_CAP_SLACK = Decimal("0.5")  # a larger cap slack would hold hedges at half the cap


class RebalanceTo(Enum):
    TARGET = "target"
    BAND = "band"


@dataclass(frozen=True, slots=True)
class Band:
    """Drift tolerance: absolute (weight points) and/or relative (fraction of the target weight)."""

    absolute: Decimal | None = None
    relative: Decimal | None = None

    def half_width(self, weight: Decimal) -> Decimal | None:
        """The tighter of the two limits for a line of this target weight (None: no band)."""
        widths = [w for w in (self.absolute, self.relative_width(weight)) if w is not None]
        return min(widths) if widths else None

    def relative_width(self, weight: Decimal) -> Decimal | None:
        return None if self.relative is None else self.relative * abs(weight)


@dataclass(frozen=True, slots=True)
class Hedge:
    """How one asset is hedged: its own perp (beta 1) or a proxy perp with a beta."""

    instrument: str
    beta: Decimal = ONE

    @property
    def is_proxy(self) -> bool:
        return self.beta != ONE


@dataclass(frozen=True, slots=True)
class Group:
    """Assets balanced as one sleeve: via an index perp where given, else pro rata on members."""

    name: str
    members: tuple[str, ...]
    index: str | None = None


@dataclass(frozen=True, slots=True)
class Strategy:
    """Targets and rules; weights of `weights` plus `cash_weight` sum to 1."""

    weights: Mapping[str, Decimal]
    hedges: Mapping[str, Hedge]
    cash_weight: Decimal = ZERO
    groups: tuple[Group, ...] = ()
    max_leverage: Decimal = ONE
    rebalance_to: RebalanceTo = RebalanceTo.TARGET
    band: Band = field(default_factory=Band)
    min_trade_notional: Decimal = ZERO
    collateral_buffer: Decimal = ZERO  # fraction of futures equity the cap leaves unused
    # While the wanted hedges do not fit under the cap, hold them as long as the gross is within
    # this fraction under the cap and not over it (planner.py: "cap slack"); 0: re-fit at
    # every plan.
    cap_slack: Decimal = ZERO
    # Unified accounts: the most quote (a share of V) that a plan may leave the account
    # borrowing under an adverse move of `borrow_stress` on every hedge (planner.py: "borrowing").
    max_borrow: Decimal | None = None
    borrow_stress: Decimal = Decimal("0.25")

    def __post_init__(self) -> None:
        if not ZERO < self.max_leverage <= ONE:
            raise ValueError("max_leverage must be in (0, 1]")
        if not ZERO <= self.collateral_buffer < ONE:
            raise ValueError("collateral_buffer must be in [0, 1)")
        if not ZERO <= self.cap_slack <= MAX_CAP_SLACK:
            raise ValueError(f"cap_slack must be in [0, {MAX_CAP_SLACK}]")
        if self.max_borrow is not None and not ZERO <= self.max_borrow <= ONE:
            raise ValueError("max_borrow must be in [0, 1]")
        if not ZERO < self.borrow_stress <= ONE:
            raise ValueError("borrow_stress must be in (0, 1]")
        missing = set(self.weights) - set(self.hedges)
        if missing:
            raise ValueError(f"no hedge rule for {sorted(missing)}")
        grouped = [m for g in self.groups for m in g.members]
        if len(grouped) != len(set(grouped)):
            raise ValueError("an asset may belong to one group only")
        unknown = set(grouped) - set(self.weights)
        if unknown:
            raise ValueError(f"group members without a target weight: {sorted(unknown)}")
        _check_instruments_not_shared(self)


@dataclass(frozen=True, slots=True)
class Member:
    """One asset inside a hedge line, with the beta its spot value counts at."""

    asset: str
    weight: Decimal
    beta: Decimal = ONE


@dataclass(frozen=True, slots=True)
class Leg:
    """One instrument of a hedge line and the share of the line's hedge it carries."""

    instrument: str
    share: Decimal


@dataclass(frozen=True, slots=True)
class HedgeLine:
    """The unit the planner balances: members, target weight and hedge legs (none: unhedgeable)."""

    name: str
    members: tuple[Member, ...]
    legs: tuple[Leg, ...]
    note: str = ""
    weight: Decimal = field(init=False)  # beta-weighted sum of the members' weights

    def __post_init__(self) -> None:
        weight = ZERO
        for member in self.members:
            weight += member.beta * member.weight
        object.__setattr__(self, "weight", weight)

    @property
    def hedgeable(self) -> bool:
        return bool(self.legs)


def hedge_lines(strategy: Strategy, listed: frozenset[str]) -> tuple[HedgeLine, ...]:
    """Group the target assets into hedge lines, given the perp symbols the exchange lists.

    Lines are returned sorted by name, so the result does not depend on the order in which
    assets were listed.
    """
    lines: list[HedgeLine] = []
    grouped: set[str] = set()
    for group in strategy.groups:
        grouped.update(group.members)
        lines.append(_group_line(strategy, group, listed))

    by_instrument: dict[str, list[Member]] = {}
    for asset in sorted(set(strategy.weights) - grouped):
        hedge = strategy.hedges[asset]
        member = Member(asset, strategy.weights[asset], hedge.beta)
        if hedge.instrument in listed:
            by_instrument.setdefault(hedge.instrument, []).append(member)
        else:
            lines.append(
                HedgeLine(asset, (member,), (), note=f"no perp market {hedge.instrument} listed")
            )
    for instrument, members in by_instrument.items():
        name = members[0].asset if len(members) == 1 else "+".join([m.asset for m in members])
        lines.append(HedgeLine(name, tuple(members), (Leg(instrument, ONE),)))
    return tuple(sorted(lines, key=lambda line: line.name))


def _group_line(strategy: Strategy, group: Group, listed: frozenset[str]) -> HedgeLine:
    members = tuple(
        Member(a, strategy.weights[a], strategy.hedges[a].beta) for a in sorted(group.members)
    )
    note = ""
    hedgeable = [m for m in members if strategy.hedges[m.asset].instrument in listed]
    if group.index is not None:
        if group.index in listed:
            # Members' own perps stay legs with no share, so stray positions there get closed.
            idle = tuple(
                Leg(strategy.hedges[m.asset].instrument, ZERO)
                for m in hedgeable
                if strategy.hedges[m.asset].instrument != group.index
            )
            return HedgeLine(group.name, members, _merged((Leg(group.index, ONE), *idle)))
        note = f"index {group.index} not listed; hedged pro rata on members"
    if not hedgeable:
        return HedgeLine(group.name, members, (), note=note or "no member has a perp market")
    total = sum((m.weight for m in hedgeable), ZERO)
    # Members targeted at zero still hold spot to hedge: then the legs share the hedge equally.
    legs = tuple(
        Leg(
            strategy.hedges[m.asset].instrument,
            m.weight / total if total else ONE / len(hedgeable),
        )
        for m in hedgeable
    )
    return HedgeLine(group.name, members, _merged(legs), note=note)


def _merged(legs: tuple[Leg, ...]) -> tuple[Leg, ...]:
    """One leg per instrument: members hedged through one perp share one position.

    Two legs on one instrument would count its position twice and size two orders from it.
    """
    shares: dict[str, Decimal] = {}
    for leg in legs:
        shares[leg.instrument] = shares.get(leg.instrument, ZERO) + leg.share
    return tuple(Leg(instrument, share) for instrument, share in shares.items())


def _check_instruments_not_shared(strategy: Strategy) -> None:
    """A group's instruments may not also hedge an asset outside the group, or another group.

    Otherwise one position would serve two lines and its split would be a guess.
    """
    grouped = {m for g in strategy.groups for m in g.members}
    outside = {strategy.hedges[a].instrument for a in strategy.weights if a not in grouped}
    seen: dict[str, str] = {}
    for group in strategy.groups:
        used = {group.index} if group.index else set()
        used |= {strategy.hedges[m].instrument for m in group.members}
        clash = sorted(used & outside)
        if clash:
            raise ValueError(
                f"group {group.name!r} and an asset outside it both hedge with {clash[0]}"
            )
        shared = sorted(used & set(seen))
        if shared:
            raise ValueError(
                f"groups {seen[shared[0]]!r} and {group.name!r} both hedge with {shared[0]}"
            )
        seen.update(dict.fromkeys(used, group.name))
