"""Real worker processes on PostgreSQL against emulators: each portfolio is rebalanced once,
a second wake-up (or the same job run again) sends nothing more, and a halted one sends
nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rebalancer.domain.triggers import Wake
from rebalancer.emulator import Emulator
from rebalancer.fleet.metrics import FleetMetrics
from rebalancer.fleet.runner import FleetRuntime, wake_portfolio
from rebalancer.store import Store
from tests.fleet.helpers import cli, journal_orders, runs, wait_until, workers, write_portfolio
from tests.integration.harness import ENV, position, seed_state

STEP = Decimal("0.001")
PORTFOLIOS = 6


def _on_target(emu: Emulator) -> bool:
    return (
        abs(position(emu, "BTCUSDT") - Decimal("-0.02")) <= STEP
        and abs(position(emu, "ETHUSDT") - Decimal("0.4")) <= STEP
    )


def test_three_workers_rebalance_every_portfolio_exactly_once(
    tmp_path: Path, fleet_url: str, fleet_store: Store
) -> None:
    emulators = [Emulator(seed_state()).start() for _ in range(PORTFOLIOS)]
    try:
        names = [f"p{i:02d}" for i in range(PORTFOLIOS)]
        configs = tmp_path / "configs"
        configs.mkdir()
        for name, emu in zip(names, emulators, strict=True):
            write_portfolio(configs, name, emu)
        emu_halted = Emulator(seed_state()).start()
        emulators.append(emu_halted)
        write_portfolio(configs, "halted", emu_halted)
        added = cli(fleet_url, "fleet", "import", str(configs))
        assert added.returncode == 0, added.stderr
        halted = cli(fleet_url, "fleet", "halt", "halted", "--reason", "test")
        assert halted.returncode == 0, halted.stderr

        with workers(fleet_url, 3, tmp_path / "logs"):
            wait_until(
                lambda: (
                    all(any(r[1] == "completed" for r in runs(fleet_store, n)) for n in names)
                    and runs(fleet_store, "halted") != []
                ),
                90,
                "every portfolio's first wake-up",
            )
            again = cli(fleet_url, "fleet", "wake", "--all")
            assert again.returncode == 0, again.stderr
            wait_until(
                lambda: queue_empty(fleet_store), 60, "the second round of wake-ups to finish"
            )

        for name, emu in zip(names, emulators[:PORTFOLIOS], strict=True):
            assert _on_target(emu), name
            on_exchange = [o.client_order_id for o in emu.exchange.store.all_orders()]
            assert len(on_exchange) == 2, (name, on_exchange)  # one BTC short, one ETH long
            journal = journal_orders(fleet_store, name)
            assert sorted(journal) == sorted(on_exchange), name
            assert set(journal.values()) == {"filled"}, name
            trading = [r for r in runs(fleet_store, name) if r[2] > 0]
            assert len(trading) == 1, (name, runs(fleet_store, name))
        assert emu_halted.exchange.store.all_orders() == []  # halted: watched, never traded
        assert position(emu_halted, "BTCUSDT") == 0

        # The same job delivered once more (at-least-once delivery): nothing new is sent.
        metrics = FleetMetrics()
        runtime = FleetRuntime(url=fleet_url, store=fleet_store, env=ENV, metrics=metrics)
        result = asyncio.run(wake_portfolio(runtime, names[0], Wake.CALENDAR))
        assert result.outcome == "ran: 0 order(s)"  # a calendar wake-up on target trades nothing
        assert len(emulators[0].exchange.store.all_orders()) == 2
        scraped = metrics.render().decode()
        assert 'rebalancer_fleet_jobs_total{outcome="ran"} 1.0' in scraped
        assert f'rebalancer_fleet_halted{{portfolio="{names[0]}"}} 0.0' in scraped

        status = cli(fleet_url, "fleet", "status", "--json")
        assert status.returncode == 0, status.stderr
        assert '"halted since' in status.stdout
    finally:
        for emu in emulators:
            emu.stop()


def queue_empty(store: Store) -> bool:
    from sqlalchemy import text  # noqa: PLC0415

    with store.read() as session:
        waiting = session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'rebalancer.fleet.wake' "
                "AND status IN ('todo', 'doing')"
            )
        )
    return waiting == 0
