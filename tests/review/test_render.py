"""History and show render as tables that fit 100 columns and as stable JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from rich.console import Console

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.review import history, history_table, history_to_dict, run_to_dict, run_view, show
from rebalancer.service.journal import Event, OrderUpdate
from rebalancer.store import SqlJournal, Store
from tests.store.builders import T0, full_cycle, intents, run_start, seed_plan
from tests.unit.domain.builders import seed_snapshot


@pytest.fixture
def journaled(store: Store) -> Store:
    journal = SqlJournal(store)
    full_cycle(journal, "2026-01-05T00:00:00Z-main-calendar", mode="paper")
    full_cycle(journal, "r-live", at=T0.replace(day=6), mode="live", trigger="drift_check")
    journal.start_run(run_start("r-dry", mode="dry-run", at=T0.replace(day=7)))
    journal.advance_run("r-dry", RunState.SNAPSHOT, T0.replace(day=7))
    journal.record_plan("r-dry", seed_plan())
    journal.advance_run("r-dry", RunState.PLANNED, T0.replace(day=7))
    journal.advance_run("r-dry", RunState.COMPLETED, T0.replace(day=7))
    journal.record_event(Event("r-live", T0, "leverage_set", "set 1x on BTC/USDT:USDT"))
    return store


def _text(renderable: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("width", [100, 160])
def test_history_fits_the_terminal_and_marks_simulated_runs(journaled: Store, width: int) -> None:
    output = _text(history_table(history(journaled, limit=10)), width)

    assert max(len(line) for line in output.splitlines()) <= width
    assert "PAPER" in output
    assert "DRY-RUN" in output
    assert "LIVE" in output
    assert "2,000.00" in output
    assert "planned only, nothing placed" in output


def test_show_renders_every_section(journaled: Store) -> None:
    detail = show(journaled, "r-live")
    assert detail is not None
    output = _text(run_view(detail), 100)

    assert max(len(line) for line in output.splitlines()) <= 100
    for expected in ("Run r-live", "Plan lines", "Orders", "Events", "leverage_set", "residual"):
        assert expected in output


def test_show_says_a_dry_run_placed_nothing(journaled: Store) -> None:
    detail = show(journaled, "r-dry")
    assert detail is not None
    output = _text(run_view(detail), 100)
    assert "DRY RUN: the plan was recorded; no order was placed." in output
    assert "Planned notional 2,000.00 USDT" in output


def test_history_json_is_stable_with_numbers_as_strings(journaled: Store) -> None:
    document = history_to_dict(history(journaled, limit=10))

    assert list(document) == ["format", "runs"]
    assert document["format"] == "futures-rebalancer/history@1"
    first = document["runs"][0]
    assert list(first) == [
        "started_at",
        "run_id",
        "portfolio",
        "trigger",
        "mode",
        "state",
        "quote",
        "largest_drift_before",
        "largest_drift_after",
        "orders_count",
        "notional_traded",
        "fees",
    ]
    assert first["mode"] == "dry-run"
    assert first["notional_traded"] == "2000"
    assert document == history_to_dict(history(journaled, limit=10))


def test_run_json_is_plain_json(journaled: Store) -> None:
    detail = show(journaled, "r-live")
    assert detail is not None
    document = run_to_dict(detail)

    assert document["format"] == "futures-rebalancer/run@1"
    assert list(document) == [
        "format",
        "run",
        "strategy",
        "before",
        "after",
        "borrowing",
        "lines",
        "notes",
        "orders",
        "events",
        "residual",
        "largest_residual_drift",
    ]
    assert document["borrowing"] is None  # a segregated account borrows nothing
    again = json.loads(json.dumps(document))
    assert again == document
    assert again["orders"][0]["fills"][0] == {
        "quantity": "0.01",
        "price": "50000",
        "fee": "0.1",
        "fee_currency": "USDT",
        "at": "2026-01-06T00:00:02Z",
    }


def test_show_prints_prices_at_the_market_tick_and_fees_as_accounted(store: Store) -> None:
    journal = SqlJournal(store)
    at = T0
    journal.start_run(run_start("r-tick", at=at, mode="live"))
    before = seed_snapshot()
    ticked = {
        symbol: replace(state, rules=replace(state.rules, price_step=Decimal("0.1")))
        for symbol, state in before.perps.items()
    }
    journal.record_snapshot("r-tick", replace(before, perps=ticked), phase="before")
    planned = seed_plan()
    journal.record_plan("r-tick", planned)
    records = intents("r-tick", planned)
    journal.record_intents(records, at)
    for record in records:
        journal.record_update(
            OrderUpdate(
                record.client_id,
                OrderStatus.FILLED,
                at,
                filled=record.amount,
                average_price=Decimal("49093.609314"),
                fee=Decimal("0.466389288483"),
                fee_currency="USDT",
            )
        )
    detail = show(store, "r-tick")
    assert detail is not None

    output = _text(run_view(detail), 160)

    assert "49,093.6 " in output
    assert "49093.609314" not in output
    assert "0.46638929 USDT" in output
