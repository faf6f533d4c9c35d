"""What every command shares: loading settings, failing in one line, consoles, exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from rebalancer.bootstrap import EXIT_LOCKED, SetupError
from rebalancer.cli.boundary import exchange_line
from rebalancer.config import ConfigError, Settings, load_settings
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.service.journal import JournalUnavailable, WriterLockLost

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 4  # trading is halted or the circuit is open: nothing was sent

CONFIG_OPTION = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file (see config/ for commented examples).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print stable JSON.")


def fail(source: str, problems: list[str], code: int = EXIT_USAGE) -> NoReturn:
    for problem in problems:
        click.echo(f"error: {source}: {problem}" if source else f"error: {problem}", err=True)
    sys.exit(code)


def utcnow() -> datetime:
    return datetime.now(UTC)


def console() -> Console:
    """A console for tables: a real terminal's width, or a wide page when piped to a file."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def settings_from(path: Path, *, credentials: bool = True) -> Settings:
    """The settings, or one line per problem and exit 2. `credentials=False`: journal-only
    commands, which work without the exchange keys."""
    try:
        return load_settings(path, os.environ, credentials=credentials)
    except ConfigError as exc:
        fail(exc.source, exc.problems)


@contextmanager
def user_errors(exchange_hint: str | None = None) -> Iterator[None]:
    """Turn set-up and exchange failures into one line and the right exit code;
    `exchange_hint` ends an exchange failure's line (what the command can do without it)."""
    try:
        yield
    except SetupError as exc:
        fail("", [str(exc)], exc.exit_code)
    except ExchangeFailure as exc:
        line = exchange_line(exc)
        fail("", [f"{line}; {exchange_hint}" if exchange_hint else line], EXIT_FAILED)
    except JournalUnavailable as exc:  # the database failed: say why and what was sent
        fail("", [str(exc)], EXIT_LOCKED if isinstance(exc, WriterLockLost) else EXIT_FAILED)
