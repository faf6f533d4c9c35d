"""The fleet: `fleet init|add|import|list|show|remove|halt|resume|wake|budget|status`, `worker`.

Portfolios live in a PostgreSQL database (`--database`, or $REBALANCER_FLEET_DATABASE), each
config validated exactly as `check-config` validates a file. `worker` runs procrastinate
workers that wake portfolios one job at a time per portfolio. The single-portfolio daemon
(`run`) stays the default and needs none of this.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from rebalancer import logs
from rebalancer.cli.common import JSON_OPTION, console, fail, user_errors, utcnow
from rebalancer.config import ConfigError
from rebalancer.domain.triggers import Wake
from rebalancer.fleet import registry
from rebalancer.fleet.budget import budget_for, set_budget
from rebalancer.fleet.metrics import FleetMetrics
from rebalancer.fleet.status import fleet_status
from rebalancer.render.numbers import points
from rebalancer.service.controls import Controls
from rebalancer.store import SchemaError, SqlControls, Store, check_schema, open_store, upgrade

DATABASE_ENV = "REBALANCER_FLEET_DATABASE"
DATABASE_OPTION = click.option(
    "--database",
    "database",
    envvar=DATABASE_ENV,
    help=f"The fleet's PostgreSQL URL (default ${DATABASE_ENV}).",
)


def _url(database: str | None) -> str:
    if not database:
        fail(
            "--database",
            [f"the fleet needs a PostgreSQL URL; pass --database or set ${DATABASE_ENV}"],
        )
    try:
        backend = make_url(database).get_backend_name()
    except ArgumentError:
        fail("--database", ["is not a database URL; use postgresql://user@host:5432/name"])
    if backend not in ("postgresql", "postgres"):
        fail("--database", ["the fleet runs on PostgreSQL; use a postgresql:// URL"])
    return database


@contextmanager
def _store(database: str | None, *, create: bool = False) -> Iterator[Store]:
    url = _url(database)
    with user_errors():
        try:
            check_schema(url)
        except SchemaError as exc:
            if not (create and exc.empty):
                fail("--database", [f"{exc}; `rebalancer fleet init` prepares a new database"])
            upgrade(url)
        store = open_store(url)
        try:
            yield store
        finally:
            store.close()


@click.group("fleet")
def fleet_group() -> None:
    """Many portfolios on PostgreSQL workers (see docs/fleet.md)."""


@fleet_group.command("init")
@DATABASE_OPTION
def init_command(database: str | None) -> None:
    """Create or upgrade the fleet database: the journal's schema and procrastinate's."""
    url = _url(database)
    with user_errors():
        upgrade(url)  # creates a new database, or brings an older journal to this release
        fleet = _fleet(url)
        try:
            applied = asyncio.run(fleet.ensure_schema())
        finally:
            fleet.close()
    click.echo("fleet database ready" + (" (job queue created)" if applied else ""))


def _add(store: Store, path: Path) -> registry.FleetPortfolio:
    raw = registry.read_toml(path)
    return registry.add(store, raw, os.environ, str(path), utcnow())


@fleet_group.command("add")
@DATABASE_OPTION
@click.argument("configs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def add_command(database: str | None, configs: tuple[Path, ...]) -> None:
    """Validate config files (as check-config does) and store them as fleet portfolios."""
    with _store(database) as store:
        _add_all(store, list(configs))


def _add_all(store: Store, paths: list[Path]) -> None:
    problems: list[str] = []
    checked: list[tuple[Path, dict[str, Any], str]] = []
    names: dict[str, Path] = {}
    for path in paths:
        try:
            raw = registry.read_toml(path)
            settings = registry.validate(raw, os.environ, str(path))
        except (ConfigError, registry.FleetInputError) as exc:
            problems += [f"{exc.source}: {p}" for p in exc.problems]
            continue
        name = settings.config.portfolio.name
        if name in names:
            problems.append(f"{path}: portfolio.name {name!r} is also in {names[name]}; rename one")
            continue
        names[name] = path
        checked.append((path, raw, name))
    if problems:  # all or nothing: a folder is imported whole or not at all
        fail("", [*problems, "nothing was stored"])
    for path, raw, name in checked:
        registry.add(store, raw, os.environ, str(path), utcnow())
        click.echo(f"added {name} from {path}")


@fleet_group.command("import")
@DATABASE_OPTION
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def import_command(database: str | None, folder: Path) -> None:
    """Add every *.toml config in FOLDER (all are validated first; one bad file stores none)."""
    if not folder.is_dir():
        fail(str(folder), ["is not a folder; pass a folder of TOML configs"])
    paths = sorted(folder.glob("*.toml"))
    if not paths:
        fail(str(folder), ["has no *.toml config; put the portfolios' configs there"])
    with _store(database) as store:
        _add_all(store, paths)


@fleet_group.command("list")
@DATABASE_OPTION
@JSON_OPTION
def list_command(database: str | None, as_json: bool) -> None:
    """The fleet's portfolios: name, mode, venue, source, when added."""
    with _store(database) as store:
        entries = registry.listed(store)
    if as_json:
        click.echo(json.dumps([_entry_dict(e) for e in entries], indent=2))
        return
    table = Table(title=f"{len(entries)} fleet portfolio(s)", title_justify="left")
    for header in ("name", "mode", "venue", "source", "updated"):
        table.add_column(header)
    for e in entries:
        table.add_row(e.name, e.mode, e.venue, e.source, f"{e.updated_at:%Y-%m-%d %H:%M} UTC")
    console().print(table)


