"""Residual drift: each plan line's drift measured again on the post-trade snapshot.

The plan's `drift_after` is what the planner expected; this is what the account showed once
the orders were done (fills at other prices, partial fills, moves in between). A proxy line's
spot value counts at the beta the plan used, recovered as the plan's value over the raw one.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rebalancer.domain.plan import PlanLine
from rebalancer.domain.snapshot import Snapshot
from rebalancer.review.records import ResidualDrift

_ZERO = Decimal(0)


def residual_drift(
    lines: Sequence[PlanLine], before: Snapshot | None, after: Snapshot | None
) -> tuple[ResidualDrift, ...]:
    if after is None or after.equity <= 0:
        return ()
    return tuple(_line(line, before, after) for line in lines)


def _line(line: PlanLine, before: Snapshot | None, after: Snapshot) -> ResidualDrift:
    raw_before = _spot(before, line) if before is not None else _ZERO
    beta = line.spot_value / raw_before if raw_before else Decimal(1)
    hedge = sum((after.perps[i].notional for i in line.instruments if i in after.perps), _ZERO)
    weight = (_spot(after, line) * beta + hedge) / after.equity
    return ResidualDrift(line.name, line.target_weight, weight - line.target_weight)


def _spot(snapshot: Snapshot, line: PlanLine) -> Decimal:
    return sum((h.value for a in line.assets if (h := snapshot.holding(a)) is not None), _ZERO)
