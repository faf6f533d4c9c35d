"""`SqlJournal`: the `Journal` port over SQLite or PostgreSQL, with the in-memory fake's rules.

Each method is one transaction that has committed when the method returns: order intents are
durable before any request leaves, and every exchange answer is its own commit, so a crash
loses at most the answer being written. State moves go through the domain's transition tables
(an illegal one raises before anything is written). When an order's cumulative fill grows, the
increment is kept as a fill row. When a run ends, its review columns are recomputed from what
was actually executed. Writes use prepared Core statements on the mapped tables: a cycle makes
a dozen commits, and the ORM's unit of work would cost more than the fsyncs.

Once `fence`d with the writer lock's lease, a run's start and every batch of order intents
commit only while this process still holds the lock (checked in the same transaction), and each
run records its writer, so recovery can tell a dead writer's run from a live one's. Answers
from the exchange are facts and are recorded whoever writes them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from rebalancer.domain.lifecycle import OrderStatus, RunState, next_order_status, next_run_state
from rebalancer.domain.plan import Plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.render.plan_json import plan_to_dict
from rebalancer.service.journal import (
    Event,
    OrderIntentRecord,
    OrderUpdate,
    RunStart,
    StoredOrder,
    StoredRun,
)
from rebalancer.snapshot_file import snapshot_to_dict
from rebalancer.store import rows
from rebalancer.store.engine import Store
from rebalancer.store.locks import Fence, writer_alive
from rebalancer.store.tables import (
    EventRow,
    FillRow,
    OrderRow,
    PlanLineRow,
    PortfolioRow,
    RunRow,
    SnapshotRow,
)

PHASES = ("before", "after")
_TERMINAL = tuple(s.value for s in RunState if s.terminal)

# Built once: statement construction and cache-key work dominate a small write otherwise.
_RUN = select(RunRow.state, RunRow.quote).where(RunRow.run_id == bindparam("key"))
_RUN_FOR_UPDATE = _RUN.with_for_update()
_UPDATE_RUN = update(RunRow).where(RunRow.run_id == bindparam("key"))
_ORDER = (
    select(
        OrderRow.status,
        OrderRow.filled,
        OrderRow.average_price,
        OrderRow.fee,
        OrderRow.fee_currency,
        OrderRow.exchange_id,
        OrderRow.error,
    )
    .where(OrderRow.client_id == bindparam("key"))
    .with_for_update()
)
_UPDATE_ORDER = update(OrderRow).where(OrderRow.client_id == bindparam("key"))
_RUN_ORDERS = select(
    OrderRow.instrument,
    OrderRow.filled,
    OrderRow.average_price,
    OrderRow.fee,
    OrderRow.fee_currency,
).where(OrderRow.run_id == bindparam("key"))
_BEFORE = select(SnapshotRow.document).where(
    SnapshotRow.run_id == bindparam("key"), SnapshotRow.phase == "before"
)
_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_INSERT_RUN = insert(RunRow)
_INSERT_PLAN_LINES = insert(PlanLineRow)
_DELETE_PLAN_LINES = delete(PlanLineRow).where(PlanLineRow.run_id == bindparam("key"))
_INSERT_ORDERS = insert(OrderRow)
_TAKEN_IDS = select(OrderRow.client_id).where(
    OrderRow.client_id.in_(bindparam("ids", expanding=True))
)
_INSERT_FILL = insert(FillRow)
_INSERT_EVENT = insert(EventRow)


class SqlJournal:
    """The write-ahead journal in a database opened with `open_store`."""

    def __init__(self, store: Store, fence: Fence | None = None) -> None:
        self._store = store
        self._fence = fence
        dialect_insert: Any = _DIALECT_INSERT[store.dialect]
        self._add_portfolio = dialect_insert(PortfolioRow).on_conflict_do_nothing(
            index_elements=["name"]
        )
        snapshot = dialect_insert(SnapshotRow)
        # A retried step records its snapshot again: the later one wins, as in MemoryJournal.
        self._put_snapshot = snapshot.on_conflict_do_update(
            index_elements=["run_id", "phase"],
            set_={"taken_at": snapshot.excluded.taken_at, "document": snapshot.excluded.document},
        )

    def fence(self, fence: Fence) -> None:
        """From now on commit new work only while `fence` says this process is the writer."""
        self._fence = fence

    def _check_writer(self, conn: Connection) -> None:
        if self._fence is not None:
            self._fence.check(conn)

    def start_run(self, run: RunStart) -> None:
        writer = None if self._fence is None else self._fence.writer
        try:
            with self._store.write_connection() as conn:
                self._check_writer(conn)
                conn.execute(
                    self._add_portfolio, {"name": run.portfolio, "created_at": run.started_at}
                )
                conn.execute(_INSERT_RUN, {**rows.run_values(run), "writer": writer})
        except IntegrityError:
            # The portfolio insert cannot conflict, so the run's primary key did.
            raise ValueError(f"run {run.run_id} exists") from None

    def advance_run(
        self, run_id: str, state: RunState, at: datetime, *, error: str | None = None
    ) -> None:
        with self._store.write_connection() as conn:
            current = _run(conn, run_id, lock=True)
            values: dict[str, Any] = {
                "key": run_id,
                "state": next_run_state(RunState(current.state), state).value,
                "updated_at": at,
            }
            if error:
                values["error"] = error
            if state.terminal:
                values["finished_at"] = at
                values.update(_executed_figures(conn, run_id, current.quote))
            conn.execute(_UPDATE_RUN, values)

    def record_snapshot(self, run_id: str, snapshot: Snapshot, *, phase: str) -> None:
        if phase not in PHASES:
            raise ValueError(f"snapshot phase must be one of {PHASES}, got {phase!r}")
        values = {
            "run_id": run_id,
            "phase": phase,
            "taken_at": snapshot.taken_at,
            "document": snapshot_to_dict(snapshot),
        }
        with _unknown_run_is_key_error(run_id), self._store.write_connection() as conn:
            conn.execute(self._put_snapshot, values)

    def record_plan(self, run_id: str, plan: Plan) -> None:
        figures = {
            "key": run_id,
            "plan": plan_to_dict(plan),
            "quote": plan.quote,
            "largest_drift_before": plan.largest_drift_before,
            "largest_drift_after": plan.largest_drift_after,
            # What the plan intends; replaced by what was executed when the run ends.
            "orders_count": len(plan.orders),
            "notional_traded": plan.traded_notional,
            "fees": None,
        }
        with self._store.write_connection() as conn:
            if conn.execute(_UPDATE_RUN, figures).rowcount == 0:
                raise KeyError(run_id)
            conn.execute(_DELETE_PLAN_LINES, {"key": run_id})
            if plan.lines:
                conn.execute(_INSERT_PLAN_LINES, rows.plan_line_values(run_id, plan))

    def record_intents(self, intents: Sequence[OrderIntentRecord], at: datetime) -> None:
        if not intents:
            return
        ids = [i.client_id for i in intents]
        if len(set(ids)) != len(ids):
            raise ValueError("client ids repeat within one batch of intents")
        runs = ", ".join(sorted({i.run_id for i in intents}))
        with _unknown_run_is_key_error(runs), self._store.write_connection() as conn:
            self._check_writer(conn)  # in the intents' transaction: no stale writer sends
            for client_id in conn.scalars(_TAKEN_IDS, {"ids": ids}):
                raise ValueError(f"order {client_id} exists")
            conn.execute(_INSERT_ORDERS, [rows.order_values(i, at) for i in intents])

    def record_update(self, update: OrderUpdate) -> None:
        with self._store.write_connection() as conn:
            order = conn.execute(_ORDER, {"key": update.client_id}).first()
            if order is None:
                raise KeyError(update.client_id)
            status = next_order_status(OrderStatus(order.status), update.status)
            if update.filled > order.filled:
                conn.execute(_INSERT_FILL, _fill(update, order))
            conn.execute(
                _UPDATE_ORDER,
                {
                    "key": update.client_id,
                    "status": status.value,
                    "exchange_id": update.exchange_id or order.exchange_id,
                    "filled": update.filled,
                    "average_price": update.average_price,
                    "fee": update.fee,
                    "fee_currency": update.fee_currency or order.fee_currency,
                    "error": update.error or order.error,
                    "updated_at": update.at,
                },
            )

    def record_event(self, event: Event) -> None:
        values = {
            "run_id": event.run_id,
            "at": event.at,
            "kind": event.kind,
            "message": event.message,
            "data": dict(event.data),
        }
        with _unknown_run_is_key_error(event.run_id), self._store.write_connection() as conn:
            conn.execute(_INSERT_EVENT, values)

    def unfinished_runs(self, portfolio: str) -> list[StoredRun]:
        query = (
            select(RunRow)
            .where(RunRow.portfolio == portfolio, RunRow.state.not_in(_TERMINAL))
            .order_by(RunRow.started_at, RunRow.run_id)
        )
        with self._store.read() as session:
            runs = [rows.stored_run(r) for r in session.scalars(query)]
        return [
            replace(run, writer_alive=True) if run.writer and writer_alive(run.writer) else run
            for run in runs
        ]

    def run_orders(self, run_id: str) -> list[StoredOrder]:
        query = (
            select(OrderRow)
            .where(OrderRow.run_id == run_id)
            .order_by(OrderRow.leg, OrderRow.client_id)
        )
        with self._store.read() as session:
            return [rows.stored_order(r) for r in session.scalars(query)]

    def latest_event(self, portfolio: str, kinds: Sequence[str]) -> Event | None:
        query = (
            select(EventRow)
            .join(RunRow, RunRow.run_id == EventRow.run_id)
            .where(RunRow.portfolio == portfolio, EventRow.kind.in_(list(kinds)))
            .order_by(EventRow.id.desc())
            .limit(1)
        )
        with self._store.read() as session:
            row = session.scalars(query).first()
            if row is None:
                return None
            return Event(row.run_id, row.at, row.kind, row.message, dict(row.data or {}))


def _run(conn: Connection, run_id: str, *, lock: bool = False) -> Row[*tuple[Any, ...]]:
    row = conn.execute(_RUN_FOR_UPDATE if lock else _RUN, {"key": run_id}).first()
    if row is None:
        raise KeyError(run_id)
    return row


@contextmanager
def _unknown_run_is_key_error(run_id: str) -> Iterator[None]:
    # Rows that only reference a run can break no other constraint than that foreign key:
    # letting the database check it saves a query on every write of the cycle.
    try:
        yield
    except IntegrityError:
        raise KeyError(run_id) from None


def _fill(update: OrderUpdate, order: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    return {
        "client_id": update.client_id,
        "quantity": update.filled - order.filled,
        "price": rows.increment_price(
            order.filled, order.average_price, update.filled, update.average_price
        ),
        "fee": None if update.fee is None else update.fee - (order.fee or 0),
        "fee_currency": update.fee_currency or order.fee_currency,
        "at": update.at,
    }


def _executed_figures(conn: Connection, run_id: str, quote: str | None) -> dict[str, Any]:
    """What was executed, replacing the plan's intended figures, if any order was placed."""
    orders = conn.execute(_RUN_ORDERS, {"key": run_id}).all()
    if not orders:
        return {}
    document = conn.scalar(_BEFORE, {"key": run_id})
    perps: dict[str, Any] = document.get("perps", {}) if document else {}
    notional = Decimal(0)
    fees = Decimal(0)
    for order in orders:
        if order.average_price is not None and order.filled:
            size = Decimal(perps.get(order.instrument, {}).get("contract_size", "1"))
            notional += order.filled * size * order.average_price
        # Fees in another currency (e.g. a discount token) are shown per order, not summed.
        if order.fee is not None and order.fee_currency in (None, quote):
            fees += order.fee
    return {"orders_count": len(orders), "notional_traded": notional, "fees": fees}