def _entry_dict(e: registry.FleetPortfolio) -> dict[str, Any]:
    return {
        "name": e.name,
        "mode": e.mode,
        "venue": e.venue,
        "source": e.source,
        "added_at": e.added_at.isoformat(),
        "updated_at": e.updated_at.isoformat(),
    }


@fleet_group.command("show")
@DATABASE_OPTION
@click.argument("name")
def show_command(database: str | None, name: str) -> None:
    """The stored config of one portfolio (as JSON; secrets are env var names only)."""
    with _store(database) as store:
        entry = registry.require(store, name)
    click.echo(json.dumps({**_entry_dict(entry), "config": entry.config}, indent=2, default=str))


@fleet_group.command("remove")
@DATABASE_OPTION
@click.argument("name")
def remove_command(database: str | None, name: str) -> None:
    """Remove a portfolio from the fleet (its journal stays; a queued wake-up does nothing)."""
    with _store(database) as store:
        if not registry.remove(store, name):
            fail(name, ["no such fleet portfolio; `rebalancer fleet list` names them"])
    click.echo(f"removed {name}")


def _targets(store: Store, name: str | None, every: bool) -> list[str]:
    if every == (name is not None):
        fail("", ["name one portfolio or pass --all"])
    if every:
        return [e.name for e in registry.listed(store)]
    return [registry.require(store, str(name)).name]


@fleet_group.command("halt")
@DATABASE_OPTION
@click.argument("name", required=False)
@click.option("--all", "every", is_flag=True, help="Halt every portfolio of the fleet.")
@click.option("--reason", default="halted by the user", show_default=True)
def halt_command(database: str | None, name: str | None, every: bool, reason: str) -> None:
    """Kill switch for one portfolio or the whole fleet; holds until `fleet resume`."""
    with _store(database) as store:
        controls = SqlControls(store)
        names = _targets(store, name, every)
        for each in names:
            c = controls.load(each)
            controls.save(
                each, Controls(True, c.circuit_open, reason, c.consecutive_failures, utcnow())
            )
    click.echo(f"halted {len(names)} portfolio(s): {reason}")


@fleet_group.command("resume")
@DATABASE_OPTION
@click.argument("name", required=False)
@click.option("--all", "every", is_flag=True, help="Resume every portfolio of the fleet.")
def resume_command(database: str | None, name: str | None, every: bool) -> None:
    """Lift the kill switch and close the circuit breaker of one portfolio or all."""
    with _store(database) as store:
        controls = SqlControls(store)
        names = _targets(store, name, every)
        for each in names:
            controls.save(each, Controls())
    click.echo(f"resumed {len(names)} portfolio(s)")


@fleet_group.command("wake")
@DATABASE_OPTION
@click.argument("name", required=False)
@click.option("--all", "every", is_flag=True, help="Wake every portfolio of the fleet.")
@click.option("--calendar", is_flag=True, help="A calendar rebalance instead of a drift check.")
def wake_command(database: str | None, name: str | None, every: bool, calendar: bool) -> None:
    """Queue a wake-up now (at most one waits per portfolio); a worker runs it."""
    url = _url(database)
    with _store(url) as store:
        names = _targets(store, name, every)
    kind = Wake.CALENDAR if calendar else Wake.DRIFT_CHECK
    fleet = _fleet(url)

    async def defer() -> int:
        async with fleet.app.open_async():
            return sum([await fleet.defer_wake(each, kind) for each in names])

    with user_errors():
        try:
            queued = asyncio.run(defer())
        finally:
            fleet.close()
    click.echo(f"queued {queued} wake-up(s); {len(names) - queued} already waiting")


