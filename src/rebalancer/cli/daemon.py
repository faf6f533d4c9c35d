"""The long-lived service and its controls: `run`, `status`, `halt`, `resume`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import click
import structlog
from rich.table import Table

from rebalancer import bootstrap, logs
from rebalancer.cli.carry import read_with_carry
from rebalancer.cli.common import (
    CONFIG_OPTION,
    JSON_OPTION,
    console,
    fail,
    settings_from,
    user_errors,
    utcnow,
)
from rebalancer.cli.trading import MODE_OPTION, check_key, describe_account
from rebalancer.config import ConfigError, Mode, Settings, load_settings
from rebalancer.daemon.app import serve
from rebalancer.daemon.health import HealthServer
from rebalancer.daemon.metrics import DaemonMetrics
from rebalancer.daemon.scheduler import next_calendar
from rebalancer.daemon.wake import Waker
from rebalancer.domain.exposure import valuation
from rebalancer.domain.margin import margin_health
from rebalancer.render.borrowing import borrowing_line
from rebalancer.render.margin_line import margin_line
from rebalancer.render.numbers import money, percent, points
from rebalancer.review import history
from rebalancer.review.render_carry import carry_month_to_dict, carry_status_line
from rebalancer.service.controls import Controls
from rebalancer.store import WriterLease
from rebalancer.web.overview import live_overview

log = structlog.get_logger(__name__)


@click.command("run")
@CONFIG_OPTION
@MODE_OPTION
@click.option("--yes", is_flag=True, help="Confirm live trading for this daemon.")
def run_command(config_path: Path, mode: str | None, yes: bool) -> None:
    """Run as a daemon: calendar rebalances and/or drift checks, until SIGTERM or Ctrl-C.

    On start it reconciles runs a crash left open, then schedules: a calendar cycle on
    `schedule.cron`, and a drift check every `schedule.drift_check_interval` that rebalances
    when the trigger policy fires and watches margin health. `[policy]` applies in every
    cycle: a due roll closes hedges then trades spot (a roll a crash cut is finished first),
    and top-up moves up to `safety.top_up_max` of spot quote to futures below the margin
    alert (also on an alert between cycles, once per excursion); each is journaled and
    notified once while unchanged. SIGHUP reloads the config (a bad file keeps the old one).
    Logs are JSON lines (readable lines on a terminal).
    """
    settings = settings_from(config_path)
    run_mode = Mode(mode) if mode else settings.mode
    fmt = settings.config.daemon.log_format
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    logs.configure("info", fmt)
    account = describe_account(settings, run_mode)
    if run_mode is Mode.LIVE and not (yes or settings.config.confirm_live):
        fail(
            settings.source,
            [f"live mode places real orders on {account}; pass --yes or set confirm_live = true"],
        )
    with user_errors():
        code = _serve(settings, run_mode, config_path)
    sys.exit(code)


def _serve(settings: Settings, mode: Mode, config_path: Path) -> int:
    with (
        bootstrap.open_journal(settings) as journal,
        bootstrap.writer_lock(settings, journal) as lease,
    ):
        return asyncio.run(_daemon(settings, mode, config_path, journal, lease))


async def _daemon(
    settings: Settings,
    mode: Mode,
    config_path: Path,
    journal: bootstrap.Journal,
    lease: WriterLease,
) -> int:
    gateway = bootstrap.exchange_gateway(settings, mode, journal)
    notifier = bootstrap.notifier(settings)
    metrics = DaemonMetrics(utcnow)
    health = settings.config.health
    server = HealthServer.from_config(health, metrics) if health.enabled else None
    try:
        if mode is Mode.LIVE:
            await check_key(settings, gateway)
        if server is not None:
            server.start()
            log.info("health_listening", url=server.url)
        waker = Waker(
            settings,
            gateway=gateway,
            journal=journal.journal,
            controls=journal.controls,
            notifier=notifier,
            clock=utcnow,
            mode=mode.value,
            metrics=metrics,
            seat=lease,
            carry=journal.carry,
        )
        return await serve(waker, config_path, _loader)
    finally:
        if server is not None:
            server.stop()
        await notifier.aclose()
        await gateway.close()


def _loader(path: Path) -> Settings:
    return load_settings(path, os.environ)


@click.command("status")
@CONFIG_OPTION
@MODE_OPTION
@JSON_OPTION
def status_command(config_path: Path, mode: str | None, as_json: bool) -> None:
    """Current weights and drift per line, hedges, gross leverage, margin health, a unified
    account's borrowed quote and its share of equity, this month's carry (funding + borrow
    interest), trading controls, the next scheduled wake-up and the last run. Reads the account
    (and brings the carry ledger up to date); places nothing. --json prints the web overview's
    document (format overview@1) for this live snapshot, with `carry_this_month`."""
    settings = settings_from(config_path)
    run_mode = Mode(mode) if mode else settings.mode
    describe_account(settings, run_mode)  # a paper config without an account stops here
    with user_errors(), bootstrap.open_journal(settings) as journal:
        gateway = bootstrap.exchange_gateway(settings, run_mode, journal)
        snapshot = asyncio.run(read_with_carry(settings, gateway, journal.carry))
        controls = journal.controls.load(settings.config.portfolio.name)
        month = snapshot.taken_at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        this_month = journal.carry.entries(settings.config.portfolio.name, month)
        last = history(journal.store, portfolio=settings.config.portfolio.name, limit=1)
    if as_json:
        document = live_overview(settings, snapshot, controls, utcnow(), last)
        document["carry_this_month"] = carry_month_to_dict(this_month)
        click.echo(json.dumps(document, indent=2))
        return
    strategy = settings.strategy
    value = valuation(strategy, snapshot)
    health = margin_health(snapshot, settings.config.safety.maintenance_margin_rate)
    table = Table(
        title=f"{settings.config.portfolio.name} ({run_mode.value}) at "
        f"{snapshot.taken_at:%Y-%m-%d %H:%M:%S} UTC",
        title_justify="left",
    )
    for header in ("line", "target", "weight", "drift", "relative", "spot value", "hedge"):
        table.add_column(header, justify="left" if header == "line" else "right")
    for state in value.lines:
        rel = state.relative_drift(value.equity)
        table.add_row(
            state.line.name,
            percent(state.line.weight),
            percent(state.exposure / value.equity),
            points(state.drift(value.equity)),
            "" if rel is None else f"{rel * 100:+.1f}%",
            money(state.spot_value),
            money(state.hedge, signed=True),
        )
    out = console()
    out.print(table)
    out.print(margin_line(value.equity, snapshot.quote, health, strategy.max_leverage))
    borrowed = borrowing_line(snapshot.borrowing, snapshot.quote)
    if borrowed is not None:
        out.print(borrowed)
    out.print(carry_status_line(this_month, snapshot.quote), highlight=False)
    out.print(f"Trading: {controls.describe()}")
    out.print(f"Next wake-up: {_next(settings)}")
    if last:
        row = last[0]
        out.print(
            f"Last run: {row.run_id} {row.mode} {row.trigger} -> {row.state.value} at "
            f"{row.started_at:%Y-%m-%d %H:%M} UTC"
        )
    else:
        out.print("Last run: none yet")


def _next(settings: Settings) -> str:
    now = utcnow()
    interval = timedelta(seconds=settings.config.schedule.drift_check_interval)
    calendar = next_calendar(settings, now)
    text = f"drift check every {interval}"
    if calendar is not None:
        text += f"; calendar rebalance {calendar:%Y-%m-%d %H:%M} UTC"
    return text + " (when the daemon runs)"


@click.command("halt")
@CONFIG_OPTION
@click.option("--reason", default="halted by the user", show_default=True)
def halt_command(config_path: Path, reason: str) -> None:
    """Kill switch: stop new orders at once (a running daemon sees it before its next step).

    Survives restarts until `rebalancer resume`.
    """
    settings = settings_from(config_path, credentials=False)
    _set_controls(
        settings, lambda c: Controls(True, c.circuit_open, reason, c.consecutive_failures, utcnow())
    )
    click.echo(f"halted: {reason}")


@click.command("resume")
@CONFIG_OPTION
def resume_command(config_path: Path) -> None:
    """Lift the kill switch and close the circuit breaker; trading resumes at the next wake."""
    settings = settings_from(config_path, credentials=False)
    _set_controls(settings, lambda _: Controls())
    click.echo("trading resumed")


def _set_controls(settings: Settings, change: object) -> None:
    with user_errors(), bootstrap.open_journal(settings) as journal:
        name = settings.config.portfolio.name
        journal.controls.save(name, change(journal.controls.load(name)))  # type: ignore[operator]


COMMANDS = [run_command, status_command, halt_command, resume_command]

__all__ = ["COMMANDS", "ConfigError"]
