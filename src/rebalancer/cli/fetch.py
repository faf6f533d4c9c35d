"""The `fetch-history` command: download daily closes and funding rates for the backtest.

Wiring only (the logic is `rebalancer.backtest.fetch`): read the config, build the public ccxt
client, show a progress bar per series and report what was written. Bad arguments and files
that cannot be resumed print one line and exit 2; exchange failures one line and exit 1.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from rebalancer.backtest.fetch import (
    FetchError,
    FetchPlan,
    HistoryFetcher,
    SeriesResult,
    parse_day,
)
from rebalancer.cli.boundary import exchange_line
from rebalancer.cli.common import CONFIG_OPTION, EXIT_FAILED, EXIT_USAGE, fail, settings_from
from rebalancer.config import Settings
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.exchange.retry import RetryPolicy

DEFAULT_START = "2017-01-01"
RETRY_POLICY = RetryPolicy()  # module level so tests can swap in a policy without waits


class _RichProgress:
    """A `ProgressSink` drawing one rich bar per series on stderr."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, label: str, total: int) -> None:
        self._tasks[label] = self._progress.add_task(label, total=total)

    def advance(self, label: str, rows: int) -> None:
        self._progress.advance(self._tasks[label], rows)

    def finish(self, label: str) -> None:
        task = self._tasks[label]
        done = self._progress.tasks[self._tasks[label]].completed
        self._progress.update(task, total=done, completed=done)


@click.command("fetch-history")
@CONFIG_OPTION
@click.option(
    "--assets",
    default=None,
    metavar="BTC,ETH",
    help="Comma-separated assets. Default: the config's target assets.",
)
@click.option(
    "--from",
    "start_text",
    default=None,
    metavar="DATE",
    help=f"First UTC day (YYYY-MM-DD). Default: {DEFAULT_START} (all the exchange has).",
)
@click.option(
    "--to",
    "end_text",
    default=None,
    metavar="DATE",
    help="Last UTC day, inclusive (YYYY-MM-DD). Default: now (closed candles only).",
)
@click.option(
    "--prices",
    "prices_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Wide closes CSV (date,BTC,ETH,...) to write, or to resume when it exists.",
)
@click.option(
    "--funding-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write each perp's funding as DIR/funding_<ASSET><QUOTE>.csv (resumed likewise).",
)
def fetch_history_command(  # click passes options by keyword
    *,
    config_path: Path,
    assets: str | None,
    start_text: str | None,
    end_text: str | None,
    prices_path: Path,
    funding_dir: Path | None,
) -> None:
    """Download daily closes (and funding rates) for `backtest`, resuming existing files."""
    settings = settings_from(config_path, credentials=False)
    now = datetime.now(UTC)
    try:
        plan = _plan(
            settings,
            assets=assets,
            start_text=start_text,
            end_text=end_text,
            prices_path=prices_path,
            funding_dir=funding_dir,
            now=now,
        )
    except FetchError as exc:
        fail("", [str(exc)], EXIT_USAGE)
    try:
        results = asyncio.run(_run(settings, plan, now))
    except FetchError as exc:
        fail("", [str(exc)], EXIT_USAGE)
    except ExchangeFailure as exc:
        fail("", [exchange_line(exc)], EXIT_FAILED)
    for result in results:
        after = f" after {result.resumed_after}" if result.resumed_after else ""
        click.echo(f"{result.path}: {result.added} rows added{after}")


def _plan(
    settings: Settings,
    *,
    assets: str | None,
    start_text: str | None,
    end_text: str | None,
    prices_path: Path,
    funding_dir: Path | None,
    now: datetime,
) -> FetchPlan:
    config = settings.config
    if assets is None:
        chosen = tuple(config.portfolio.asset_weights)
    else:
        chosen = tuple(a.strip().upper() for a in assets.split(",") if a.strip())
        if not chosen:
            raise FetchError("--assets lists no asset; use e.g. --assets BTC,ETH")
    if len(set(chosen)) != len(chosen):
        raise FetchError("--assets names an asset twice")
    start = parse_day(start_text or DEFAULT_START, "--from")
    today = now.date()
    end = today if end_text is None else parse_day(end_text, "--to")
    if start > end:
        raise FetchError(f"--from {start} is after --to {end}")
    if start > today:
        raise FetchError(f"--from {start} is in the future")
    return FetchPlan(
        assets=chosen,
        quote=config.portfolio.quote,
        perps={a: config.instrument_for(a) for a in chosen},
        start=start,
        end=min(end, today),
        prices=prices_path,
        funding_dir=funding_dir,
    )


async def _run(settings: Settings, plan: FetchPlan, now: datetime) -> list[SeriesResult]:
    try:
        client: Any = build_client(settings.config.exchange, None)
    except ValueError as exc:
        raise FetchError(str(exc)) from None
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
    )
    try:
        with Progress(*columns, console=console, disable=not console.is_terminal) as bars:
            fetcher = HistoryFetcher(
                client, policy=RETRY_POLICY, now=now, progress=_RichProgress(bars)
            )
            return await fetcher.run(plan)
    finally:
        await client.close()