@fleet_group.command("budget")
@DATABASE_OPTION
@click.argument("venue")
@click.argument("weight", type=click.IntRange(min=1), required=False)
@click.option("--per", "per_seconds", default="60", show_default=True, help="Window, seconds.")
def budget_command(database: str | None, venue: str, weight: int | None, per_seconds: str) -> None:
    """Show or set VENUE's request-weight budget shared by all workers (e.g. binance 2400)."""
    try:
        per = Decimal(per_seconds)
    except InvalidOperation:
        fail("--per", [f"{per_seconds!r} is not a number of seconds; e.g. --per 60"])
    if not per.is_finite() or per <= 0:
        fail("--per", ["must be a positive number of seconds; e.g. --per 60"])
    with _store(database) as store:
        budget = (
            budget_for(store, venue) if weight is None else set_budget(store, venue, weight, per)
        )
    if budget is None:
        click.echo(f"{venue}: no shared budget (ccxt's per-process limiter only)")
    else:
        click.echo(f"{venue}: {budget.weight} weight per {budget.per_seconds} s, shared")


@fleet_group.command("status")
@DATABASE_OPTION
@JSON_OPTION
def status_command(database: str | None, as_json: bool) -> None:
    """Per portfolio: trading state, last run, drift, next wake-up, failures. Reads the
    database only."""
    with _store(database) as store:
        rows = fleet_status(store)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    table = Table(title=f"fleet: {len(rows)} portfolio(s)", title_justify="left")
    for header in ("name", "mode", "trading", "last run", "at", "drift", "next wake", "fail"):
        table.add_column(header)
    for r in rows:
        table.add_row(
            r.name,
            r.mode,
            r.trading,
            r.last_run or "none yet",
            "" if r.last_run_at is None else f"{r.last_run_at:%m-%d %H:%M:%S}",
            "" if r.drift is None else points(r.drift),
            "" if r.next_wake is None else f"{r.next_wake:%m-%d %H:%M:%S}",
            f"{r.failures}/{r.failed_jobs}",
        )
    console().print(table)


@click.command("worker")
@DATABASE_OPTION
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Portfolios woken at once by this worker (the work is I/O-bound).",
)
@click.option(
    "--tick",
    "tick_seconds",
    type=click.IntRange(min=1, max=59),
    default=10,
    show_default=True,
    help="Seconds between looks for due portfolios.",
)
@click.option("--heartbeat", type=click.FloatRange(min=0.1), default=10.0, show_default=True)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=0.5),
    default=30.0,
    show_default=True,
    help="A worker silent this long is dead: its jobs are retried elsewhere.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    show_default=True,
    help="Serve Prometheus metrics on 127.0.0.1:PORT (0: off).",
)
@click.option(
    "--metrics-per-portfolio/--metrics-bounded",
    default=True,
    show_default=True,
    help="Per-portfolio series, or worker totals only (bounded cardinality for big fleets).",
)
def worker_command(
    *,
    database: str | None,
    concurrency: int,
    tick_seconds: int,
    heartbeat: float,
    stalled_after: float,
    metrics_port: int,
    metrics_per_portfolio: bool,
) -> None:
    """Run a fleet worker until SIGTERM: wake-ups of the fleet's portfolios as jobs."""
    url = _url(database)
    logs.configure("info", "json")
    jobs = _jobs()
    timing = jobs.FleetTiming(tick_seconds, heartbeat, stalled_after)
    metrics = FleetMetrics(per_portfolio=metrics_per_portfolio)
    fleet = jobs.Fleet(url, timing, metrics)
    if metrics_port:
        with user_errors():
            try:
                metrics.serve(metrics_port)
            except OSError as exc:
                fail("--metrics-port", [f"cannot listen on {metrics_port} ({exc.strerror})"])
    name = f"{socket.gethostname()}-{os.getpid()}"
    with user_errors():
        try:
            check_schema(url)
            if not fleet.has_queue():
                fail("--database", ["has no job queue yet; run `rebalancer fleet init` first"])
            asyncio.run(fleet.run_worker(concurrency, name=name))
        except SchemaError as exc:
            fail("--database", [f"{exc}; `rebalancer fleet init` prepares it"])
        finally:
            fleet.close()


COMMANDS = [fleet_group, worker_command]


def _jobs() -> Any:
    """The fleet's procrastinate side, imported only by the commands that queue or run jobs, so
    an install without the `postgres` extra keeps every other command."""
    try:
        from rebalancer.fleet import jobs  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        fail(
            "",
            [
                f"the fleet needs the PostgreSQL extra ({exc.name} is not installed); "
                "pip install 'futures-rebalancer[postgres]'"
            ],
        )
    return jobs


def _fleet(url: str) -> Any:
    return _jobs().Fleet(url)
