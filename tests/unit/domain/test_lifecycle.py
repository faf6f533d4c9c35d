"""Run and order state machines: allowed moves pass, illegal ones raise."""

from __future__ import annotations

import pytest

from rebalancer.domain.lifecycle import (
    IllegalTransition,
    OrderStatus,
    RunState,
    next_order_status,
    next_run_state,
)
from rebalancer.domain.reconcile import Seen, interrupted_run, resolved_status


def test_a_run_moves_forward_through_its_states() -> None:
    state = RunState.STARTED
    for new in (RunState.SNAPSHOT, RunState.PLANNED, RunState.EXECUTING, RunState.COMPLETED):
        state = next_run_state(state, new)
    assert state.terminal


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (RunState.COMPLETED, RunState.FAILED),
        (RunState.STARTED, RunState.EXECUTING),
        (RunState.EXECUTING, RunState.SKIPPED),
        (RunState.FAILED, RunState.COMPLETED),
    ],
)
def test_illegal_run_moves_raise(current: RunState, new: RunState) -> None:
    with pytest.raises(IllegalTransition):
        next_run_state(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (OrderStatus.FILLED, OrderStatus.SUBMITTING),
        (OrderStatus.REJECTED, OrderStatus.FILLED),
        (OrderStatus.ACCEPTED, OrderStatus.NOT_PLACED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.ACCEPTED),
        (OrderStatus.NOT_PLACED, OrderStatus.SUBMITTING),
    ],
)
def test_illegal_order_moves_raise(current: OrderStatus, new: OrderStatus) -> None:
    with pytest.raises(IllegalTransition):
        next_order_status(current, new)


def test_an_unknown_order_can_still_turn_out_filled_or_never_placed() -> None:
    assert next_order_status(OrderStatus.UNKNOWN, OrderStatus.FILLED) is OrderStatus.FILLED
    assert next_order_status(OrderStatus.UNKNOWN, OrderStatus.NOT_PLACED) is OrderStatus.NOT_PLACED
    assert next_order_status(OrderStatus.FILLED, OrderStatus.FILLED) is OrderStatus.FILLED


@pytest.mark.parametrize(
    "reported",
    [OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED],
)
def test_an_order_concluded_never_placed_takes_what_the_exchange_later_reports(
    reported: OrderStatus,
) -> None:
    # A late request lands after reconciliation looked it up: the exchange is the truth.
    assert next_order_status(OrderStatus.NOT_PLACED, reported) is reported


def test_reconciliation_concludes_only_from_an_answer() -> None:
    assert resolved_status(OrderStatus.SUBMITTING, Seen.FILLED) is OrderStatus.FILLED
    assert resolved_status(OrderStatus.SUBMITTING, Seen.NOT_FOUND) is OrderStatus.NOT_PLACED
    assert resolved_status(OrderStatus.UNKNOWN, Seen.NO_ANSWER) is None
    assert resolved_status(OrderStatus.FILLED, Seen.NOT_FOUND) is None
    assert resolved_status(OrderStatus.ACCEPTED, Seen.NOT_FOUND) is None


def test_an_interrupted_run_is_closed_once_its_orders_are_known() -> None:
    assert interrupted_run(RunState.EXECUTING, [OrderStatus.UNKNOWN]) is None
    verdict = interrupted_run(RunState.EXECUTING, [OrderStatus.FILLED, OrderStatus.NOT_PLACED])
    assert verdict is not None
    assert verdict.state is RunState.FAILED
    assert "1 filled, 1 never placed" in verdict.reason
    assert interrupted_run(RunState.COMPLETED, []) is None
