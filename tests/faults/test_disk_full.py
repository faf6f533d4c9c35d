"""The disk fills up mid-run: the cycle stops with one line saying so and whether orders may
have been sent; nothing already written is lost, and the next start reconciles the run.

Where the fault comes from: a tiny file system needs `mount` (root, and a privileged container);
`PRAGMA max_page_count` only caps page allocation, and the writes after the intents (the
answers, the post-trade snapshot) fit in pages already there (tried: the run completed); a file
size rlimit hits whichever write crosses it. So the disk fills at the driver boundary: once the
intents are committed, every write statement fails with the driver's own
`sqlite3.OperationalError("database or disk is full")`, the error SQLite raises on a full disk;
SQLAlchemy, the store, the cycle and the CLI above it are the real ones. A full disk at start,
when the lock file is written, is a real ENOSPC: the lock path is a link to /dev/full.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from rebalancer.emulator import Emulator
from rebalancer.service.cycle import run_cycle
from rebalancer.service.journal import JournalUnavailable, OrderIntentRecord
from rebalancer.service.reconcile import reconcile
from rebalancer.store import SqlJournal, Store, open_store, upgrade
from tests.integration.harness import (
    ENV,
    OPEN,
    gateway_for,
    order_count,
    seed_state,
    settings_for,
    utcnow,
    write_config,
)

EXE = str(Path(sys.executable).with_name("rebalancer"))
AS_JOURNALED = {"FILLED": "filled", "PARTIALLY_FILLED": "partially_filled", "NEW": "accepted"}


class DiskFillsAfterIntents(SqlJournal):
    """The journal of a disk that has no room left once the intents are written."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._engine = store.engine

    def record_intents(self, intents: Sequence[OrderIntentRecord], at: datetime) -> None:
        super().record_intents(intents, at)
        event.listen(self._engine, "before_cursor_execute", _no_room)


def _no_room(_conn: object, _cursor: object, statement: str, *_: object) -> None:
    if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
        raise sqlite3.OperationalError("database or disk is full")


def _journal_orders(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT client_id, status FROM orders").fetchall())


def test_a_disk_full_mid_run_loses_nothing_and_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    upgrade(url)
    with Emulator(seed_state()) as emu:
        settings = settings_for(tmp_path, emu)

        async def full_cycle() -> None:
            gateway = gateway_for(settings)
            try:
                with open_store(url) as store:
                    await run_cycle(
                        settings,
                        gateway,
                        DiskFillsAfterIntents(store),
                        utcnow,
                        gate=OPEN,
                        mode="live",
                    )
            finally:
                await gateway.close()

        with pytest.raises(JournalUnavailable) as caught:
            asyncio.run(full_cycle())

        message = str(caught.value)
        assert caught.value.cause.startswith("disk full")
        assert caught.value.orders_may_be_sent
        assert "may have sent orders" in message
        assert "next start" in message
        assert "\n" not in message
        sent = [(o.client_order_id, o.status.value) for o in emu.exchange.store.all_orders()]
        assert len(sent) == 2
        journaled = _journal_orders(tmp_path / "journal.db")
        assert set(journaled) == {client_id for client_id, _ in sent}  # every intent is there

        async def next_start() -> None:  # space is back: recovery finishes the run
            gateway = gateway_for(settings)
            try:
                with open_store(url) as store:
                    done = await reconcile("seed-60-40", gateway, SqlJournal(store), utcnow)
                    assert done.clean
                    assert len(done.runs_closed) == 1
            finally:
                await gateway.close()

        asyncio.run(next_start())
        assert order_count(emu) == 2  # nothing sent again
    journaled = _journal_orders(tmp_path / "journal.db")
    assert journaled == {client_id: AS_JOURNALED[status] for client_id, status in sent}


def test_a_full_disk_at_start_is_one_line_and_sends_nothing(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
        (tmp_path / "journal.db.seed-60-40.lock").symlink_to("/dev/full")
        result = subprocess.run(
            [EXE, "once", "-c", str(config), "--yes"],
            capture_output=True,
            text=True,
            env={**os.environ, **ENV},
            timeout=60,
            check=False,
        )
        assert order_count(emu) == 0
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "journal.db.seed-60-40.lock" in lines[0]
    assert "disk full" in lines[0]
