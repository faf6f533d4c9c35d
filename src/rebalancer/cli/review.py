"""Reviewing what the bot did: `history`, `show`, `export`, and `db upgrade`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import click

from rebalancer import bootstrap
from rebalancer.cli.common import (
    CONFIG_OPTION,
    JSON_OPTION,
    console,
    fail,
    settings_from,
    user_errors,
)
from rebalancer.output_file import OUTPUT_FILE
from rebalancer.review import (
    export,
    history,
    history_table,
    history_to_dict,
    run_to_dict,
    run_view,
    show,
)
from rebalancer.review.export import Format, What
from rebalancer.store import SchemaError, current_revision, head_revision, upgrade


def parse_since(value: str | None) -> datetime | None:
    """A `--since` value as aware UTC (a date is its midnight), or one line and exit 2."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail("", [f"--since {value!r} is not a date; use YYYY-MM-DD or an ISO time"])
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command("history")
@CONFIG_OPTION
@click.option("--since", help="Only runs started at or after this date/time (UTC).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--mode", type=click.Choice(["live", "paper", "dry-run"]), help="Only this mode.")
@JSON_OPTION
def history_command(
    config_path: Path, since: str | None, limit: int, mode: str | None, as_json: bool
) -> None:
    """One line per run, newest first: time, trigger, mode, state, largest drift before and
    after, orders, notional traded and fees."""
    settings = settings_from(config_path, credentials=False)
    with user_errors(), bootstrap.open_journal(settings, create=False) as journal:
        rows = history(
            journal.store,
            portfolio=settings.config.portfolio.name,
            since=parse_since(since),
            limit=limit,
            mode=mode,
        )
    if as_json:
        click.echo(json.dumps(history_to_dict(rows), indent=2))
    else:
        console().print(history_table(rows))


@click.command("show")
@click.argument("run_id")
@CONFIG_OPTION
@JSON_OPTION
def show_command(run_id: str, config_path: Path, as_json: bool) -> None:
    """One run in full: snapshot, plan with reasons, orders and fills, events, residual drift."""
    settings = settings_from(config_path, credentials=False)
    with user_errors(), bootstrap.open_journal(settings, create=False) as journal:
        detail = show(journal.store, run_id)
    if detail is None:
        fail("", [f"no run {run_id!r} in {settings.config.storage.url}; see `rebalancer history`"])
    if as_json:
        click.echo(json.dumps(run_to_dict(detail), indent=2))
    else:
        console().print(run_view(detail))


@click.command("export")
@CONFIG_OPTION
@click.option("--what", type=click.Choice(["runs", "orders", "fills"]), required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=OUTPUT_FILE,
    help="File to write (standard output when omitted).",
)
@click.option("--since", help="Only runs started at or after this date/time (UTC).")
def export_command(
    config_path: Path, what: str, fmt: str, output: Path | None, since: str | None
) -> None:
    """Export runs, orders or fills as CSV or JSON, for spreadsheets and tax records."""
    settings = settings_from(config_path, credentials=False)
    what_ = cast(What, what)
    fmt_ = cast(Format, fmt)
    with user_errors(), bootstrap.open_journal(settings, create=False) as journal:
        portfolio = settings.config.portfolio.name
        if output is None:
            export(
                journal.store,
                what_,
                fmt_,
                sys.stdout,
                portfolio=portfolio,
                since=parse_since(since),
            )
        else:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = export(
                    journal.store, what_, fmt_, out, portfolio=portfolio, since=parse_since(since)
                )
            click.echo(f"{count} {what} written to {output}", err=True)


@click.group("db")
def db_group() -> None:
    """The journal database."""


@db_group.command("upgrade")
@CONFIG_OPTION
def db_upgrade(config_path: Path) -> None:
    """Create the journal, or migrate it to this version's schema (SQLite or PostgreSQL)."""
    settings = settings_from(config_path, credentials=False)
    url = settings.config.storage.url
    try:
        before = current_revision(url)
        upgrade(url)
    except SchemaError as exc:  # a file that is not a journal: never replaced
        fail("storage.url", [str(exc)])
    except Exception as exc:  # any database failure is reported in one line
        fail("storage.url", [f"{type(exc).__name__}: {str(exc).splitlines()[0]}"], 1)
    after = head_revision()
    click.echo(f"journal at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@click.command("report")
@CONFIG_OPTION
@click.option(
    "-o",
    "--output",
    type=OUTPUT_FILE,
    required=True,
    help="HTML file to write.",
)
@click.option("--mode", type=click.Choice(["live", "paper", "dry-run"]), help="Only this mode.")
def report_command(config_path: Path, output: Path, mode: str | None) -> None:
    """An HTML report of what really happened (from the journal): equity, largest drift,
    hedge notional and leverage, cumulative fees: the backtest's plots for live or paper runs."""
    from rebalancer.review.report import journal_report  # noqa: PLC0415 - numpy, matplotlib

    settings = settings_from(config_path, credentials=False)
    with user_errors(), bootstrap.open_journal(settings, create=False) as journal:
        page = journal_report(journal.store, settings.config.portfolio.name, mode=mode)
    if page is None:
        fail("", ["no runs with snapshots in the journal yet; run a cycle first"], 1)
    output.write_text(page, encoding="utf-8")
    click.echo(f"report written to {output}", err=True)


COMMANDS = [history_command, show_command, export_command, report_command, db_group]
