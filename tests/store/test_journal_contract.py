"""The journal contract: `MemoryJournal` and `SqlJournal` (SQLite, PostgreSQL) behave alike.

Service tests run on the in-memory fake; these tests are what makes that trustworthy.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from rebalancer.domain.lifecycle import IllegalTransition, OrderStatus, RunState
from rebalancer.service.journal import Event, Journal, OrderUpdate
from rebalancer.service.memory_journal import MemoryJournal
from rebalancer.store import SqlJournal, open_store, upgrade
from tests.store.builders import T0, intents, run_start, seed_plan
from tests.store.databases import empty_database
from tests.unit.domain.builders import seed_snapshot

D = Decimal
S = timedelta(seconds=1)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest) -> Iterator[Journal]:
    if request.param == "memory":
        yield MemoryJournal()
        return
    with empty_database(request.param, request) as url:
        upgrade(url)
        with open_store(url) as store:
            yield SqlJournal(store)


def _planned_run(journal: Journal, run_id: str = "r1") -> None:
    journal.start_run(run_start(run_id))
    journal.advance_run(run_id, RunState.SNAPSHOT, T0)
    journal.record_snapshot(run_id, seed_snapshot(), phase="before")
    journal.record_plan(run_id, seed_plan())
    journal.advance_run(run_id, RunState.PLANNED, T0)


def test_a_started_run_is_unfinished(journal: Journal) -> None:
    journal.start_run(run_start("r1"))

    [run] = journal.unfinished_runs("main")
    assert (run.run_id, run.portfolio, run.mode, run.state) == (
        "r1",
        "main",
        "paper",
        RunState.STARTED,
    )
    assert run.started_at == T0


def test_starting_a_run_twice_raises(journal: Journal) -> None:
    journal.start_run(run_start("r1"))
    with pytest.raises(ValueError, match="r1 exists"):
        journal.start_run(run_start("r1"))


def test_unfinished_runs_are_the_portfolios_non_terminal_runs_oldest_first(
    journal: Journal,
) -> None:
    journal.start_run(run_start("late", at=T0 + 2 * S))
    journal.start_run(run_start("early", at=T0))
    journal.start_run(run_start("done", at=T0 + S))
    journal.start_run(run_start("other", portfolio="second", at=T0))
    journal.advance_run("done", RunState.SKIPPED, T0 + S)

    assert [r.run_id for r in journal.unfinished_runs("main")] == ["early", "late"]
    assert [r.run_id for r in journal.unfinished_runs("second")] == ["other"]
    assert journal.unfinished_runs("nobody") == []


def test_a_run_moves_through_its_states(journal: Journal) -> None:
    _planned_run(journal)
    journal.advance_run("r1", RunState.EXECUTING, T0 + S)
    assert journal.unfinished_runs("main")[0].state is RunState.EXECUTING

    journal.advance_run("r1", RunState.FAILED, T0 + 2 * S, error="exchange down")
    assert journal.unfinished_runs("main") == []


def test_an_illegal_run_move_raises_and_changes_nothing(journal: Journal) -> None:
    journal.start_run(run_start("r1"))
    with pytest.raises(IllegalTransition, match="started to executing"):
        journal.advance_run("r1", RunState.EXECUTING, T0)
    assert journal.unfinished_runs("main")[0].state is RunState.STARTED


def test_a_finished_run_cannot_move(journal: Journal) -> None:
    journal.start_run(run_start("r1"))
    journal.advance_run("r1", RunState.SKIPPED, T0)
    with pytest.raises(IllegalTransition):
        journal.advance_run("r1", RunState.FAILED, T0)


def test_advancing_an_unknown_run_raises(journal: Journal) -> None:
    with pytest.raises(KeyError):
        journal.advance_run("nope", RunState.SNAPSHOT, T0)


def test_intents_are_recorded_as_submitting_in_leg_order(journal: Journal) -> None:
    _planned_run(journal)
    records = intents("r1", seed_plan())
    journal.record_intents(list(reversed(records)), T0 + S)

    orders = journal.run_orders("r1")
    assert [o.intent for o in orders] == records
    assert all(o.status is OrderStatus.SUBMITTING for o in orders)
    assert all(o.filled == 0 and o.exchange_id is None and o.fee is None for o in orders)
    assert all(o.updated_at == T0 + S for o in orders)
    assert journal.run_orders("other") == []


def test_a_batch_with_a_known_client_id_is_refused_whole(journal: Journal) -> None:
    _planned_run(journal)
    first, second = intents("r1", seed_plan())
    journal.record_intents([first], T0)

    with pytest.raises(ValueError, match=f"order {first.client_id} exists"):
        journal.record_intents([second, first], T0)
    assert [o.intent for o in journal.run_orders("r1")] == [first]


def test_updates_follow_the_order_through_fills(journal: Journal) -> None:
    _planned_run(journal)
    record = intents("r1", seed_plan())[0]
    journal.record_intents([record], T0)

    journal.record_update(OrderUpdate(record.client_id, OrderStatus.ACCEPTED, T0 + S, "ex-1"))
    journal.record_update(
        OrderUpdate(
            record.client_id,
            OrderStatus.PARTIALLY_FILLED,
            T0 + 2 * S,
            filled=D("0.010"),
            average_price=D("50000"),
            fee=D("0.2"),
            fee_currency="USDT",
        )
    )
    journal.record_update(
        OrderUpdate(
            record.client_id,
            OrderStatus.FILLED,
            T0 + 3 * S,
            filled=D("0.020"),
            average_price=D("50001.5"),
            fee=D("0.4000001"),
        )
    )

    [order] = journal.run_orders("r1")
    assert order.status is OrderStatus.FILLED
    assert order.exchange_id == "ex-1"  # kept when a later answer omits it
    assert (order.filled, order.average_price, order.fee) == (
        D("0.020"),
        D("50001.5"),
        D("0.4000001"),
    )
    assert order.updated_at == T0 + 3 * S


def test_repeating_a_status_is_allowed(journal: Journal) -> None:
    _planned_run(journal)
    record = intents("r1", seed_plan())[0]
    journal.record_intents([record], T0)
    journal.record_update(OrderUpdate(record.client_id, OrderStatus.UNKNOWN, T0))
    journal.record_update(OrderUpdate(record.client_id, OrderStatus.UNKNOWN, T0 + S))
    assert journal.run_orders("r1")[0].status is OrderStatus.UNKNOWN


def test_an_illegal_order_move_raises_and_changes_nothing(journal: Journal) -> None:
    _planned_run(journal)
    record = intents("r1", seed_plan())[0]
    journal.record_intents([record], T0)
    journal.record_update(OrderUpdate(record.client_id, OrderStatus.REJECTED, T0, error="no"))

    with pytest.raises(IllegalTransition, match="rejected to filled"):
        journal.record_update(
            OrderUpdate(record.client_id, OrderStatus.FILLED, T0 + S, filled=D(1))
        )
    [order] = journal.run_orders("r1")
    assert (order.status, order.filled, order.updated_at) == (OrderStatus.REJECTED, D(0), T0)


def test_updating_an_unknown_order_raises(journal: Journal) -> None:
    with pytest.raises(KeyError):
        journal.record_update(OrderUpdate("nope", OrderStatus.ACCEPTED, T0))


def test_snapshots_plans_and_events_are_accepted_for_a_started_run(journal: Journal) -> None:
    journal.start_run(run_start("r1"))
    journal.record_snapshot("r1", seed_snapshot(), phase="before")
    journal.record_snapshot("r1", seed_snapshot(), phase="before")  # a retried step overwrites
    journal.record_plan("r1", seed_plan())
    journal.record_event(Event("r1", T0, "leverage_set", "1x on BTC/USDT:USDT", {"leverage": 1}))
    assert journal.unfinished_runs("main")[0].state is RunState.STARTED


def test_the_latest_event_of_some_kinds_is_the_portfolios_newest(journal: Journal) -> None:
    journal.start_run(run_start("r1"))
    journal.start_run(run_start("r2", at=T0 + S))
    journal.start_run(run_start("other", portfolio="else", at=T0 + 2 * S))
    assert journal.latest_event("main", ("roll_planned", "roll_finished")) is None
    data = {"run_id": "r1", "spot": [{"quantity": "0.02"}]}
    journal.record_event(Event("r1", T0, "roll_planned", "recorded", data))
    journal.record_event(Event("r2", T0 + S, "policy_roll_idle", "no condition"))
    journal.record_event(Event("other", T0 + 2 * S, "roll_finished", "another portfolio's"))

    found = journal.latest_event("main", ("roll_planned", "roll_finished"))
    assert found is not None
    assert (found.run_id, found.kind, found.at) == ("r1", "roll_planned", T0)
    assert found.data == data  # read back as written, quantities as strings

    journal.record_event(Event("r2", T0 + 3 * S, "roll_finished", "done", {"roll": "r1"}))
    latest = journal.latest_event("main", ("roll_planned", "roll_finished"))
    assert latest is not None
    assert (latest.run_id, latest.kind) == ("r2", "roll_finished")
    assert journal.latest_event("main", ("policy_roll_idle",)) is not None
    assert journal.latest_event("else", ("roll_planned",)) is None
