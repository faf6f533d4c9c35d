"""Three real worker processes on PostgreSQL, twelve portfolios each on its own emulator
account: each portfolio is rebalanced exactly once, a second wake-up (or the same job run
again) sends nothing more, after a price move each is rebalanced exactly once more, and a
halted one sends nothing."""

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
PORTFOLIOS = 12


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
        emu_halted = Emulator(seed_state()).start()
        emulators.append(emu_halted)
        _set_up(tmp_path / "configs", fleet_url, names, emulators)

        with workers(fleet_url, 3, tmp_path / "logs", concurrency=2):
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
            assert all(len(_trading_runs(fleet_store, n)) == 1 for n in names)
            assert all(_on_target(emu) for emu in emulators[:PORTFOLIOS])

            for emu in emulators[:PORTFOLIOS]:  # BTC +50 %: its line drifts past the band
                emu.set_spot_price("BTCUSDT", Decimal(75000))
                emu.set_mark_price("BTCUSDT", Decimal(75000))
            moved = cli(fleet_url, "fleet", "wake", "--all")
            assert moved.returncode == 0, moved.stderr
            wait_until(
                lambda: (
                    all(len(_trading_runs(fleet_store, n)) == 2 for n in names)
                    and queue_empty(fleet_store)
                ),
                90,
                "every portfolio's wake-up after the price move",
            )

        for name, emu in zip(names, emulators[:PORTFOLIOS], strict=True):
            on_exchange = [o.client_order_id for o in emu.exchange.store.all_orders()]
            assert len(on_exchange) == len(set(on_exchange)), name
            first, second = _trading_runs(fleet_store, name)
            assert sum(1 for c in on_exchange if first in c) == 2  # one BTC short, one ETH long
            assert any(second in c for c in on_exchange)
            journal = journal_orders(fleet_store, name)
            assert sorted(journal) == sorted(on_exchange), name
            assert set(journal.values()) == {"filled"}, name
        assert emu_halted.exchange.store.all_orders() == []  # halted: watched, never traded
        assert position(emu_halted, "BTCUSDT") == 0

        # The same job delivered once more (at-least-once delivery): nothing new is sent.
        metrics = FleetMetrics()
        runtime = FleetRuntime(url=fleet_url, store=fleet_store, env=ENV, metrics=metrics)
        sent = len(emulators[0].exchange.store.all_orders())
        result = asyncio.run(wake_portfolio(runtime, names[0], Wake.DRIFT_CHECK))
        # Nothing left to do (on target, or only what the collateral cap forbids): no order.
        assert result.outcome in ("checked", "skipped: the plan has no placeable order")
        assert len(emulators[0].exchange.store.all_orders()) == sent
        scraped = metrics.render().decode()
        assert "rebalancer_fleet_jobs_total{outcome=" in scraped
        assert f'rebalancer_fleet_halted{{portfolio="{names[0]}"}} 0.0' in scraped

        status = cli(fleet_url, "fleet", "status", "--json")
        assert status.returncode == 0, status.stderr
        assert '"halted since' in status.stdout
    finally:
        for emu in emulators:
            emu.stop()


def _set_up(configs: Path, url: str, names: list[str], emulators: list[Emulator]) -> None:
    """The portfolios imported (the last one, `halted`, halted) and the budget lifted."""
    configs.mkdir()
    for name, emu in zip([*names, "halted"], emulators, strict=True):
        write_portfolio(configs, name, emu)
    added = cli(url, "fleet", "import", str(configs))
    assert added.returncode == 0, added.stderr
    # Twelve accounts behind this one loopback "IP" would spend Binance's 2,400/min in the
    # three rounds of the test; the shared budget has a test of its own.
    lifted = cli(url, "fleet", "budget", "binance", "1000000")
    assert lifted.returncode == 0, lifted.stderr
    halted = cli(url, "fleet", "halt", "halted", "--reason", "test")
    assert halted.returncode == 0, halted.stderr


def _trading_runs(store: Store, name: str) -> list[str]:
    """Run ids of the portfolio's runs that placed orders, oldest first."""
    return [run_id for run_id, _, orders in runs(store, name) if orders > 0]


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
