"""The `rebalancer` command: entry point that wires config, adapters and services together.

User mistakes (bad config, bad files, bad arguments) print one line per problem and exit 2;
nothing here prints a traceback for them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console

from rebalancer import __version__
from rebalancer.config import ConfigError, Settings, load_settings
from rebalancer.config.summary import render_summary
from rebalancer.domain.planner import PlanningError, plan
from rebalancer.render.plan_json import plan_to_dict
from rebalancer.render.plan_table import print_plan
from rebalancer.snapshot_file import SnapshotFileError, read_snapshot

EXIT_USAGE = 2

CONFIG_OPTION = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file (see config/ for commented examples).",
)


def _fail(source: str, problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"error: {source}: {problem}", err=True)
    sys.exit(EXIT_USAGE)


def _console() -> Console:
    """A console for tables: a real terminal's width, or a wide page when piped to a file."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _settings(path: Path) -> Settings:
    try:
        return load_settings(path, os.environ)
    except ConfigError as exc:
        _fail(exc.source, exc.problems)
        raise  # unreachable: _fail exits


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rebalancer")
def main() -> None:
    """Keep a crypto portfolio on its target allocation with perpetual-futures hedges.

    Spot is never sold: the bot opens and adjusts perp hedges at no more than 1x leverage so
    that each asset's net exposure (spot + hedge) matches its target weight.
    """


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
