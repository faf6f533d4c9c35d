"""A wake-up that loses the journal: one event, the circuit opened and announced once, and the
daemon's own recovery (circuit persisted, open runs reconciled) when the database is back.

In-process, with the real ccxt client against the emulator; the database failure is the
journal port's own `JournalUnavailable`, raised by fakes that can be switched off and on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from rebalancer.config import load_settings
from rebalancer.daemon.wake import Waker
from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import Emulator
from rebalancer.notify import NotificationKind, Severity
from rebalancer.service.controls import Controls, MemoryControls
from rebalancer.service.journal import (
    JournalUnavailable,
    OrderIntentRecord,
    OrderUpdate,
    RunStart,
    StoredRun,
)
from rebalancer.service.memory_journal import MemoryJournal
from tests.daemon.process_harness import write_daemon_config
from tests.daemon.recorder import Recorder
from tests.integration.harness import ENV, gateway_for, order_count, seed_state

REFUSED = "connection refused (connection failed: Connection refused)"


class Database:
    up = True

    def gate(self) -> None:
        if not self.up:
            raise JournalUnavailable("postgresql://db/journal", REFUSED)


class FlakyJournal(MemoryJournal):
    """The journal of a database that goes away once the order intents are written."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def start_run(self, run: RunStart) -> None:
        self.db.gate()
        super().start_run(run)

    def record_intents(self, intents: Sequence[OrderIntentRecord], at: datetime) -> None:
        self.db.gate()
        super().record_intents(intents, at)
        self.db.up = False  # the answers will find no database

    def record_update(self, update: OrderUpdate) -> None:
        self.db.gate()
        super().record_update(update)

    def unfinished_runs(self, portfolio: str) -> list[StoredRun]:
        self.db.gate()
        return super().unfinished_runs(portfolio)


class FlakyControls(MemoryControls):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def load(self, portfolio: str) -> Controls:
        self.db.gate()
        return super().load(portfolio)

    def save(self, portfolio: str, controls: Controls) -> None:
        self.db.gate()
        super().save(portfolio, controls)


def _now() -> datetime:
    return datetime.now(UTC)


def test_an_outage_is_announced_once_and_healed_at_the_first_wake_after_it(
    tmp_path: Path,
) -> None:
    db = Database()
    journal = FlakyJournal(db)
    controls = FlakyControls(db)
    notes = Recorder()
    with Emulator(seed_state()) as emu:
        settings = load_settings(write_daemon_config(tmp_path, emu), ENV)

        async def scenario() -> list[str | None]:
            gateway = gateway_for(settings)
            waker = Waker(
                settings,
                gateway=gateway,
                journal=journal,
                controls=controls,
                notifier=notes,
                clock=_now,
                mode="live",
            )
            try:
                skipped = [(await waker.wake(Wake.DRIFT_CHECK)).skipped]  # orders out, db gone
                skipped.append((await waker.wake(Wake.DRIFT_CHECK)).skipped)  # still gone
                db.up = True
                skipped.append((await waker.wake(Wake.DRIFT_CHECK)).skipped)  # back: heals
                return skipped
            finally:
                await gateway.close()

        with structlog.testing.capture_logs() as logs:
            skipped = asyncio.run(scenario())
        placed = order_count(emu)

    assert skipped[0] == f"journal unavailable: {REFUSED}"
    assert skipped[1] == f"journal unavailable: {REFUSED}"
    events = [e["event"] for e in logs]
    assert events.count("journal_unavailable") == 1
    assert events.count("journal_still_unavailable") == 1
    assert events.count("journal_recovered") == 1
    outage = next(e for e in logs if e["event"] == "journal_unavailable")
    assert outage["orders_may_be_sent"] is True

    critical = [n for n in notes.sent if n.severity is Severity.CRITICAL]
    assert [n.kind for n in critical] == [NotificationKind.CIRCUIT_OPEN]  # once, not per wake
    assert "may have sent orders" in critical[0].text

    saved = controls.load(settings.config.portfolio.name)
    assert saved.circuit_open
    assert saved.reason.startswith("journal unavailable: connection refused")
    assert placed == 2  # the run's two orders, once: nothing traded after the outage
    (run,) = journal.runs.values()
    assert run.state is RunState.FAILED  # reconciled by the daemon itself, no restart
    statuses = {o.status for o in journal.run_orders(next(iter(journal.runs)))}
    assert statuses == {OrderStatus.FILLED}
