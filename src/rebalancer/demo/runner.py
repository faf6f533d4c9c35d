"""Running the demo: emulator + the daemon's wake-ups, cycles and journal, at high speed.

Each tick is one market day: the emulator's prices move, then the daemon's drift check runs
once (the same `Waker.wake` the scheduler's drift-check job runs in production) and decides
whether to rebalance. Driving the check by market day rather than by wall clock makes a run
reproducible: the same `--seed` gives the same rebalances on the same days on any machine.
Rebalances are shown as they happen; the demo ends after `rebalances` of them or `days` days,
and leaves a config beside its journal so `rebalancer history -c …` can review it afterwards.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from rebalancer import bootstrap
from rebalancer.config import Settings
from rebalancer.config.load import load_settings
from rebalancer.daemon.wake import Waker
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_PASSPHRASE,
    DEFAULT_API_SECRET,
    Emulator,
)
from rebalancer.emulator.config import PASSPHRASE_ENV, exchange_section
from rebalancer.emulator.state import seed_example_state
from rebalancer.notify import NullNotifier
from rebalancer.render.numbers import money, points
from rebalancer.review import history, history_table
from rebalancer.service.cycle import CycleResult


@dataclass
class DemoResult:
    days: int = 0
    cycles: list[CycleResult] = field(default_factory=list)
    journal_url: str = ""

    @property
    def rebalances(self) -> int:
        return sum(1 for c in self.cycles if c.ok and c.reports)


DEMO_CONFIG = """\
# The demo's portfolio, written by `rebalancer demo` beside its journal so that the journal
# can be reviewed afterwards: `rebalancer history -c THIS_FILE`, `rebalancer show -c THIS_FILE
# RUN_ID`. The exchange it points at (a local emulator) stopped with the demo.
mode = "live"
confirm_live = true

[portfolio]
name = "demo-60-40"
quote = "USDT"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}

[hedging]
max_leverage = 1
min_trade_notional = 20
collateral_buffer = 0.02   # prices move between snapshot and fill (fast here)

[schedule]
trigger = "threshold"
drift_abs = 0.03
drift_rel = 0.10

[storage]
url = "sqlite:///demo.db"

{exchange}"""


def demo_settings(base_url: str, folder: Path, venue: str = "binance") -> Settings:
    """The demo's settings, from the config file it writes into `folder`."""
    path = folder / "demo.toml"
    path.write_text(
        DEMO_CONFIG.format(exchange=exchange_section(base_url, venue)), encoding="utf-8"
    )
    env = {
        "REBALANCER_API_KEY": DEFAULT_API_KEY,
        "REBALANCER_API_SECRET": DEFAULT_API_SECRET,
        PASSPHRASE_ENV: DEFAULT_API_PASSPHRASE,
    }
    return load_settings(path, env)


async def run_demo(
    path: Iterator[dict[str, Decimal]],
    console: Console,
    *,
    rebalances: int,
    days: int,
    tick: float,
    journal_dir: Path | None,
    venue: str = "binance",
) -> DemoResult:
    folder = (journal_dir or Path(tempfile.mkdtemp(prefix="rebalancer-demo-"))).resolve()
    result = DemoResult(journal_url=f"sqlite:///{folder / 'demo.db'}")
    with Emulator(seed_example_state(slippage_bps="2"), venue=venue) as emu:
        settings = demo_settings(emu.base_url, folder, venue)
        with bootstrap.open_journal(settings) as journal:
            gateway = bootstrap.exchange_gateway(settings, settings.mode, journal)
            waker = _Recording(
                settings,
                gateway=gateway,
                journal=journal.journal,
                controls=journal.controls,
                notifier=NullNotifier(),
                clock=lambda: datetime.now(UTC),
                mode="live",
                result=result,
                console=console,
            )
            try:
                await _drive(
                    emu,
                    path,
                    waker,
                    result=result,
                    console=console,
                    rebalances=rebalances,
                    days=days,
                    tick=tick,
                )
            finally:
                await gateway.close()
            console.print(_summary(result))
            console.print(history_table(history(journal.store, limit=20)))
            config = folder / "demo.toml"
            console.print(
                f"Journal: {folder / 'demo.db'}. Review it with\n"
                f"  rebalancer history -c {config}\n"
                f"  rebalancer show -c {config} RUN_ID",
                soft_wrap=True,
            )
    return result


async def _drive(
    emu: Emulator,
    path: Iterator[dict[str, Decimal]],
    waker: Waker,
    *,
    result: DemoResult,
    console: Console,
    rebalances: int,
    days: int,
    tick: float,
) -> None:
    columns = (
        TextColumn("[bold]market day"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[prices]}"),
        TextColumn("rebalances {task.fields[n]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("days", total=days, prices="", n=0)
        for day, prices in enumerate(path):
            if day > days or result.rebalances >= rebalances:
                break
            for asset, price in prices.items():
                emu.set_spot_price(f"{asset}USDT", price)
                emu.set_mark_price(f"{asset}USDT", price)
            result.days = day
            shown = "  ".join(f"{a} {money(p)}" for a, p in prices.items())
            progress.update(task, completed=day, prices=shown, n=result.rebalances)
            await waker.wake(Wake.DRIFT_CHECK)
            await asyncio.sleep(tick)
        progress.update(task, n=result.rebalances)


class _Recording(Waker):
    """A waker that also shows each rebalance as it happens."""

    def __init__(
        self, settings: Settings, *, result: DemoResult, console: Console, **deps: object
    ) -> None:
        super().__init__(settings, **deps)  # type: ignore[arg-type]
        self._result = result
        self._console = console

    def _after(self, cycle: CycleResult) -> None:
        super()._after(cycle)
        self._result.cycles.append(cycle)
        if cycle.plan is None:
            return
        orders = ", ".join(
            f"{o.side.value} {o.amount.normalize():f} {o.instrument.split('/')[0]}"
            + (" (reduce)" if o.reduce_only else "")
            for o in cycle.plan.orders
        )
        after = cycle.residual.largest_drift_before if cycle.residual else None
        cap = {
            "binding": " [yellow](collateral short: the 1x cap binds)[/]",
            "over": " [yellow](losses put the account over the 1x cap: de-levered first)[/]",
        }.get(cycle.plan.cap.value, "")
        self._console.print(
            f"[bold green]rebalanced[/] day {self._result.days}: largest drift "
            f"{points(cycle.plan.largest_drift_before)} -> "
            f"{points(after) if after is not None else '?'}; {orders or 'no orders'}{cap}"
            + ("" if cycle.ok else f" [red]FAILED: {cycle.error}[/]")
        )


def _summary(result: DemoResult) -> Table:
    table = Table(title="Demo summary", title_justify="left", show_header=False)
    traded = sum((o.notional for c in result.cycles if c.plan for o in c.plan.orders), Decimal(0))
    fees = sum((r.fee or Decimal(0) for c in result.cycles for r in c.reports), Decimal(0))
    last = next((c for c in reversed(result.cycles) if c.residual), None)
    table.add_row("market days simulated", str(result.days))
    table.add_row("rebalances", str(result.rebalances))
    table.add_row("orders", str(sum(len(c.reports) for c in result.cycles)))
    table.add_row("notional traded", money(traded))
    table.add_row("fees", money(fees))
    if last and last.residual:
        table.add_row("largest drift now", points(last.residual.largest_drift_before))
    return table
