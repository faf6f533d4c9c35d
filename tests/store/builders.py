"""Journal records for tests: a run of the seed example (DESIGN §2 example 1), step by step."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.domain.plan import Plan
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.service.journal import Journal, OrderIntentRecord, OrderUpdate, RunStart
from tests.unit.domain.builders import perp, seed_snapshot, seed_strategy, snapshot

D = Decimal
T0 = datetime(2026, 1, 5, tzinfo=UTC)
STRATEGY_JSON = {"weights": {"BTC": "0.5", "ETH": "0.3333333333"}, "cash": "0.1666666667"}


def run_start(
    run_id: str = "r1",
    *,
    portfolio: str = "main",
    mode: str = "paper",
    trigger: str = "manual",
    at: datetime = T0,
) -> RunStart:
    return RunStart(run_id, portfolio, mode, trigger, "asked for", at, STRATEGY_JSON)


def seed_plan() -> Plan:
    return plan(seed_snapshot(), seed_strategy())


def after_snapshot() -> Snapshot:
    """The seed account once its two orders filled: short 0.02 BTC, long 0.4 ETH."""
    return snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [
            perp("BTC/USDT:USDT", "50000", "-0.02", min_notional="100"),
            perp("ETH/USDT:USDT", "2500", "0.4", min_notional="20"),
        ],
        "1999",
    )


def intents(run_id: str, planned: Plan) -> list[OrderIntentRecord]:
    return [
        OrderIntentRecord(
            client_id=f"{run_id}-{o.leg}",
            run_id=run_id,
            leg=o.leg,
            line=o.line,
            instrument=o.instrument,
            side=o.side,
            amount=o.amount,
            reduce_only=o.reduce_only,
            mark=o.mark,
        )
        for o in planned.orders
    ]


def full_cycle(journal: Journal, run_id: str = "r1", at: datetime = T0, **start: str) -> None:
    """A complete run whose orders fill in two steps each, at the mark, with a quote fee."""
    second = timedelta(seconds=1)
    journal.start_run(run_start(run_id, at=at, **start))
    journal.advance_run(run_id, RunState.SNAPSHOT, at)
    journal.record_snapshot(run_id, seed_snapshot(), phase="before")
    planned = seed_plan()
    journal.record_plan(run_id, planned)
    journal.advance_run(run_id, RunState.PLANNED, at)
    records = intents(run_id, planned)
    journal.record_intents(records, at + second)
    journal.advance_run(run_id, RunState.EXECUTING, at + second)
    for record in records:
        half = record.amount / 2
        journal.record_update(
            OrderUpdate(record.client_id, OrderStatus.ACCEPTED, at + second, exchange_id="x1")
        )
        journal.record_update(
            OrderUpdate(
                record.client_id,
                OrderStatus.PARTIALLY_FILLED,
                at + 2 * second,
                filled=half,
                average_price=record.mark,
                fee=D("0.1"),
                fee_currency="USDT",
            )
        )
        journal.record_update(
            OrderUpdate(
                record.client_id,
                OrderStatus.FILLED,
                at + 3 * second,
                filled=record.amount,
                average_price=record.mark,
                fee=D("0.2"),
                fee_currency="USDT",
            )
        )
    after = replace(after_snapshot(), taken_at=at + 4 * second)
    journal.record_snapshot(run_id, after, phase="after")
    journal.advance_run(run_id, RunState.COMPLETED, at + 4 * second)
