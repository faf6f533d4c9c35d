"""`rebalancer ARGS` run in this test process, as a subprocess would run it.

Most CLI tests check what a command prints and the code it exits with, not that it is a
separate process; starting one costs 2 s of imports (ccxt, SQLAlchemy, FastAPI) each time. This
runs the same `main` group in-process through click's runner with exactly the environment given
(variables not in it are removed for the call, as `subprocess.run(env=...)` would), and answers
like `subprocess.CompletedProcess`: `returncode`, `stdout`, `stderr`.

Tests whose subject is the process itself (a kill, a signal, a daemon, a second writer, the
installed entry point) keep a real subprocess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from click.testing import CliRunner

from rebalancer.cli import main


@dataclass(frozen=True)
class Ran:
    """What one in-process `rebalancer` command did."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def rebalancer(*args: str, env: Mapping[str, str] | None = None, input: str | None = None) -> Ran:
    """Run `rebalancer ARGS` in-process with `env` as its whole environment (default: this
    process's). An exception that escapes the CLI's own error boundary fails the test."""
    overlay: dict[str, str | None] = {}
    if env is not None:
        overlay = {name: None for name in os.environ if name not in env}
        overlay.update(env)
    result = CliRunner().invoke(main, list(args), env=overlay, input=input, catch_exceptions=False)
    return Ran(tuple(args), result.exit_code, result.stdout, result.stderr)
