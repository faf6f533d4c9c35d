"""A cycle SIGKILLed at each step of order execution, then restarted: nothing is sent twice,
nothing is forgotten, and the journal ends equal to the exchange."""

from __future__ import annotations

import signal
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.emulator import Emulator
from rebalancer.service.crashpoints import POINTS
from tests.integration.harness import once_in_a_process, position, seed_state, write_config
from tests.integration.venues import VENUES

STEP = Decimal("0.001")
LIVE = {"filled", "partially_filled", "accepted"}


def _journal_orders(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT client_id, status FROM orders").fetchall())


def _open_runs(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT run_id FROM runs WHERE state NOT IN ('completed','failed','skipped')"
        )
        return [r[0] for r in rows.fetchall()]


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_any_step_then_a_restart_sends_nothing_twice(
    tmp_path: Path, point: str, venue: str
) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        config = write_config(tmp_path, emu)
        db = tmp_path / "journal.db"
        if point == "in_flight":
            emu.set_latency(Decimal("0.8"))  # the kill lands while the order request waits

        crashed = once_in_a_process(config, point)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        emu.set_latency(Decimal(0))

        restarted = once_in_a_process(config)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr

        on_exchange = [o.client_order_id for o in emu.exchange.store.all_orders()]
        assert len(on_exchange) == len(set(on_exchange)), "a client order id was sent twice"
        journal = _journal_orders(db)
        for client_id in on_exchange:  # nothing forgotten: every real order is journaled...
            assert journal.get(client_id) in LIVE, (client_id, journal.get(client_id))
        for client_id, status in journal.items():  # ...and nothing journaled is imaginary
            assert (status in LIVE) == (client_id in on_exchange), (client_id, status)
        assert _open_runs(db) == []
        # The hedges are on target once, not twice: within one step of the seed example.
        assert abs(position(emu, "BTCUSDT") - Decimal("-0.02")) <= STEP
        assert abs(position(emu, "ETHUSDT") - Decimal("0.4")) <= STEP
