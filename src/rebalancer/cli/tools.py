"""Tools around the bot: the local exchange emulator."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from rebalancer.cli.common import EXIT_FAILED, console, fail
from rebalancer.config.model import EMULATED_VENUES


@click.command("emulator")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8800,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with the initial balances, positions, prices and markets "
    "(docs/emulator.md); default: the guide's 60/40 account with BTC, ETH, SOL, UNI, AAVE "
    "and a DEFI index perp listed.",
)
@click.option(
    "--venue",
    type=click.Choice(EMULATED_VENUES),
    default="binance",
    show_default=True,
    help="The exchange dialect to speak: Binance USDⓈ-M (classic account), Bybit V5 "
    "(unified account: the coins are collateral) or OKX V5 (multi-currency margin account: "
    "the coins are collateral, swaps in contracts; prints the passphrase too).",
)
def emulator_command(port: int, state_path: Path | None, venue: str) -> None:
    """Run the local exchange emulator (Binance, Bybit or OKX) on 127.0.0.1 until Ctrl-C.

    Prints the `[exchange]` section that points a config at it, and the demo credentials.
    Everything stays on this machine; no real exchange is contacted.
    """
    from rebalancer.emulator.__main__ import serve, usage_text  # noqa: PLC0415 - this command only
    from rebalancer.emulator.state import StateFileError  # noqa: PLC0415

    try:
        serve(port, state_path, lambda url: click.echo(usage_text(url, venue)), venue)
    except StateFileError as exc:
        fail("--state", [str(exc)])


@click.command("demo")
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="Random-walk seed: the same seed gives the same run.",
)
@click.option(
    "--prices",
    "prices_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay daily closes from a `date,BTC,ETH,...` CSV instead.",
)
@click.option(
    "--rebalances",
    type=click.IntRange(1, 50),
    default=4,
    show_default=True,
    help="Stop after this many rebalances.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 2000),
    default=120,
    show_default=True,
    help="Stop after this many market days.",
)
@click.option(
    "--speed",
    type=click.FloatRange(0.01, 10),
    default=0.1,
    show_default=True,
    help="Real seconds per market day.",
)
@click.option(
    "--journal-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo's journal here (default: a temporary folder).",
)
@click.option(
    "--venue",
    type=click.Choice(EMULATED_VENUES),
    default=EMULATED_VENUES[0],
    show_default=True,
    help="The exchange the emulator plays: Binance USDⓈ-M (a separate futures wallet), "
    "Bybit V5 (a unified account) or OKX V5 (multi-currency margin); on the last two the "
    "coins are collateral.",
)
def demo_command(
    *,
    seed: int,
    prices_path: Path | None,
    rebalances: int,
    days: int,
    speed: float,
    journal_dir: Path | None,
    venue: str,
) -> None:
    """Watch the bot work: no account, no credentials, no internet.

    Starts the local exchange emulator with the guide's 60/40 portfolio ($7,000 BTC, $3,000
    ETH, $2,000 USDT collateral), moves prices one market day per tick, and runs the daemon's
    drift check once per day in live mode against it: it rebalances when a weight is 3 points
    (or 10 %) off target. Each rebalance is shown as it happens; a summary, the journal's
    history and the commands that review it follow. The same --seed gives the same rebalances
    on the same days; --rebalances and --days say when to stop, --speed how fast days pass;
    --venue which exchange's dialect and account kind the emulator plays.
    """
    import asyncio  # noqa: PLC0415 - this command only

    from rebalancer.demo import prices  # noqa: PLC0415
    from rebalancer.demo.runner import run_demo  # noqa: PLC0415

    path = prices.replay(prices_path, days) if prices_path else prices.random_walk(seed, days)
    if journal_dir is not None:
        journal_dir.mkdir(parents=True, exist_ok=True)
    out = console()
    out.print(
        "[bold]futures-rebalancer demo[/]: 60/40 BTC/ETH with 1/6 USDT collateral on a "
        f"local emulator{'' if venue == EMULATED_VENUES[0] else f' playing {venue}'} "
        "(nothing leaves this machine)"
    )
    result = asyncio.run(
        run_demo(
            path,
            out,
            rebalances=rebalances,
            days=days,
            tick=speed,
            journal_dir=journal_dir,
            venue=venue,
        )
    )
    failed = [cycle for cycle in result.cycles if not cycle.ok]
    if failed:
        fail("", [f"{len(failed)} demo cycle(s) failed; the last: {failed[-1].error}"], EXIT_FAILED)
    if result.rebalances == 0:
        out.print(
            f"No rebalance in {result.days} market day(s): drift stayed inside the band. "
            "Try more --days or another --seed."
        )


class _Lazy(click.Command):
    """A command whose module (numpy, matplotlib) is imported only when it is run or asked
    for help, so the daemon and the other commands do not carry it in memory."""

    def __init__(self, name: str, module: str, attribute: str, short_help: str) -> None:
        super().__init__(name, short_help=short_help)
        self._target = (module, attribute)

    def _real(self) -> click.Command:
        module, attribute = self._target
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)  # noqa: S101 - a programming error otherwise
        return command

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return self._real().get_params(ctx)

    def invoke(self, ctx: click.Context) -> object:
        return self._real().invoke(ctx)

    def get_help(self, ctx: click.Context) -> str:
        return self._real().get_help(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return self._real().parse_args(ctx, args)


COMMANDS = [
    emulator_command,
    demo_command,
    _Lazy(
        "backtest",
        "rebalancer.backtest.command",
        "backtest_command",
        "Replay price history through hold, spot rebalancing and the futures overlay.",
    ),
    _Lazy(
        "fetch-history",
        "rebalancer.cli.fetch",
        "fetch_history_command",
        "Download daily closes (and funding rates) for `backtest`, resuming files.",
    ),
]
