"""The kill switch and the circuit breaker hold at every entry point that can trade.

Each test stops the portfolio (`rebalancer halt`, or a circuit opened in the journal), runs an
entry point as a user does (the CLI's `main` with a user's arguments, in-process; the daemon's
wake-up), and judges it from the emulator's request log: while stopped, no signed request
other than a read (GET) reaches the exchange; after `rebalancer resume`, the same entry point
trades again.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rebalancer import bootstrap
from rebalancer.config import load_settings
from rebalancer.daemon.wake import Waker
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import Emulator
from rebalancer.notify import NullNotifier
from rebalancer.service.controls import Controls, MemoryControls
from rebalancer.service.memory_journal import MemoryJournal
from tests.cli import Ran, rebalancer
from tests.integration.harness import ENV, gateway_for, order_count, seed_state, write_config
from tests.integration.venues import VENUES

PAPER = """
[paper]
spot = { BTC = 0.14, ETH = 1.2, USDT = 0 }
futures_wallet = 2000
"""


def _run(*args: str) -> Ran:
    return rebalancer(*args, env=ENV)


def _writes(emu: Emulator) -> list[str]:
    """Every request that is not a read: orders, leverage, margin type, transfers."""
    return [f"{r.method} {r.path}" for r in emu.requests() if r.method != "GET"]


def _journal_runs(db: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT mode, state, error FROM runs ORDER BY started_at").fetchall()


def _journal_orders(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0])


def _open_circuit(config: Path) -> None:
    settings = load_settings(config, ENV)
    with bootstrap.open_journal(settings) as journal:
        journal.controls.save(
            settings.config.portfolio.name,
            Controls(circuit_open=True, reason="2 consecutive failed cycles", since=_now()),
        )


def _now() -> datetime:
    return datetime.now(UTC)


each_venue = pytest.mark.parametrize("venue", VENUES)


@each_venue
def test_once_live_on_a_halted_portfolio_sends_nothing_and_resume_lifts_it(
    tmp_path: Path, venue: str
) -> None:
    with Emulator(seed_state(leverage=20), venue=venue) as emu:
        config = write_config(tmp_path, emu)
        halted = _run("halt", "-c", str(config), "--reason", "going on holiday")
        assert halted.returncode == 0, halted.stderr

        refused = _run("once", "-c", str(config), "--yes")
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert "trading is halted since" in refused.stderr
        assert "(going on holiday); `rebalancer resume` lifts it" in refused.stderr
        assert _writes(emu) == []  # no order, no leverage change, no transfer
        assert emu.exchange.account.leverage("BTCUSDT") == 20
        [(mode, state, error)] = _journal_runs(tmp_path / "journal.db")
        assert (mode, state) == ("live", "skipped")
        assert error is not None
        assert "trading is halted" in error

        assert _run("resume", "-c", str(config)).returncode == 0
        done = _run("once", "-c", str(config), "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        assert order_count(emu) == 2


@each_venue
def test_once_live_with_the_circuit_open_sends_nothing(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        config = write_config(tmp_path, emu)
        _open_circuit(config)
        refused = _run("once", "-c", str(config), "--yes")
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert "the circuit breaker is open since" in refused.stderr
        assert "2 consecutive failed cycles" in refused.stderr
        assert _writes(emu) == []
        assert order_count(emu) == 0


@each_venue
def test_once_paper_on_a_halted_portfolio_trades_nothing_until_resumed(
    tmp_path: Path, venue: str
) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        config = write_config(tmp_path, emu, extra=PAPER)
        config.write_text(
            config.read_text(encoding="utf-8").replace('mode = "live"', 'mode = "paper"'),
            encoding="utf-8",
        )
        assert _run("halt", "-c", str(config)).returncode == 0
        refused = _run("once", "-c", str(config))
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert "trading is halted" in refused.stderr
        assert _journal_orders(tmp_path / "journal.db") == 0  # the paper account did not trade

        assert _run("resume", "-c", str(config)).returncode == 0
        done = _run("once", "-c", str(config))
        assert done.returncode == 0, done.stdout + done.stderr
        assert _journal_orders(tmp_path / "journal.db") == 2
        assert _writes(emu) == []  # paper mode never writes to the exchange it reads prices from


@each_venue
def test_a_dry_run_of_a_halted_portfolio_still_plans_and_says_it_is_halted(
    tmp_path: Path, venue: str
) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        config = write_config(tmp_path, emu)
        assert _run("halt", "-c", str(config)).returncode == 0
        done = _run("once", "-c", str(config), "--mode", "dry-run")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "trading is halted" in " ".join(done.stdout.split())
        assert "BTC/USDT:USDT" in done.stdout  # the plan is shown
        assert _writes(emu) == []


def _waker(config: Path, controls: MemoryControls, journal: MemoryJournal) -> Waker:
    settings = load_settings(config, ENV)
    return Waker(
        settings,
        gateway=gateway_for(settings),  # not gated: the waker's own checks must hold
        journal=journal,
        controls=controls,
        notifier=NullNotifier(),
        clock=_now,
        mode="live",
    )


@each_venue
@pytest.mark.parametrize(
    "stopped",
    [
        Controls(halted=True, reason="halted by the user", since=datetime(2026, 1, 1, tzinfo=UTC)),
        Controls(circuit_open=True, reason="3 failures", since=datetime(2026, 1, 1, tzinfo=UTC)),
    ],
    ids=["halted", "circuit-open"],
)
def test_the_daemon_wake_up_neither_trades_nor_tops_up_while_stopped(
    tmp_path: Path, stopped: Controls, venue: str
) -> None:
    # A small BTC short (BTC still 6.25 points over target, past the 5-point threshold), spot
    # USDT to move and an alert distance every position is inside: a cycle and a top-up due.
    state = seed_state(
        extra={
            "spot_balances": {"BTC": "0.14", "ETH": "1.2", "USDT": "500"},
            "positions": [{"symbol": "BTCUSDT", "size": "-0.005", "entry_price": "50000"}],
        }
    )
    with Emulator(state, venue=venue) as emu:
        extra = (
            '[schedule]\ntrigger = "threshold"\ndrift_abs = 0.05\n'
            "[safety]\nmargin_alert_distance = 0.99\ntop_up_from_spot = true\ntop_up_max = 100\n"
        )
        config = write_config(tmp_path, emu, extra=extra)
        controls = MemoryControls()
        controls.save("seed-60-40", stopped)
        journal = MemoryJournal()
        waker = _waker(config, controls, journal)

        async def wake_three_times() -> list[object]:
            try:
                return [await waker.wake(Wake.DRIFT_CHECK) for _ in range(3)]
            finally:
                await waker.gateway.close()

        outcomes = asyncio.run(wake_three_times())
        assert all(o.skipped for o in outcomes)  # type: ignore[attr-defined]
        assert _writes(emu) == []
        # The refusal is journaled once per stop, not once per check.
        assert [r.state.value for r in journal.runs.values()] == ["skipped"]
        assert [e.kind for e in journal.events if e.kind == "trading_refused"] == [
            "trading_refused"
        ]

        controls.save("seed-60-40", Controls())  # `rebalancer resume`
        waker = _waker(config, controls, journal)

        async def wake_once() -> None:
            try:
                await waker.wake(Wake.DRIFT_CHECK)
            finally:
                await waker.gateway.close()

        asyncio.run(wake_once())
        assert order_count(emu) == 2
