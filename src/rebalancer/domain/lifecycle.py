"""State machines of a run and of an order, as tables of allowed transitions.

The journal moves runs and orders only through these; an illegal move raises, because it
means the bot's picture of the world is wrong and continuing could trade on a false belief.
"""

from __future__ import annotations

from enum import Enum


class IllegalTransition(ValueError):  # noqa: N818 - named for what happened, like ValueError
    """A state change the table does not allow."""


class RunState(Enum):
    STARTED = "started"
    SNAPSHOT = "snapshot"
    PLANNED = "planned"
    EXECUTING = "executing"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def terminal(self) -> bool:
        return self in _RUN_TERMINAL


class OrderStatus(Enum):
    SUBMITTING = "submitting"  # intent committed; the request may be in flight
    ACCEPTED = "accepted"  # the exchange has it, nothing filled yet
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    REJECTED = "rejected"  # the exchange refused it: nothing executed
    CANCELED = "canceled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # the answer was lost or ambiguous: to be resolved by client id
    NOT_PLACED = "not_placed"  # resolved: the exchange did not have it when asked

    @property
    def terminal(self) -> bool:
        return self in _ORDER_TERMINAL

    @property
    def needs_resolution(self) -> bool:
        """The outcome is not known: reconciliation must look it up before anything else."""
        return self in (OrderStatus.SUBMITTING, OrderStatus.UNKNOWN)


_RUN_TERMINAL = frozenset({RunState.COMPLETED, RunState.FAILED, RunState.SKIPPED})
_RUN_NEXT: dict[RunState, frozenset[RunState]] = {
    RunState.STARTED: frozenset({RunState.SNAPSHOT, RunState.FAILED, RunState.SKIPPED}),
    RunState.SNAPSHOT: frozenset({RunState.PLANNED, RunState.FAILED, RunState.SKIPPED}),
    RunState.PLANNED: frozenset(
        {RunState.EXECUTING, RunState.COMPLETED, RunState.FAILED, RunState.SKIPPED}
    ),
    RunState.EXECUTING: frozenset({RunState.COMPLETED, RunState.FAILED}),
}

_ORDER_TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.REJECTED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
        OrderStatus.NOT_PLACED,
    }
)
_LIVE = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
    }
)
_ORDER_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.SUBMITTING: _LIVE
    | {OrderStatus.REJECTED, OrderStatus.UNKNOWN, OrderStatus.NOT_PLACED},
    OrderStatus.UNKNOWN: _LIVE
    | {OrderStatus.REJECTED, OrderStatus.NOT_PLACED, OrderStatus.UNKNOWN},
    OrderStatus.ACCEPTED: _LIVE,
    OrderStatus.PARTIALLY_FILLED: _LIVE - {OrderStatus.ACCEPTED},
    # Terminal for reconciliation, but not against the truth: a request delayed past the
    # lookups can still land, and then the exchange's answer wins.
    OrderStatus.NOT_PLACED: _LIVE | {OrderStatus.REJECTED},
}


def next_run_state(current: RunState, new: RunState) -> RunState:
    """`new` if a run may move there from `current`; raises `IllegalTransition` otherwise."""
    if new not in _RUN_NEXT.get(current, frozenset()):
        raise IllegalTransition(f"run cannot move from {current.value} to {new.value}")
    return new


def next_order_status(current: OrderStatus, new: OrderStatus) -> OrderStatus:
    """`new` if an order may move there from `current` (repeating a state is allowed)."""
    if new is current:
        return new
    if new not in _ORDER_NEXT.get(current, frozenset()):
        raise IllegalTransition(f"order cannot move from {current.value} to {new.value}")
    return new
