"""Commands that need no exchange and no database: `check-config` and `plan`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rebalancer import bootstrap
from rebalancer.cli.common import CONFIG_OPTION, console, fail, settings_from
from rebalancer.config.summary import render_summary
from rebalancer.domain.planner import PlanningError
from rebalancer.render.plan_json import plan_to_dict
from rebalancer.render.plan_table import print_plan
from rebalancer.service.cycle import make_plan
from rebalancer.snapshot_file import SnapshotFileError, read_snapshot


@click.command("check-config")
@CONFIG_OPTION
def check_config(config_path: Path) -> None:
    """Validate a config file and print a readable summary.

    Every problem is printed on one line naming the field and the fix; the exit code is 2
    when there is any.
    """
    settings = settings_from(config_path)
    try:
        bootstrap.check_runnable(settings)
    except bootstrap.SetupError as exc:
        fail(settings.source, [str(exc)])
    console().print(render_summary(settings))


@click.command("plan")
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
    (reductions first); per hedged line, the hedge's projected carry over `carry.horizon`
    beside the spot trade it replaces (figures only, no tax advice); and why any leg was
    skipped or limited by the leverage cap or `hedging.max_borrow`.
    """
    settings = settings_from(config_path, credentials=False)  # offline: no key needed
    try:
        snapshot = read_snapshot(snapshot_path)
    except SnapshotFileError as exc:
        fail(exc.source, exc.problems)
    quote = settings.config.portfolio.quote
    if snapshot.quote != quote:
        fail(str(snapshot_path), [f"quote is {snapshot.quote} but the config's is {quote}"])
    try:
        result = make_plan(settings, snapshot)
    except PlanningError as exc:
        fail(str(snapshot_path), [str(exc)])
    if as_json:
        document = plan_to_dict(result)
        click.echo(json.dumps(document, indent=2))
    else:
        print_plan(result, console(), snapshot.borrowing)


COMMANDS = [check_config, plan_command]
