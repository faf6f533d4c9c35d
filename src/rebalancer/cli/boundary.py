"""The one error boundary around every command: no user ever reads a traceback by accident.

A user mistake that escaped its command's own checks (an input problem carrying `source` and
`problems`, a set-up error, a file the user named that cannot be opened) becomes one line per
problem and exit 2. An exchange failure is one line and exit 1. Anything else is a bug or an
environment failure: one line naming it and the file holding the full traceback, exit 1;
`rebalancer --debug` also prints the traceback. Tracebacks are redacted like exchange messages
before they are written, to a new file readable by its owner only.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from rebalancer.bootstrap import SetupError
from rebalancer.exchange.errors import ExchangeFailure, redact_text

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
CRASH_DIR_ENV = "REBALANCER_CRASH_DIR"
# A file the user named that cannot be opened: a mistake to fix, not a crash to report.
_PATH_MISTAKES = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)
_PATH_FIXES = {
    FileNotFoundError: "check the path (an output's folder must exist)",
    NotADirectoryError: "a part of the path is a file, not a folder",
    IsADirectoryError: "it is a folder; name a file",
    PermissionError: "check the file's permissions",
}


def crash_dir() -> Path:
    """Where full tracebacks go: $REBALANCER_CRASH_DIR, else a folder of this user's in the
    temp dir (<temp>/rebalancer-crashes-<uid>)."""
    configured = os.environ.get(CRASH_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"rebalancer-crashes-{os.getuid()}"


def handle(exc: BaseException, *, debug: bool) -> NoReturn:
    """Print `exc` as the user should see it and exit with its code."""
    if isinstance(exc, KeyboardInterrupt):
        _lines(["interrupted"], EXIT_INTERRUPTED)
    problems = _input_problems(exc)
    if problems is not None:
        source, lines = problems
        _lines([f"{source}: {p}" if source else p for p in lines], EXIT_USAGE)
    if isinstance(exc, SetupError):
        _lines([str(exc)], exc.exit_code)
    if isinstance(exc, ExchangeFailure):
        _lines([exchange_line(exc)], EXIT_FAILED)
    if isinstance(exc, _PATH_MISTAKES) and exc.filename is not None:
        reason = exc.strerror or type(exc).__name__
        _lines([f"{exc.filename}: {reason}; {_PATH_FIXES[type(exc)]}"], EXIT_USAGE)
    text = redact_text("".join(traceback.format_exception(exc)))
    if debug:
        click.echo(text, err=True, nl=False)
    where = _write_crash(text)
    summary = " ".join(str(exc).split()) or "(no message)"
    saved = f"full traceback in {where}" if where else "the traceback could not be saved"
    hint = "" if debug else "; run with --debug to print it"
    _lines([f"unexpected {type(exc).__name__}: {redact_text(summary)} ({saved}{hint})"], 1)


def exchange_line(exc: ExchangeFailure) -> str:
    """An exchange failure for a person: the cause where the exchange was not reached (it
    names the host and the fix), else the kind and the exchange's answer."""
    text = " ".join(str(exc).split())
    return text if exc.cause else f"{type(exc).__name__}: {text}"


def _input_problems(exc: BaseException) -> tuple[str, list[str]] | None:
    """`(source, problems)` of our own input errors (ConfigError, DataError, ...), else None."""
    if not type(exc).__module__.startswith("rebalancer."):
        return None
    source, problems = getattr(exc, "source", None), getattr(exc, "problems", None)
    if isinstance(source, str) and isinstance(problems, list) and problems:
        return source, [str(p) for p in problems]
    return None


def _write_crash(text: str) -> Path | None:
    folder = crash_dir()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{stamp}-{os.getpid()}.txt"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A new file only, never through a link someone planted in a shared temp dir.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(path, flags, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError:
        return None
    return path


def _lines(lines: Sequence[str], code: int) -> NoReturn:
    for line in lines:
        click.echo(f"error: {line}", err=True)
    sys.exit(code)


class BoundedGroup(click.Group):
    """A click group whose subcommands fail through `handle`; `--debug` is read from its params."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BaseException as exc:  # the boundary: everything else is reported here
            handle(exc, debug=bool(ctx.params.get("debug")))
