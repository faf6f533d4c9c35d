"""The `rebalancer` command: entry point that wires config, adapters and services together.

User mistakes (bad config, bad files, bad arguments) print one line per problem and exit 2;
nothing here prints a traceback for them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, NoReturn

import click
from rich.console import Console

from rebalancer import __version__, logs
from rebalancer.config import ConfigError, Mode, Settings, load_settings
from rebalancer.config.secrets import Credentials
from rebalancer.config.summary import render_summary
from rebalancer.domain.planner import PlanningError, plan
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.render.cycle_table import render_cycle
from rebalancer.render.plan_json import plan_to_dict
from rebalancer.render.plan_table import print_plan
from rebalancer.service.cycle import CycleResult, instruments_of, run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from rebalancer.snapshot_file import SnapshotFileError, read_snapshot, snapshot_to_dict

EXIT_FAILED = 1
EXIT_USAGE = 2

CONFIG_OPTION = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file (see config/ for commented examples).",
)


def _fail(source: str, problems: list[str], code: int = EXIT_USAGE) -> NoReturn:
    for problem in problems:
        click.echo(f"error: {source}: {problem}" if source else f"error: {problem}", err=True)
    sys.exit(code)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _console() -> Console:
    """A console for tables: a real terminal's width, or a wide page when piped to a file."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _settings(path: Path) -> Settings:
    try:
        return load_settings(path, os.environ)
    except ConfigError as exc:
        _fail(exc.source, exc.problems)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rebalancer")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
    help="Log events at this level and above go to stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["console", "json"]),
    default="console",
    show_default=True,
    help="Readable lines, or one JSON object per line.",
)
def main(log_level: str, log_format: Literal["console", "json"]) -> None:
    """Keep a crypto portfolio on its target allocation with perpetual-futures hedges.

    Spot is never sold: the bot opens and adjusts perp hedges at no more than 1x leverage so
    that each asset's net exposure (spot + hedge) matches its target weight.

    Exit codes: 0 done, 1 the run failed (reason printed), 2 a usage or config error.
    """
    logs.configure(log_level, log_format)


@main.command("check-config")
@CONFIG_OPTION
def check_config(config_path: Path) -> None:
    """Validate a config file and print a readable summary.

    Every problem is printed on one line naming the field and the fix; the exit code is 2
    when there is any.
    """
    settings = _settings(config_path)
    _console().print(render_summary(settings))


@main.command("plan")
@CONFIG_OPTION
@click.option(
    "--snapshot",
    "snapshot_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON snapshot of balances, positions, prices and market rules (format in README).",
)
@click.option("--json", "as_json", is_flag=True, help="Print stable JSON instead of tables.")
def plan_command(config_path: Path, snapshot_path: Path, as_json: bool) -> None:
    """Plan the hedge orders for a snapshot, offline. Nothing is sent anywhere.

    Shows, per line, the spot value, the hedge, the drift before, the target hedge and the
    drift the orders would leave; then the orders in the sequence they would be sent
    (reductions first) and why any leg was skipped or limited by the leverage cap.
    """
    settings = _settings(config_path)
    try:
        snapshot = read_snapshot(snapshot_path)
    except SnapshotFileError as exc:
        _fail(exc.source, exc.problems)
    quote = settings.config.portfolio.quote
    if snapshot.quote != quote:
        _fail(str(snapshot_path), [f"quote is {snapshot.quote} but the config's is {quote}"])
    try:
        result = plan(snapshot, settings.strategy)
    except PlanningError as exc:
        _fail(str(snapshot_path), [str(exc)])
    if as_json:
        click.echo(json.dumps(plan_to_dict(result), indent=2))
    else:
        print_plan(result, _console())


def _gateway(settings: Settings) -> CcxtGateway:
    client = build_client(settings.config.exchange, settings.credentials)
    return CcxtGateway(client, quote=settings.config.portfolio.quote)


def _need_credentials(settings: Settings, what: str) -> Credentials:
    if settings.credentials is None:
        ex = settings.config.exchange
        _fail(
            settings.source,
            [
                f"{what} reads the account: set ${ex.api_key_env} and "
                f"${ex.api_secret_env} (or their _FILE variants)"
            ],
        )
    return settings.credentials


