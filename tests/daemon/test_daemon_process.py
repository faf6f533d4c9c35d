"""The daemon as a user runs it: `rebalancer run` in a subprocess against the local emulator.

Each test drives a real `rebalancer run` (1 s drift checks, a SQLite journal in tmp_path)
through prices, faults and signals, and judges it by its JSON log, its journal and the
emulator's own order book. The calendar test runs the daemon's scheduler in-process under a
travelling clock, since a subprocess cannot share a fake clock.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from rebalancer.config import load_settings
from rebalancer.daemon.scheduler import build_scheduler, schedule_jobs
from rebalancer.daemon.wake import Waker
from rebalancer.domain.lifecycle import RunState
from rebalancer.emulator import Emulator, Fault
from rebalancer.notify import NullNotifier
from rebalancer.service.controls import MemoryControls
from rebalancer.service.memory_journal import MemoryJournal
from tests.daemon.process_harness import (
    BATCH,
    PATIENCE,
    DaemonProcess,
    HoldingEmulator,
    JournalReader,
    batch_posts,
    cli,
    emulator_orders,
    free_port,
    on_target_state,
    running_daemon,
    set_prices,
    wait_until,
    write_daemon_config,
)
from tests.integration.harness import ENV, gateway_for, position, seed_state

pytestmark = pytest.mark.timeout(60)
STEP = Decimal("0.001")
LIVE = {"filled", "partially_filled", "accepted"}
AS_JOURNALED = {
    "FILLED": "filled",
    "PARTIALLY_FILLED": "partially_filled",
    "NEW": "accepted",
    "CANCELED": "canceled",
    "EXPIRED": "expired",
}


def _checks(daemon: DaemonProcess) -> list[dict[str, object]]:
    return daemon.events("drift_checked")


def _wait_checks(daemon: DaemonProcess, after: int, more: int) -> list[dict[str, object]]:
    """The drift checks logged after the first `after`, once there are at least `more`."""
    daemon.wait_for_event("drift_checked", at_least=after + more, timeout=5 + 2 * more)
    return _checks(daemon)[after:]


def _assert_journal_matches_exchange(journal: JournalReader, emulator: Emulator) -> None:
    """Each client id reached the exchange at most once, and the journal says what it did."""
    on_exchange = dict(emulator_orders(emulator))
    assert len(on_exchange) == len(emulator_orders(emulator)), "a client id was sent twice"
    recorded = journal.orders()
    for client_id, status in on_exchange.items():
        assert recorded.get(client_id) == AS_JOURNALED[status], (client_id, status, recorded)
    for client_id, status in recorded.items():
        assert (status in LIVE) == (client_id in on_exchange), (client_id, status)


# -- a. the drift trigger ---------------------------------------------------------------------


def test_drift_inside_the_band_trades_nothing_and_past_it_rebalances_exactly_once(
    tmp_path: Path,
) -> None:
    with Emulator(on_target_state()) as emu:
        journal = JournalReader(tmp_path / "journal.db")
        with running_daemon(write_daemon_config(tmp_path, emu)) as daemon:
            first = _wait_checks(daemon, 0, 1)
            assert first[0]["rebalance"] is False, first[0]

            set_prices(emu, BTCUSDT="46000")  # BTC drifts about -2.1 points: inside 5
            seen = len(_checks(daemon))
            inside = _wait_checks(daemon, seen, 4)
            assert [c["rebalance"] for c in inside] == [False] * len(inside)
            assert journal.runs() == []

            # About -6.8 points: past the threshold. (Downwards, because a rise would put the
            # short hedge's loss over the 1x cap, and the planner would de-lever instead.)
            set_prices(emu, BTCUSDT="38000")
            seen = len(_checks(daemon))
            wait_until(journal.runs_with_orders, timeout=10, what="a rebalance")
            fired = [c["rebalance"] for c in _checks(daemon)[seen:]]
            assert True in fired[:3], f"no rebalance within three checks: {fired}"
            wait_until(
                lambda: journal.runs()[-1].state == "completed", timeout=10, what="completion"
            )
            later = _wait_checks(daemon, len(_checks(daemon)), 3)
            assert [c["rebalance"] for c in later] == [False] * len(later)

            runs = journal.runs()
            assert len(runs) == 1, runs
            assert (runs[0].trigger, runs[0].state) == ("drift_check", "completed")
            assert batch_posts(emu) == 1
            # Back on target at the new price: the BTC short (was $1,000) is all but closed.
            assert Decimal("-0.002") <= position(emu, "BTCUSDT") < 0


# -- b. the calendar trigger under a travelling clock -----------------------------------------


def test_the_quarterly_calendar_rebalance_fires_on_time(tmp_path: Path) -> None:
    fire = datetime(2026, 4, 1, tzinfo=UTC)  # "0 0 1 */3 *": the first of April, 00:00 UTC
    with Emulator(on_target_state()) as emu:
        settings = load_settings(
            write_daemon_config(tmp_path, emu, trigger="both", interval="1h"), ENV
        )
        assert settings.config.schedule.cron == "0 0 1 */3 *"
        journal = MemoryJournal()

        async def scenario() -> None:
            gateway = gateway_for(settings)
            waker = Waker(
                settings,
                gateway=gateway,
                journal=journal,
                controls=MemoryControls(),
                notifier=NullNotifier(),
                clock=lambda: datetime.now(UTC),
                mode="live",
            )
            scheduler = build_scheduler()
            schedule_jobs(scheduler, waker, settings)
            scheduler.start()
            try:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not (
                    journal.runs and all(r.state.terminal for r in journal.runs.values())
                ):
                    await asyncio.sleep(0.05)
            finally:
                scheduler.shutdown(wait=False)
                await gateway.close()

        with time_machine.travel(fire - timedelta(seconds=2), tick=True):
            asyncio.run(scenario())

    starts = list(journal.starts.values())
    assert [s.trigger for s in starts] == ["calendar"], starts
    assert starts[0].reason == "calendar rebalance due"
    assert fire <= starts[0].started_at < fire + timedelta(seconds=5)  # the next is in July
    assert journal.runs[starts[0].run_id].state is RunState.COMPLETED


# -- c. SIGTERM mid-cycle ---------------------------------------------------------------------


def test_sigterm_while_orders_are_in_flight_lets_the_cycle_finish_and_exits_0(
    tmp_path: Path,
) -> None:
    emu = HoldingEmulator(seed_state())
    emu.delay = 3.0  # the order batch takes 3 s to answer
    with emu:
        config = write_daemon_config(tmp_path, emu)
        journal = JournalReader(tmp_path / "journal.db")
        with running_daemon(config) as daemon:
            assert emu.arrived.wait(PATIENCE), daemon.output()
            assert set(journal.orders().values()) == {"submitting"}
            assert daemon.stop() == 0  # after the batch's answer: the cycle was let finish
            assert daemon.count("cycle_abandoned") == 0

        assert [(r.state, r.orders) for r in journal.runs()] == [("completed", 2)]
        _assert_journal_matches_exchange(journal, emu)

        with running_daemon(config) as daemon:
            _wait_checks(daemon, 0, 2)
            assert daemon.count("runs_reconciled") == 0
        assert batch_posts(emu) == 1
        assert len(journal.runs()) == 1


def test_sigterm_with_an_order_stuck_past_the_grace_period_is_reconciled_on_restart(
    tmp_path: Path,
) -> None:
    emu = HoldingEmulator(seed_state())
    emu.hold()  # the batch is held until the daemon has given up on it and exited
    try:
        with emu:
            config = write_daemon_config(tmp_path, emu)
            journal = JournalReader(tmp_path / "journal.db")
            with running_daemon(config) as daemon:
                assert emu.arrived.wait(PATIENCE), daemon.output()
                # The batch is held until released below: exiting at all is the grace period
                # giving up on it.
                assert daemon.stop() == 0
                assert daemon.count("cycle_abandoned") == 1
            [run] = journal.runs()
            assert run.state == "executing"
            assert set(journal.orders().values()) == {"submitting"}

            emu.release()  # the exchange executes the batch after the client has gone
            wait_until(lambda: len(emulator_orders(emu)) == 2, timeout=5, what="the late fills")

            with running_daemon(config) as daemon:
                _wait_checks(daemon, 0, 2)
                assert daemon.count("run_reconciled") == 1
            [after] = journal.runs()
            assert after.run_id == run.run_id
            assert after.state == "failed"
            assert after.error is not None
            assert after.error.startswith("interrupted at executing")
            assert [kind for kind, _ in journal.events_of(run.run_id)] == ["run_reconciled"]
            _assert_journal_matches_exchange(journal, emu)
            assert batch_posts(emu) == 1  # looked up by client id, never sent again
            assert abs(position(emu, "BTCUSDT") - Decimal("-0.02")) <= STEP
    finally:
        emu.release()


# -- d. SIGHUP --------------------------------------------------------------------------------


def test_a_broken_config_on_sighup_keeps_the_old_one_and_a_good_one_applies(
    tmp_path: Path,
) -> None:
    with Emulator(on_target_state()) as emu:
        config = write_daemon_config(tmp_path, emu)
        good = config.read_text(encoding="utf-8")
        journal = JournalReader(tmp_path / "journal.db")
        with running_daemon(config) as daemon:
            set_prices(emu, BTCUSDT="46000")  # about -2.1 points: inside 5, outside 1
            _wait_checks(daemon, 0, 1)

            config.write_text("mode = [broken", encoding="utf-8")
            daemon.send(signal.SIGHUP)
            daemon.wait_for_event("config_reload_failed", timeout=5)
            seen = len(_checks(daemon))
            still = _wait_checks(daemon, seen, 2)
            assert [c["rebalance"] for c in still] == [False] * len(still)
            assert daemon.proc.poll() is None

            config.write_text(good.replace("drift_abs = 0.05", "drift_abs = 0.01"), "utf-8")
            daemon.send(signal.SIGHUP)
            daemon.wait_for_event("config_reloaded", timeout=5)
            wait_until(journal.runs_with_orders, timeout=10, what="a rebalance at the new band")
            assert daemon.count("config_reload_failed") == 1
            [run] = journal.runs()
            assert run.trigger == "drift_check"


# -- e. the circuit breaker -------------------------------------------------------------------


def test_the_circuit_breaker_opens_survives_a_restart_and_resume_closes_it(
    tmp_path: Path,
) -> None:
    with Emulator(seed_state()) as emu:
        emu.inject(Fault.http_status(429, count=1000, path=BATCH))  # every order batch refused
        config = write_daemon_config(tmp_path, emu, max_failures=2)
        journal = JournalReader(tmp_path / "journal.db")
        with running_daemon(config) as daemon:
            wait_until(
                lambda: (journal.controls() or {}).get("circuit_open"),
                timeout=15,
                what="the circuit to open",
            )
            daemon.wait_for_event("circuit_opened")  # journaled first, then logged
            assert daemon.count("circuit_opened") == 1
            assert daemon.stop() == 0
        failed = journal.runs()
        assert [r.state for r in failed] == ["failed", "failed"]
        assert emulator_orders(emu) == []

        status = cli("status", "-c", str(config))
        assert status.returncode == 0, status.stderr
        assert "circuit open" in status.stdout

        emu.faults.clear()  # the exchange would take orders now: only the breaker stops them
        posts = batch_posts(emu)
        with running_daemon(config) as daemon:
            daemon.wait_for_event("cycle_skipped", at_least=3, timeout=10)
            assert batch_posts(emu) == posts
            # The refusal is journaled once for this stop, not once per check.
            assert [r.state for r in journal.runs()] == ["failed", "failed", "skipped"]

            resumed = cli("resume", "-c", str(config))
            assert resumed.returncode == 0, resumed.stderr
            wait_until(
                lambda: len(journal.runs()) == 4 and journal.runs()[-1].state == "completed",
                timeout=10,
                what="a completed cycle after resume",
            )
        assert journal.controls() == {
            "halted": False,
            "circuit_open": False,
            "reason": "",
            "consecutive_failures": 0,
        }
        assert abs(position(emu, "BTCUSDT") - Decimal("-0.02")) <= STEP


def test_a_daemon_started_on_a_halted_portfolio_places_nothing_until_resumed(
    tmp_path: Path,
) -> None:
    with Emulator(seed_state()) as emu:  # unhedged: 8.33 points of drift, past the threshold
        config = write_daemon_config(tmp_path, emu)
        journal = JournalReader(tmp_path / "journal.db")
        assert cli("halt", "-c", str(config), "--reason", "maintenance").returncode == 0
        with running_daemon(config) as daemon:
            assert daemon.count("trading_stopped") == 1
            daemon.wait_for_event("cycle_skipped", at_least=3, timeout=10)
            assert [r.method for r in emu.requests() if r.method != "GET"] == []
            [refused] = journal.runs()
            assert refused.state == "skipped"
            assert "trading is halted" in (refused.error or "")

            assert cli("resume", "-c", str(config)).returncode == 0
            wait_until(
                lambda: journal.runs()[-1].state == "completed",
                timeout=10,
                what="a completed cycle after resume",
            )
        assert len(emulator_orders(emu)) == 2


# -- f. one writer per portfolio --------------------------------------------------------------


def test_a_second_process_on_the_same_portfolio_exits_3_naming_the_daemon(
    tmp_path: Path,
) -> None:
    with Emulator(on_target_state()) as emu:
        config = write_daemon_config(tmp_path, emu)
        with running_daemon(config) as daemon:
            once = cli("once", "-c", str(config), "--yes")
            assert once.returncode == 3, once.stdout + once.stderr
            assert f"pid {daemon.pid}" in once.stderr
            assert daemon.proc.poll() is None
        assert emulator_orders(emu) == []


# -- g. health ------------------------------------------------------------------------------


def test_an_idle_daemon_on_target_stays_healthy_past_max_cycle_age(tmp_path: Path) -> None:
    port = free_port()
    with Emulator(on_target_state()) as emu:
        config = write_daemon_config(tmp_path, emu, health_port=port)
        with running_daemon(config) as daemon:
            _wait_checks(daemon, 0, 4)  # over 2 s up, with max_cycle_age_seconds = 2
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                status, health = answer.status, json.loads(answer.read())
        assert status == 200, health
        assert health["last_successful_cycle_age_seconds"] < 2
        assert JournalReader(tmp_path / "journal.db").runs() == []
