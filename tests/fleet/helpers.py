"""Fleet test helpers: portfolio configs on emulators, worker processes, journal reads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from rebalancer.emulator import Emulator
from rebalancer.emulator.config import exchange_section
from rebalancer.service.crashpoints import ENV as CRASH_ENV
from rebalancer.store import Store
from tests.daemon.process_harness import wait_until as poll
from tests.integration.harness import ENV as CREDENTIALS

EXE = str(Path(sys.executable).with_name("rebalancer"))


def write_portfolio(
    folder: Path, name: str, emulator: Emulator, *, mode: str = "live", extra: str = ""
) -> Path:
    """The seed 60/40 portfolio named `name`, trading on `emulator`."""
    path = folder / f"{name}.toml"
    path.write_text(
        f"""
mode = "{mode}"
confirm_live = true
[portfolio]
name = "{name}"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}
[hedging]
min_trade_notional = 10
[schedule]
drift_check_interval = 3600
{extra}
{exchange_section(emulator.base_url)}
""",
        encoding="utf-8",
    )
    return path


def cli(
    url: str, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **CREDENTIALS, "REBALANCER_FLEET_DATABASE": url, **(env or {})}
    if CRASH_ENV not in (env or {}):
        full.pop(CRASH_ENV, None)
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, env=full, timeout=60, check=False
    )


@contextmanager
def workers(
    url: str,
    count: int,
    logs: Path,
    *,
    concurrency: int = 2,
    env: Mapping[str, str] | None = None,
) -> Iterator[list[subprocess.Popen[str]]]:
    """`count` worker processes (1 s ticks, fast heartbeats), stopped with SIGTERM after;
    each one's log lines go to `logs/worker-<n>.log`."""
    full = {**os.environ, **CREDENTIALS, "REBALANCER_FLEET_DATABASE": url, **(env or {})}
    if CRASH_ENV not in (env or {}):
        full.pop(CRASH_ENV, None)
    args = [EXE, "worker", "--concurrency", str(concurrency), "--tick", "1"]
    args += ["--heartbeat", "0.5", "--stalled-after", "2"]
    logs.mkdir(parents=True, exist_ok=True)
    files = [(logs / f"worker-{n}.log").open("a", encoding="utf-8") for n in range(count)]
    procs = [
        subprocess.Popen(args, env=full, stdout=subprocess.DEVNULL, stderr=out, text=True)
        for out in files
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for out in files:
            out.close()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` until it holds; fail naming `what` (the process tests' wait, at least
    `PATIENCE`: a deadline only says when to give up)."""
    poll(check, timeout=timeout, what=what, every=0.2)


def runs(store: Store, portfolio: str) -> list[tuple[str, str, int]]:
    """(run id, state, orders) of the portfolio's runs, oldest first."""
    query = text(
        "SELECT r.run_id, r.state, (SELECT count(*) FROM orders o WHERE o.run_id = r.run_id) "
        "FROM runs r WHERE r.portfolio = :p ORDER BY r.started_at, r.run_id"
    )
    with store.read() as session:
        return [(str(a), str(b), int(c)) for a, b, c in session.execute(query, {"p": portfolio})]


def journal_orders(store: Store, portfolio: str) -> dict[str, str]:
    query = text(
        "SELECT o.client_id, o.status FROM orders o JOIN runs r ON r.run_id = o.run_id "
        "WHERE r.portfolio = :p"
    )
    with store.read() as session:
        return {str(a): str(b) for a, b in session.execute(query, {"p": portfolio})}