@main.command("snapshot")
@CONFIG_OPTION
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the snapshot here instead of standard output.",
)
def snapshot_command(config_path: Path, output: Path | None) -> None:
    """Read the account now and write a snapshot file (the format `plan --snapshot` reads).

    Reads only: balances, positions, mark and spot prices, and market rules.
    """
    settings = _settings(config_path)
    _need_credentials(settings, "snapshot")

    async def read() -> dict[str, object]:
        gateway = _gateway(settings)
        try:
            strategy = settings.strategy
            snap = await gateway.snapshot(
                sorted(strategy.weights),
                instruments_of(strategy),
                settings.config.portfolio.off_exchange,
            )
            return snapshot_to_dict(snap)
        finally:
            await gateway.close()

    try:
        document = asyncio.run(read())
    except ExchangeFailure as exc:
        _fail("", [f"{type(exc).__name__}: {exc}"], EXIT_FAILED)
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"snapshot written to {output}", err=True)


@main.command("once")
@CONFIG_OPTION
@click.option(
    "--mode",
    type=click.Choice([m.value for m in Mode]),
    help="Override the config's mode for this run.",
)
@click.option("--yes", is_flag=True, help="Confirm live trading for this run.")
def once_command(config_path: Path, mode: str | None, yes: bool) -> None:
    """Run one rebalance cycle now: snapshot, plan, orders, post-trade snapshot.

    Prints the plan, each order's outcome and the drift left. `--mode dry-run` reads the
    account and plans but places nothing. `--mode live` places real orders and refuses to start
    without --yes (or `confirm_live = true` in the config); it names the account it trades.
    """
    settings = _settings(config_path)
    run_mode = Mode(mode) if mode else settings.mode
    if run_mode is Mode.PAPER:
        _fail(
            settings.source,
            [
                "paper mode is not available in this version; "
                "use --mode dry-run to plan against the real account"
            ],
        )
    credentials = _need_credentials(settings, f"{run_mode.value} mode")
    account = f"{settings.config.exchange.id} ({credentials.fingerprint()})"
    if run_mode is Mode.LIVE and not (yes or settings.config.confirm_live):
        _fail(
            settings.source,
            [f"live mode places real orders on {account}; pass --yes or set confirm_live = true"],
        )
    console = _console()
    console.print(
        f"[bold]{run_mode.value}[/] cycle on {account}, portfolio "
        f"{settings.config.portfolio.name!r}"
    )
    result = asyncio.run(_once(settings, run_mode))
    if result.plan is not None:
        print_plan(result.plan, console)
    console.print(render_cycle(result))
    sys.exit(0 if result.ok else EXIT_FAILED)


async def _once(settings: Settings, mode: Mode) -> CycleResult:
    gateway = _gateway(settings)
    try:
        if mode is Mode.LIVE:
            await _check_key(settings, gateway)
        return await run_cycle(settings, gateway, MemoryJournal(), _utcnow, mode=mode.value)
    except ExchangeFailure as exc:
        _fail("", [f"{type(exc).__name__}: {exc}"], EXIT_FAILED)
    finally:
        await gateway.close()


async def _check_key(settings: Settings, gateway: CcxtGateway) -> None:
    permissions = await gateway.key_permissions()
    if permissions is None:
        return
    if permissions.can_withdraw and not settings.config.exchange.accept_withdrawal_permission:
        _fail(
            settings.source,
            [
                "the API key can withdraw funds; use a key without withdrawal "
                "permission, or set exchange.accept_withdrawal_permission = true"
            ],
        )
    if not permissions.can_trade_futures:
        _fail(settings.source, ["the API key cannot trade futures; enable futures on the key"])


@main.command("emulator")
@click.option(
    "--port",
    type=int,
    default=8800,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file with the initial balances, positions, prices and markets.",
)
def emulator_command(port: int, state_path: Path | None) -> None:
    """Run the local Binance emulator on 127.0.0.1 until Ctrl-C.

    Prints the `[exchange]` section that points a config at it, and the demo credentials.
    Everything stays on this machine; no real exchange is contacted.
    """
    from rebalancer.emulator.__main__ import serve, usage_text  # noqa: PLC0415 - only this command

    serve(port, state_path, lambda url: click.echo(usage_text(url)))
