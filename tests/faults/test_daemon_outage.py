"""The daemon and a second writer around PostgreSQL faults, judged from the exchange's side.

A real `rebalancer run` journals into a private PostgreSQL cluster while the emulator holds its
order batch; the server is then stopped or restarted under it. The exchange must never see a
hedge placed twice, the journal must end equal to the exchange order for order, and the daemon
must heal itself (reconcile, circuit open and persisted) without a restart, logging one JSON
event per line throughout.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from rebalancer.emulator import Emulator
from tests.daemon.process_harness import (
    HoldingEmulator,
    batch_posts,
    cli,
    config_text,
    emulator_orders,
    running_daemon,
    wait_until,
)
from tests.faults.pg_cluster import PgCluster
from tests.integration.harness import position, seed_state

pytestmark = pytest.mark.timeout(90)
STEP = Decimal("0.001")
LIVE = {"filled", "partially_filled", "accepted"}
AS_JOURNALED = {"FILLED": "filled", "PARTIALLY_FILLED": "partially_filled", "NEW": "accepted"}
HOLDER = """
import sys, time
from rebalancer.store import acquire_writer_lock
with acquire_writer_lock(sys.argv[1], "seed-60-40"):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    yield pg_cluster.create_database(f"daemon_{secrets.token_hex(4)}")
    pg_cluster.start_if_stopped()  # a failed test must not leave the server down


def _config(tmp: Path, emulator: Emulator, url: str) -> Path:
    path = tmp / "daemon.toml"
    body = config_text(
        tmp, emulator, drift_abs="0.05", trigger="threshold", max_failures=3, interval="1s"
    )
    path.write_text(body.replace(f"sqlite:///{tmp / 'journal.db'}", url), encoding="utf-8")
    return path


class PgJournal:
    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, sql: str) -> list[Any]:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql)).all())
        finally:
            engine.dispose()

    def orders(self) -> dict[str, str]:
        return dict(self.rows("SELECT client_id, status FROM orders"))

    def open_runs(self) -> list[str]:
        return [
            r[0]
            for r in self.rows(
                "SELECT run_id FROM runs WHERE state NOT IN ('completed', 'failed', 'skipped')"
            )
        ]

    def circuit(self) -> tuple[bool, str] | None:
        found = self.rows("SELECT circuit_open, reason FROM controls")
        return None if not found else (bool(found[0][0]), str(found[0][1]))


def _assert_exchange_equals_journal(journal: PgJournal, emulator: Emulator) -> None:
    sent = emulator_orders(emulator)
    on_exchange = dict(sent)
    assert len(on_exchange) == len(sent), f"a client id was sent twice: {sent}"
    recorded = journal.orders()
    for client_id, status in on_exchange.items():
        assert recorded.get(client_id) == AS_JOURNALED[status], (client_id, status, recorded)
    for client_id, status in recorded.items():
        assert (status in LIVE) == (client_id in on_exchange), (client_id, status)
    # The seed hedges, once: not twice, and not placed then reversed.
    assert abs(position(emulator, "BTCUSDT") - Decimal("-0.02")) <= STEP
    assert abs(position(emulator, "ETHUSDT") - Decimal("0.4")) <= STEP


def _every_line_is_json(log: str) -> None:
    for line in log.splitlines():
        if line.strip():
            assert isinstance(json.loads(line), dict), line


def test_an_outage_mid_cycle_is_healed_by_the_daemon_itself(
    tmp_path: Path, pg_cluster: PgCluster, pg_url: str
) -> None:
    emu = HoldingEmulator(seed_state())
    emu.hold()
    journal = PgJournal(pg_url)
    with emu:
        with running_daemon(_config(tmp_path, emu, pg_url)) as daemon:
            assert emu.arrived.wait(20), daemon.output()
            pg_cluster.stop()  # the answers come back to a journal that is gone
            emu.release()
            daemon.wait_for_event("journal_unavailable", timeout=20)
            event = daemon.events("journal_unavailable")[0]
            assert event["orders_may_be_sent"] is True
            assert "connection" in event["cause"] or "server" in event["cause"], event
            daemon.wait_for_event("journal_still_unavailable", at_least=2, timeout=20)

            pg_cluster.start()
            daemon.wait_for_event("journal_recovered", timeout=30)
            assert journal.open_runs() == []  # reconciled without a restart
            circuit = journal.circuit()
            assert circuit is not None
            assert circuit[0]
            assert "journal unavailable" in circuit[1]
            assert daemon.stop() == 0
            log = daemon.output()
        _every_line_is_json(log)
        assert "Traceback" not in log
        assert batch_posts(emu) == 1
        _assert_exchange_equals_journal(journal, emu)


def test_two_writers_around_a_restart_never_place_a_hedge_twice(
    tmp_path: Path, pg_cluster: PgCluster, pg_url: str
) -> None:
    emu = HoldingEmulator(seed_state())
    emu.hold()
    journal = PgJournal(pg_url)
    with emu:
        config = _config(tmp_path, emu, pg_url)
        with running_daemon(config) as daemon:
            assert emu.arrived.wait(20), daemon.output()
            pg_cluster.restart()  # the daemon's lock session is gone; its order is in flight

            # A second writer now gets the lock, but leaves the live daemon's run alone.
            second = cli("once", "-c", str(config), "--yes")
            assert second.returncode == 1, second.stdout + second.stderr
            assert "unknown outcome" in second.stderr
            # The daemon's run is still open and its orders still in flight: not concluded
            # "never placed" (and traded again) behind the back of the process sending them.
            assert len(journal.open_runs()) == 1
            assert set(journal.orders().values()) == {"submitting"}
            assert emulator_orders(emu) == []  # and the second placed nothing of its own

            emu.release()
            daemon.wait_for_event("writer_lock_regained", timeout=20)
            daemon.wait_for_event("journal_recovered", timeout=20)
            third = cli("once", "-c", str(config), "--yes")  # the daemon is the writer again
            assert third.returncode == 3, third.stdout + third.stderr
            assert daemon.stop() == 0
        assert batch_posts(emu) == 1
        _assert_exchange_equals_journal(journal, emu)
        assert journal.open_runs() == []


def test_a_daemon_whose_lock_another_process_took_gives_way(
    tmp_path: Path, pg_cluster: PgCluster, pg_url: str
) -> None:
    emu = HoldingEmulator(seed_state())
    emu.hold()
    journal = PgJournal(pg_url)
    with emu:
        config = _config(tmp_path, emu, pg_url)
        with running_daemon(config) as daemon:
            assert emu.arrived.wait(20), daemon.output()
            pg_cluster.restart()
            with subprocess.Popen(
                [sys.executable, "-c", HOLDER, pg_url], stdout=subprocess.PIPE, text=True
            ) as other:
                try:
                    assert other.stdout is not None
                    assert other.stdout.readline().strip() == "locked"
                    emu.release()
                    daemon.wait_for_event("writer_lock_taken", timeout=20)
                    assert daemon.proc.wait(timeout=20) == 3  # it gave way, and said so
                finally:
                    other.kill()
        wait_until(lambda: batch_posts(emu) == 1, timeout=1, what="one batch")
        after = cli("once", "-c", str(config), "--yes")  # the next writer starts from the truth
        assert after.returncode == 0, after.stdout + after.stderr
        assert batch_posts(emu) == 1  # already on target: nothing placed again
        _assert_exchange_equals_journal(journal, emu)
        assert journal.open_runs() == []
