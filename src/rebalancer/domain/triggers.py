"""Trigger policies: given why the bot woke up and the current drift, should it rebalance?

Calendar wake-ups come from the scheduler (which owns the cron expression); drift checks
compare each hedge line's drift with the absolute and relative thresholds. The decision
carries its reason, which the journal records.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from rebalancer.domain.exposure import Valuation
from rebalancer.domain.strategy import Band


class TriggerPolicy(Enum):
    CALENDAR = "calendar"
    THRESHOLD = "threshold"
    BOTH = "both"


class Wake(Enum):
    CALENDAR = "calendar"  # a scheduled calendar time arrived
    DRIFT_CHECK = "drift_check"  # a periodic cheap look at drift
    MANUAL = "manual"  # the user asked for a cycle now


@dataclass(frozen=True, slots=True)
class Breach:
    """A line whose drift is beyond a threshold."""

    line: str
    drift: Decimal
    relative_drift: Decimal | None
    limit: str  # "absolute" or "relative"


@dataclass(frozen=True, slots=True)
class Decision:
    rebalance: bool
    reason: str
    breaches: tuple[Breach, ...] = ()


def breaches(value: Valuation, band: Band) -> tuple[Breach, ...]:
    """Hedgeable lines whose drift is strictly beyond the absolute or relative threshold."""
    found = []
    for state in value.lines:
        if not state.line.hedgeable:
            continue
        drift = state.drift(value.equity)
        relative = state.relative_drift(value.equity)
        if band.absolute is not None and abs(drift) > band.absolute:
            found.append(Breach(state.line.name, drift, relative, "absolute"))
        elif band.relative is not None and relative is not None and abs(relative) > band.relative:
            found.append(Breach(state.line.name, drift, relative, "relative"))
    return tuple(found)


def decide(policy: TriggerPolicy, wake: Wake, value: Valuation, band: Band) -> Decision:
    """Whether this wake-up should run a rebalance, and why."""
    if wake is Wake.MANUAL:
        return Decision(True, "requested by the user")
    if wake is Wake.CALENDAR:
        if policy is TriggerPolicy.THRESHOLD:
            return Decision(False, "calendar wake-up ignored: policy is threshold-only")
        return Decision(True, "calendar rebalance due")
    if policy is TriggerPolicy.CALENDAR:
        return Decision(False, "drift check only reports: policy is calendar-only")
    found = breaches(value, band)
    if not found:
        return Decision(False, "all drifts within thresholds")
    worst = max(found, key=lambda b: abs(b.drift))
    return Decision(
        True,
        f"{len(found)} line(s) beyond threshold; largest {worst.line} "
        f"drift {worst.drift * 100:+.2f} pts ({worst.limit})",
        found,
    )
