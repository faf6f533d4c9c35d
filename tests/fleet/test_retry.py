"""A worker SIGKILLed in the middle of a cycle: its job is found stalled by heartbeat and
retried on another worker, which reconciles first; the exchange never sees a client order id
twice, the journal and the exchange agree order for order, and the portfolio ends on target."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from rebalancer.emulator import Emulator
from rebalancer.service.crashpoints import ENV as CRASH_ENV
from rebalancer.store import Store
from tests.fleet.helpers import cli, journal_orders, runs, wait_until, workers, write_portfolio
from tests.integration.harness import position, seed_state

STEP = Decimal("0.001")


def test_a_worker_killed_mid_cycle_has_its_job_retried_and_nothing_sent_twice(
    tmp_path: Path, fleet_url: str, fleet_store: Store
) -> None:
    with Emulator(seed_state()) as emu:
        config = write_portfolio(tmp_path, "killed", emu)
        assert cli(fleet_url, "fleet", "add", str(config)).returncode == 0
        # The first worker dies right after the exchange accepted the orders, before the
        # answer is journaled: the intent is committed, the order is live, the job is `doing`.
        with workers(fleet_url, 1, tmp_path / "a", env={CRASH_ENV: "after_answer"}) as (dying,):
            assert dying.wait(timeout=60) == -signal.SIGKILL
        sent = [o.client_order_id for o in emu.exchange.store.all_orders()]
        assert sent
        assert set(journal_orders(fleet_store, "killed").values()) == {"submitting"}
        assert _job_states(fleet_store) == ["doing"]  # nobody is left to finish it

        with workers(fleet_url, 1, tmp_path / "b"):
            wait_until(
                lambda: _job_states(fleet_store) == [] and _finished(fleet_store),
                60,
                "the stalled job to be retried and finished",
            )

        on_exchange = [o.client_order_id for o in emu.exchange.store.all_orders()]
        assert len(on_exchange) == len(set(on_exchange)), "a client order id was sent twice"
        assert on_exchange[: len(sent)] == sent  # the dead worker's orders, looked up, not re-sent
        journal = journal_orders(fleet_store, "killed")
        assert sorted(journal) == sorted(on_exchange)  # nothing forgotten, nothing imaginary
        assert set(journal.values()) == {"filled"}
        assert abs(position(emu, "BTCUSDT") - Decimal("-0.02")) <= STEP
        assert abs(position(emu, "ETHUSDT") - Decimal("0.4")) <= STEP
        # One run: the dead worker's, closed by the retried job's reconciliation (its orders
        # filled); the wake-up after it found the portfolio on target and traded nothing.
        assert [state for _, state, _ in runs(fleet_store, "killed")] == ["failed"]
        log = (tmp_path / "b" / "worker-0.log").read_text(encoding="utf-8")
        assert '"event": "fleet_job_stalled"' in log
        assert '"event": "run_reconciled"' in log


def _job_states(store: Store) -> list[str]:
    query = text(
        "SELECT status FROM procrastinate_jobs WHERE task_name = 'rebalancer.fleet.wake' "
        "AND status IN ('todo', 'doing') ORDER BY id"
    )
    with store.read() as session:
        return [str(s) for s in session.scalars(query)]


def _finished(store: Store) -> bool:
    states = [state for _, state, _ in runs(store, "killed")]
    return bool(states) and all(s in ("completed", "failed", "skipped") for s in states)
