"""Reconciliation decisions: what a journaled order's status becomes, given what the exchange says.

Pure functions (nautilus-style): recovery gathers the exchange's reports by client id and these
decide. An order the exchange does not know, after the lookups allowed for its lag, was never
placed: the intent was written but the request did not arrive (or was refused unseen).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from rebalancer.domain.lifecycle import OrderStatus, RunState


class Seen(Enum):
    """What the exchange reported for a client order id."""

    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    OPEN = "open"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"  # unknown to the exchange after the lag allowance
    NO_ANSWER = "no_answer"  # the lookup itself failed: decide nothing


_STATUS = {
    Seen.FILLED: OrderStatus.FILLED,
    Seen.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    Seen.OPEN: OrderStatus.ACCEPTED,
    Seen.CANCELED: OrderStatus.CANCELED,
    Seen.REJECTED: OrderStatus.REJECTED,
    Seen.EXPIRED: OrderStatus.EXPIRED,
    Seen.NOT_FOUND: OrderStatus.NOT_PLACED,
}


def resolved_status(current: OrderStatus, seen: Seen) -> OrderStatus | None:
    """The status to record, or None when nothing can be concluded (or nothing changes)."""
    if seen is Seen.NO_ANSWER or current.terminal:
        return None
    if seen is Seen.NOT_FOUND and not current.needs_resolution:
        return None  # an accepted order does not vanish: leave it for a later lookup
    new = _STATUS[seen]
    return None if new is current else new


@dataclass(frozen=True, slots=True)
class RunVerdict:
    state: RunState
    reason: str


def interrupted_run(state: RunState, orders: list[OrderStatus]) -> RunVerdict | None:
    """How to close a run a crash left open, once its orders are reconciled (None: not yet)."""
    if state.terminal:
        return None
    if any(s.needs_resolution for s in orders):
        return None
    filled = sum(1 for s in orders if s in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED))
    missing = sum(1 for s in orders if s is OrderStatus.NOT_PLACED)
    return RunVerdict(
        RunState.FAILED,
        f"interrupted at {state.value}; reconciled {len(orders)} order(s): "
        f"{filled} filled, {missing} never placed, {len(orders) - filled - missing} other",
    )
