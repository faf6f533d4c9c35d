"""What the SQL journal adds to the contract: durability, fills, review columns, exact storage."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.service.journal import Event, OrderUpdate
from rebalancer.snapshot_file import parse_snapshot
from rebalancer.store import SqlJournal, Store
from rebalancer.store.tables import EventRow, FillRow, PlanLineRow, RunRow, SnapshotRow
from tests.store.builders import T0, full_cycle, intents, run_start, seed_plan
from tests.unit.domain.builders import seed_snapshot

D = Decimal


def _count_from_another_connection(store: Store, sql: str) -> int:
    # A separate engine: nothing shared with the journal's pool or transaction.
    other = create_engine(store.url, poolclass=NullPool)
    try:
        with other.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        other.dispose()


def test_intents_are_committed_when_record_intents_returns(store: Store) -> None:
    journal = SqlJournal(store)
    journal.start_run(run_start("r1"))
    journal.record_intents(intents("r1", seed_plan()), T0)

    assert _count_from_another_connection(store, "SELECT count(*) FROM orders") == 2


def test_each_update_is_committed_when_it_returns(store: Store) -> None:
    journal = SqlJournal(store)
    journal.start_run(run_start("r1"))
    record = intents("r1", seed_plan())[0]
    journal.record_intents([record], T0)
    journal.record_update(OrderUpdate(record.client_id, OrderStatus.ACCEPTED, T0, "ex-9"))

    sql = "SELECT count(*) FROM orders WHERE status = 'accepted' AND exchange_id = 'ex-9'"
    assert _count_from_another_connection(store, sql) == 1


def test_each_increase_of_the_filled_amount_is_a_fill(store: Store) -> None:
    journal = SqlJournal(store)
    journal.start_run(run_start("r1"))
    record = intents("r1", seed_plan())[0]
    journal.record_intents([record], T0)
    for filled, average, fee in (("0.005", "100", "0.1"), ("0.015", "102", "0.3")):
        update = OrderUpdate(
            record.client_id,
            OrderStatus.PARTIALLY_FILLED,
            T0,
            filled=D(filled),
            average_price=D(average),
            fee=D(fee),
            fee_currency="USDT",
        )
        journal.record_update(update)
        journal.record_update(update)  # a repeated answer adds no fill

    with Session(store.engine) as session:
        fills = session.scalars(select(FillRow).order_by(FillRow.id)).all()
    assert [(f.quantity, f.price, f.fee) for f in fills] == [
        (D("0.005"), D("100"), D("0.1")),
        (D("0.010"), D("103"), D("0.2")),  # 0.015 x 102 = 0.005 x 100 + 0.010 x 103
    ]


def test_a_finished_run_carries_its_review_figures(store: Store) -> None:
    full_cycle(SqlJournal(store), "r1")

    with Session(store.engine) as session:
        run = session.get_one(RunRow, "r1")
    assert run.state == "completed"
    assert run.finished_at is not None
    assert run.finished_at > run.started_at
    assert run.largest_drift_before == seed_plan().largest_drift_before
    assert run.largest_drift_after == 0
    assert run.orders_count == 2
    assert run.notional_traded == D(2000)
    assert run.fees == D("0.4")
    assert run.plan is not None
    assert run.plan["format"] == "futures-rebalancer/plan@1"
    assert run.strategy == run_start().strategy


def test_a_planned_dry_run_keeps_the_plans_figures(store: Store) -> None:
    journal = SqlJournal(store)
    journal.start_run(run_start("r1", mode="dry-run"))
    journal.advance_run("r1", RunState.SNAPSHOT, T0)
    journal.record_plan("r1", seed_plan())
    journal.advance_run("r1", RunState.PLANNED, T0)
    journal.advance_run("r1", RunState.COMPLETED, T0)

    with Session(store.engine) as session:
        run = session.get_one(RunRow, "r1")
    assert (run.orders_count, run.notional_traded, run.fees) == (2, D(2000), None)


def test_the_snapshot_is_stored_whole_and_reads_back_equal(store: Store) -> None:
    journal = SqlJournal(store)
    journal.start_run(run_start("r1"))
    journal.record_snapshot("r1", seed_snapshot(), phase="before")

    with Session(store.engine) as session:
        row = session.get_one(SnapshotRow, ("r1", "before"))
    assert parse_snapshot(json.dumps(row.document)) == seed_snapshot()
    assert row.taken_at == seed_snapshot().taken_at


def test_plan_lines_keep_their_exact_numbers_and_reasons(store: Store) -> None:
    journal = SqlJournal(store)
    journal.start_run(run_start("r1"))
    planned = seed_plan()
    journal.record_plan("r1", planned)
    journal.record_plan("r1", planned)  # recorded again: replaced, not doubled

    with Session(store.engine) as session:
        lines = session.scalars(select(PlanLineRow).order_by(PlanLineRow.position)).all()
    assert [line.name for line in lines] == [line.name for line in planned.lines]
    assert [line.drift_before for line in lines] == [line.drift_before for line in planned.lines]
    assert [tuple(line.reasons) for line in lines] == [line.reasons for line in planned.lines]


def test_an_unknown_snapshot_phase_is_refused(store: Store) -> None:
    journal = SqlJournal(store)
    journal.start_run(run_start("r1"))
    with pytest.raises(ValueError, match="phase"):
        journal.record_snapshot("r1", seed_snapshot(), phase="during")


def test_records_for_an_unknown_run_are_refused(store: Store) -> None:
    journal = SqlJournal(store)
    with pytest.raises(KeyError):
        journal.record_event(Event("nope", T0, "x_happened", "x"))
    with pytest.raises(KeyError):
        journal.record_intents(intents("nope", seed_plan()), T0)
    with pytest.raises(KeyError):
        journal.record_snapshot("nope", seed_snapshot(), phase="before")
    with pytest.raises(KeyError):
        journal.record_plan("nope", seed_plan())


def test_event_data_keeps_decimals_exactly(store: Store) -> None:
    journal = SqlJournal(store)
    journal.start_run(run_start("r1"))
    journal.record_event(Event("r1", T0, "leverage_set", "set", {"x": D("0.1000"), "n": 1}))

    with Session(store.engine) as session:
        [event] = session.scalars(select(EventRow)).all()
    assert event.data == {"x": "0.1000", "n": 1}
