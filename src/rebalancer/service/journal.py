"""The journal port: what a cycle records, and what recovery reads back.

Every step of a run is written through this interface; the SQL store implements it (SQLite or
PostgreSQL), and `MemoryJournal` is the in-process fake used by service tests. Order intents are
committed before their request leaves; each exchange answer is recorded in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.domain.plan import Plan, Side
from rebalancer.domain.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class RunStart:
    run_id: str
    portfolio: str
    mode: str  # live | paper | dry-run
    trigger: str  # calendar | drift_check | manual
    reason: str
    started_at: datetime
    strategy: Mapping[str, Any] = field(default_factory=dict)  # JSON form, to recompute the plan


@dataclass(frozen=True, slots=True)
class OrderIntentRecord:
    """An order as planned, with the client id it is sent under."""

    client_id: str
    run_id: str
    leg: int
    line: str
    instrument: str
    side: Side
    amount: Decimal  # contracts
    reduce_only: bool
    mark: Decimal  # price the plan expected


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """What the exchange said about an order (or what reconciliation concluded)."""

    client_id: str
    status: OrderStatus
    at: datetime
    exchange_id: str | None = None
    filled: Decimal = Decimal(0)  # cumulative, contracts
    average_price: Decimal | None = None
    fee: Decimal | None = None
    fee_currency: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    run_id: str
    at: datetime
    kind: str  # snake_case past tense, e.g. "leverage_set", "order_unresolved"
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order as the journal holds it."""

    intent: OrderIntentRecord
    status: OrderStatus
    exchange_id: str | None
    filled: Decimal
    average_price: Decimal | None
    fee: Decimal | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredRun:
    run_id: str
    portfolio: str
    mode: str
    state: RunState
    started_at: datetime
    writer: str | None = None  # "<pid>@<host>" of the process that ran it, where recorded
    writer_alive: bool = False  # that process (not this one) is still running


class JournalUnavailable(Exception):  # noqa: N818 - named for the situation
    """The journal database failed a read or write: unreachable, full, read-only, corrupt.

    `cause` is a short phrase for people ("disk full", "connection refused"). A cycle adds
    which run it interrupted and whether that run may have sent orders (`during`).
    """

    def __init__(
        self,
        where: str,
        cause: str,
        *,
        run_id: str | None = None,
        orders_may_be_sent: bool = False,
    ) -> None:
        self.where = where  # the database, without a password
        self.cause = cause
        self.run_id = run_id
        self.orders_may_be_sent = orders_may_be_sent
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"journal {self.where} failed: {self.cause}"
        if self.run_id is None:
            return text
        if self.orders_may_be_sent:
            return (
                f"{text}; run {self.run_id} may have sent orders: the next start (or "
                "`rebalancer reconcile`) looks them up on the exchange and records them"
            )
        return f"{text}; run {self.run_id} sent no order"

    def during(self, run_id: str, *, orders_may_be_sent: bool) -> JournalUnavailable:
        """The same failure, told as the interruption of `run_id`."""
        return type(self)(
            self.where, self.cause, run_id=run_id, orders_may_be_sent=orders_may_be_sent
        )


class WriterLockLost(JournalUnavailable):
    """This process is no longer the portfolio's writer: its lock died (a killed session, a
    server restart, a replaced lock file). Nothing was written; the holder must stop trading
    and take the lock again before any exchange write, or give way."""


class Journal(Protocol):
    """Write-ahead record of runs; every method commits before it returns."""

    def start_run(self, run: RunStart) -> None: ...

    def advance_run(
        self, run_id: str, state: RunState, at: datetime, *, error: str | None = None
    ) -> None:
        """Move a run through its state machine (an illegal move raises)."""
        ...

    def record_snapshot(self, run_id: str, snapshot: Snapshot, *, phase: str) -> None:
        """phase: "before" (what was planned from) or "after" (post-trade)."""
        ...

    def record_plan(self, run_id: str, plan: Plan) -> None: ...

    def record_intents(self, intents: Sequence[OrderIntentRecord], at: datetime) -> None:
        """Commit orders as SUBMITTING, in one transaction, before any of them is sent."""
        ...

    def record_update(self, update: OrderUpdate) -> None:
        """Commit one exchange answer (an illegal status move raises)."""
        ...

    def record_event(self, event: Event) -> None: ...

    def unfinished_runs(self, portfolio: str) -> list[StoredRun]:
        """Runs not in a terminal state, oldest first."""
        ...

    def run_orders(self, run_id: str) -> list[StoredOrder]: ...

    def latest_event(self, portfolio: str, kinds: Sequence[str]) -> Event | None:
        """The portfolio's most recent event of one of `kinds` (None: there is none); how a
        run finds a roll another run left unfinished."""
        ...
