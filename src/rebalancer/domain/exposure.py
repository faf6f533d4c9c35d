"""Net exposure and drift of each hedge line (DESIGN §2: e = s p + h m, d = e / V - w).

Used by the planner and by the trigger policies, so both read drift the same way. A strategy's
hedge lines depend only on the strategy and the perps listed, so they are made once per strategy
object and set of listed perps (the strategy is frozen, its mappings read-only), not per plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from rebalancer.domain.market import ZERO
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import HedgeLine, Strategy, hedge_lines


@dataclass(frozen=True, slots=True)
class LineState:
    """A hedge line valued against one snapshot."""

    line: HedgeLine
    spot_value: Decimal  # beta-weighted sum of the members' s p
    hedge: Decimal  # signed notional of the line's legs
    target_exposure: Decimal  # W V

    @property
    def exposure(self) -> Decimal:
        return self.spot_value + self.hedge

    @property
    def target_hedge(self) -> Decimal:
        """h* x m: the hedge notional that puts the line exactly on target."""
        return self.target_exposure - self.spot_value

    def drift(self, equity: Decimal) -> Decimal:
        return (self.exposure - self.target_exposure) / equity

    def relative_drift(self, equity: Decimal) -> Decimal | None:
        weight = self.line.weight
        return self.drift(equity) / weight if weight else None


@dataclass(frozen=True, slots=True)
class Valuation:
    """All lines of a strategy valued against a snapshot, plus positions no line manages."""

    equity: Decimal
    lines: tuple[LineState, ...]
    unmanaged: tuple[str, ...]  # perp symbols holding a position that no line manages
    unmanaged_gross: Decimal


# The last valuation made, with the very objects it was made from: a trigger check and the plan
# that follows it value the same snapshot (both are frozen, so the same objects give the same
# valuation). Held references keep those objects alive, so their ids cannot be reused.
_last: tuple[Strategy, Snapshot, Valuation] | None = None


def valuation(strategy: Strategy, snapshot: Snapshot) -> Valuation:
    global _last  # noqa: PLW0603 - a one-entry memo of a pure function
    last = _last
    if last is not None and last[0] is strategy and last[1] is snapshot:
        return last[2]
    value = _valuation(strategy, snapshot)
    _last = (strategy, snapshot, value)
    return value


def _valuation(strategy: Strategy, snapshot: Snapshot) -> Valuation:
    equity = snapshot.equity
    if equity <= 0:
        raise ValueError(f"portfolio equity is not positive ({equity}); nothing can be planned")
    states = []
    perps = snapshot.perps
    holdings = snapshot.spot
    lines, managed = _hedge_lines(_Identity(strategy), frozenset(perps))
    for line in lines:
        spot = ZERO
        for member in line.members:
            holding = holdings.get(member.asset)
            if holding is not None:
                spot += member.beta * holding.value
        hedge = ZERO
        for leg in line.legs:
            hedge += perps[leg.instrument].notional
        states.append(LineState(line, spot, hedge, line.weight * equity))
    stray = sorted([s for s, p in perps.items() if s not in managed and p.position != 0])
    stray_gross = sum((abs(perps[s].notional) for s in stray), ZERO)
    return Valuation(equity, tuple(states), tuple(stray), stray_gross)


class _Identity:
    """A strategy as a cache key, by identity: the key holds the strategy, so while it is cached
    its id cannot be reused by another object (Strategy holds mappings: it is not hashable)."""

    __slots__ = ("strategy",)

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy

    def __hash__(self) -> int:
        return id(self.strategy)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.strategy is self.strategy


@lru_cache(maxsize=64)
def _hedge_lines(
    key: _Identity, listed: frozenset[str]
) -> tuple[tuple[HedgeLine, ...], frozenset[str]]:
    """The strategy's hedge lines, and the perps they manage."""
    lines = hedge_lines(key.strategy, listed)
    return lines, frozenset(leg.instrument for line in lines for leg in line.legs)
