"""One writer always: a writer whose lock died commits no new run and no order intent, and
gives way to a process that took the lock; recovery leaves a live writer's run alone.

PostgreSQL runs in a private cluster whose lock session the tests cut with
`pg_terminate_backend`, as a failover or an administrator would.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rebalancer.domain.lifecycle import RunState
from rebalancer.service.journal import WriterLockLost
from rebalancer.service.reconcile import reconcile
from rebalancer.store import (
    SqlJournal,
    Store,
    WriterLockHeld,
    acquire_writer_lock,
    open_store,
    upgrade,
)
from rebalancer.store.tables import OrderRow
from tests.faults.pg_cluster import PgCluster
from tests.store.builders import T0, intents, run_start, seed_plan

pytestmark = pytest.mark.timeout(60)

HOLDER = """
import sys, time
from rebalancer.store import acquire_writer_lock
with acquire_writer_lock(sys.argv[1], "main"):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    url = pg_cluster.create_database(f"fence_{secrets.token_hex(4)}")
    upgrade(url)
    return url


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    with open_store(pg_url) as store:
        yield store


def _orders(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(OrderRow)) or 0)


def _planned_run(journal: SqlJournal, run_id: str) -> None:
    journal.start_run(run_start(run_id))
    journal.advance_run(run_id, RunState.SNAPSHOT, T0)
    journal.record_plan(run_id, seed_plan())
    journal.advance_run(run_id, RunState.PLANNED, T0)


def _cut_every_session(cluster: PgCluster) -> None:
    assert cluster.terminate("backend_type = 'client backend'") >= 1


def _second_writer(url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if first != "locked":
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"the second writer could not take the lock: {first} {err}")
    return proc


def test_a_killed_lock_session_stops_the_holder_and_lets_exactly_one_other_writer_in(
    pg_cluster: PgCluster, pg_url: str, pg_store: Store
) -> None:
    with acquire_writer_lock(pg_url, "main") as lease:
        journal = SqlJournal(pg_store, fence=lease)
        _planned_run(journal, "r1")
        _cut_every_session(pg_cluster)

        # The holder's next intent is refused in its own transaction: nothing to send.
        with pytest.raises(WriterLockLost, match="writer lock was lost"):
            journal.record_intents(intents("r1", seed_plan()), T0)
        with pytest.raises(WriterLockLost):
            journal.start_run(run_start("r2"))
        assert _orders(pg_store) == 0
        assert not lease.held()

        second = _second_writer(pg_url)  # the lock is free: another process takes it...
        try:
            with pytest.raises(WriterLockHeld, match=f"pid {second.pid} "):
                lease.regain()  # ...and the first gives way instead of writing beside it
            with pytest.raises(WriterLockLost):
                journal.record_intents(intents("r1", seed_plan()), T0)
        finally:
            second.kill()
            second.communicate(timeout=10)

        assert _orders(pg_store) == 0


def test_a_holder_that_takes_its_lock_again_writes_again(
    pg_cluster: PgCluster, pg_url: str, pg_store: Store
) -> None:
    with acquire_writer_lock(pg_url, "main") as lease:
        journal = SqlJournal(pg_store, fence=lease)
        _planned_run(journal, "r1")
        _cut_every_session(pg_cluster)
        with pytest.raises(WriterLockLost):
            journal.record_intents(intents("r1", seed_plan()), T0)

        assert lease.regain() is True  # nobody took it meanwhile
        journal.record_intents(intents("r1", seed_plan()), T0)
        assert _orders(pg_store) == 2
        assert lease.regain() is False  # held: nothing to do


def test_a_server_restart_drops_the_lock_and_the_fence_notices(
    pg_cluster: PgCluster, pg_url: str, pg_store: Store
) -> None:
    with acquire_writer_lock(pg_url, "main") as lease:
        journal = SqlJournal(pg_store, fence=lease)
        _planned_run(journal, "r1")
        pg_cluster.restart()
        with pytest.raises(WriterLockLost):
            journal.record_intents(intents("r1", seed_plan()), T0)
        assert _orders(pg_store) == 0
    # Leaving the block after the session died raises nothing (SIGTERM then exits 0).


def test_a_replaced_sqlite_lock_file_stops_the_holder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    upgrade(url)
    with open_store(url) as store, acquire_writer_lock(url, "main") as lease:
        journal = SqlJournal(store, fence=lease)
        _planned_run(journal, "r1")
        lock_file = next(tmp_path.glob("journal.db.*.lock"))
        lock_file.unlink()  # a second writer could now lock a new file at the same path
        with pytest.raises(WriterLockLost, match="removed or replaced"):
            journal.record_intents(intents("r1", seed_plan()), T0)
        assert _orders(store) == 0


class _NoExchange:
    """Recovery must not even ask about a live writer's orders."""

    async def lookup_patiently(self, instrument: str, client_id: str) -> None:
        raise AssertionError(f"looked up {client_id} of a live writer's run")


class _Writer:
    """A fence stub naming another, live process as the writer."""

    def __init__(self, writer: str) -> None:
        self.writer = writer

    def check(self, conn: object) -> None:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def test_recovery_leaves_the_run_of_a_live_writer_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    upgrade(url)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with open_store(url) as store:
            theirs = SqlJournal(store, fence=_Writer(f"{alive.pid}@{socket.gethostname()}"))
            _planned_run(theirs, "r1")
            theirs.record_intents(intents("r1", seed_plan()), T0)
            theirs.advance_run("r1", RunState.EXECUTING, T0)

            mine = SqlJournal(store)
            done = asyncio.run(reconcile("main", _NoExchange(), mine, _now))  # type: ignore[arg-type]

            assert done.runs_closed == ()
            assert not done.clean
            assert sorted(done.unresolved) == sorted(
                i.client_id for i in intents("r1", seed_plan())
            )
            assert [r.run_id for r in mine.unfinished_runs("main")] == ["r1"]
    finally:
        alive.kill()
        alive.wait(timeout=10)
    with open_store(url) as store:  # once that writer is gone, its run is recovery's again
        assert not SqlJournal(store).unfinished_runs("main")[0].writer_alive
