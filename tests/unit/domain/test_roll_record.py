"""The roll's record and its progress (pure): what a run finishing a roll may still send.

A roll is recorded whole before its first order leaves; its progress is read from its orders'
journaled statuses. A spot order is sent again only if it never reached the journal or was
found never placed; anything the exchange answered is never sent twice, and an order of
unknown outcome stops everything until it is looked up.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rebalancer.domain.lifecycle import OrderStatus
from rebalancer.domain.plan import Side
from rebalancer.domain.roll import (
    RecordedLine,
    RecordedSpot,
    RollRecord,
    RollStage,
    SpotOrder,
    resumed_record,
    roll_progress,
)
from rebalancer.service.roll import record_from_data, record_to_data

D = Decimal


def _id(run: str, leg: int) -> str:
    return f"rb-{run}-{leg}"


SALE = SpotOrder(3, "BTC", "BTC", "BTC/USDT", Side.SELL, D("0.02"), D(50000))
PURCHASE = SpotOrder(4, "ETH", "ETH", "ETH/USDT", Side.BUY, D("0.3996"), D(2500))
RECORD = RollRecord(
    "r1",
    (
        RecordedLine("BTC", D(-1000), ("COLLATERAL",), (_id("r1", 1),)),
        RecordedLine("ETH", D(1000), ("COLLATERAL",), (_id("r1", 2),)),
    ),
    (RecordedSpot(_id("r1", 3), SALE), RecordedSpot(_id("r1", 4), PURCHASE)),
)
CLOSED = {_id("r1", 1): OrderStatus.FILLED, _id("r1", 2): OrderStatus.FILLED}


def test_before_its_closes_are_journaled_a_roll_is_void() -> None:
    assert roll_progress(RECORD, {}).stage is RollStage.VOID
    never = dict.fromkeys(CLOSED, OrderStatus.NOT_PLACED)
    assert roll_progress(RECORD, never).stage is RollStage.VOID


def test_closed_hedges_without_spot_orders_leave_every_spot_order_pending() -> None:
    progress = roll_progress(RECORD, CLOSED)
    assert progress.stage is RollStage.PENDING
    assert progress.closed == ("BTC", "ETH")
    assert progress.pending == (SALE, PURCHASE)


def test_a_spot_order_found_never_placed_is_pending_and_a_filled_one_is_not() -> None:
    statuses = {
        **CLOSED,
        _id("r1", 3): OrderStatus.FILLED,
        _id("r1", 4): OrderStatus.NOT_PLACED,
    }
    assert roll_progress(RECORD, statuses).pending == (PURCHASE,)


def test_an_unknown_outcome_anywhere_stops_the_roll() -> None:
    for client_id in RECORD.client_ids:
        for status in (OrderStatus.SUBMITTING, OrderStatus.UNKNOWN):
            progress = roll_progress(RECORD, {**CLOSED, client_id: status})
            assert progress.stage is RollStage.UNRESOLVED
            assert progress.pending == ()


def test_a_line_whose_close_did_not_fill_trades_no_spot() -> None:
    statuses = {_id("r1", 1): OrderStatus.FILLED, _id("r1", 2): OrderStatus.REJECTED}
    progress = roll_progress(RECORD, statuses)
    assert progress.closed == ("BTC",)
    assert progress.pending == (SALE,)


def test_the_finishing_record_sends_under_its_own_client_ids_from_leg_one() -> None:
    progress = roll_progress(RECORD, {**CLOSED, _id("r1", 3): OrderStatus.FILLED})
    again = resumed_record(RECORD, progress, "r2", _id)
    assert again.resumes == "r1"
    assert [(s.client_id, s.order.leg, s.order.asset) for s in again.spot] == [
        ("rb-r2-1", 1, "ETH")
    ]
    assert all(line.closed and not line.closes for line in again.lines)
    # Finishing the finisher: still the first run's roll, its lines still closed.
    assert roll_progress(again, {}).pending == (again.spot[0].order,)
    third = resumed_record(again, roll_progress(again, {}), "r3", _id)
    assert third.resumes == "r1"


def test_the_record_survives_the_journal_as_written() -> None:
    assert record_from_data(record_to_data(RECORD)) == RECORD


STATUSES = st.sampled_from([None, *OrderStatus])


@given(st.lists(STATUSES, min_size=4, max_size=4))
def test_nothing_the_exchange_answered_is_sent_again(
    drawn: list[OrderStatus | None],
) -> None:
    statuses = {c: s for c, s in zip(RECORD.client_ids, drawn, strict=True) if s is not None}
    progress = roll_progress(RECORD, statuses)
    if any(s.needs_resolution for s in statuses.values()):
        assert progress.stage is RollStage.UNRESOLVED
    sent_again = {_id("r1", o.leg) for o in progress.pending}
    for client_id in sent_again:
        assert statuses.get(client_id) in (None, OrderStatus.NOT_PLACED)
    for line in RECORD.lines:
        if line.line in progress.closed:
            assert all(statuses.get(c) is OrderStatus.FILLED for c in line.closes)
    assert {o.line for o in progress.pending} <= set(progress.closed)
    assert (progress.stage is RollStage.PENDING) == bool(progress.pending)
