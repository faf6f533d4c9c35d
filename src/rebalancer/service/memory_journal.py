"""An in-memory journal with the same rules as the SQL store, for service tests and demos."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rebalancer.domain.lifecycle import OrderStatus, RunState, next_order_status, next_run_state
from rebalancer.domain.plan import Plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.service.journal import (
    Event,
    OrderIntentRecord,
    OrderUpdate,
    RunStart,
    StoredOrder,
    StoredRun,
)


@dataclass
class MemoryJournal:
    runs: dict[str, StoredRun] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], Snapshot] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    orders: dict[str, StoredOrder] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    starts: dict[str, RunStart] = field(default_factory=dict)

    def start_run(self, run: RunStart) -> None:
        if run.run_id in self.runs:
            raise ValueError(f"run {run.run_id} exists")
        self.starts[run.run_id] = run
        self.runs[run.run_id] = StoredRun(
            run.run_id, run.portfolio, run.mode, RunState.STARTED, run.started_at
        )

    def advance_run(
        self, run_id: str, state: RunState, at: datetime, *, error: str | None = None
    ) -> None:
        run = self.runs[run_id]
        self.runs[run_id] = replace(run, state=next_run_state(run.state, state))
        if error:
            self.errors[run_id] = error

    def record_snapshot(self, run_id: str, snapshot: Snapshot, *, phase: str) -> None:
        self.snapshots[run_id, phase] = snapshot

    def record_plan(self, run_id: str, plan: Plan) -> None:
        self.plans[run_id] = plan

    def record_intents(self, intents: Sequence[OrderIntentRecord], at: datetime) -> None:
        for intent in intents:
            if intent.client_id in self.orders:
                raise ValueError(f"order {intent.client_id} exists")
        for intent in intents:
            self.orders[intent.client_id] = StoredOrder(
                intent, OrderStatus.SUBMITTING, None, intent.amount * 0, None, None, at
            )

    def record_update(self, update: OrderUpdate) -> None:
        order = self.orders[update.client_id]
        self.orders[update.client_id] = replace(
            order,
            status=next_order_status(order.status, update.status),
            exchange_id=update.exchange_id or order.exchange_id,
            filled=update.filled,
            average_price=update.average_price,
            fee=update.fee,
            updated_at=update.at,
        )

    def record_event(self, event: Event) -> None:
        self.events.append(event)

    def unfinished_runs(self, portfolio: str) -> list[StoredRun]:
        return sorted(
            (r for r in self.runs.values() if r.portfolio == portfolio and not r.state.terminal),
            key=lambda r: r.started_at,
        )

    def run_orders(self, run_id: str) -> list[StoredOrder]:
        return sorted(
            (o for o in self.orders.values() if o.intent.run_id == run_id),
            key=lambda o: o.intent.leg,
        )

    def latest_event(self, portfolio: str, kinds: Sequence[str]) -> Event | None:
        for event in reversed(self.events):
            run = self.runs.get(event.run_id)
            if event.kind in kinds and run is not None and run.portfolio == portfolio:
                return event
        return None
