"""The daemon as a user runs it: `rebalancer run` in a subprocess, against an in-process emulator.

`DaemonProcess` starts the console script with its JSON log on a file, reads the log lines back
as events, and polls with deadlines (never a fixed sleep); it is always killed on exit.
`JournalReader` reads the daemon's SQLite journal read-only, beside the running writer (WAL).
`HoldingEmulator` can hold or slow one endpoint (the order batch) to land a signal mid-request.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from rebalancer.emulator import Emulator, EmulatorState
from rebalancer.emulator.config import exchange_section
from tests.integration.harness import ENV, seed_state

EXE = str(Path(sys.executable).with_name("rebalancer"))
BATCH = "/fapi/v1/batchOrders"
PORTFOLIO = "seed-60-40"
T = TypeVar("T")


def on_target_state() -> EmulatorState:
    """The seed account already hedged: BTC short $1,000 and ETH long $1,000 at 50,000/2,500."""
    positions = [
        {"symbol": "BTCUSDT", "size": "-0.02", "entry_price": "50000"},
        {"symbol": "ETHUSDT", "size": "0.4", "entry_price": "2500"},
    ]
    return seed_state(extra={"positions": positions})


def set_prices(emulator: Emulator, **prices: str) -> None:
    """Move spot and mark together, e.g. `set_prices(emu, BTCUSDT="53000")`."""
    for symbol, price in prices.items():
        emulator.set_spot_price(symbol, Decimal(price))
        emulator.set_mark_price(symbol, Decimal(price))


def write_daemon_config(
    tmp: Path,
    emulator: Emulator,
    *,
    drift_abs: str = "0.05",
    trigger: str = "threshold",
    max_failures: int = 3,
    interval: str = "1s",
    health_port: int | None = None,
) -> Path:
    """A live config for the seed portfolio (drift checks every `interval`, SQLite journal)."""
    path = tmp / "daemon.toml"
    text = config_text(
        tmp,
        emulator,
        drift_abs=drift_abs,
        trigger=trigger,
        max_failures=max_failures,
        interval=interval,
    )
    if health_port is not None:
        text += f"\n[health]\nenabled = true\nport = {health_port}\nmax_cycle_age_seconds = 2\n"
    path.write_text(text, encoding="utf-8")
    return path


def config_text(
    tmp: Path, emulator: Emulator, *, drift_abs: str, trigger: str, max_failures: int, interval: str
) -> str:
    return f"""
mode = "live"
confirm_live = true
[portfolio]
name = "{PORTFOLIO}"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}
[hedging]
min_trade_notional = 10
[schedule]
trigger = "{trigger}"
drift_check_interval = "{interval}"
drift_abs = {drift_abs}
drift_rel = 10
[safety]
max_consecutive_failures = {max_failures}
[daemon]
log_format = "json"
[storage]
url = "sqlite:///{tmp / "journal.db"}"
{exchange_section(emulator.base_url)}
"""


PATIENCE = 60.0  # seconds: the shortest deadline of any wait in the process tests


def wait_until(
    probe: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.05
) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` at the deadline.

    The deadline is at least `PATIENCE`: it only says when to give up, and a shared 2-core
    machine running the suite on every core can be several times slower than a quiet one; a
    condition that holds returns at once."""
    timeout = max(timeout, PATIENCE)
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run `rebalancer ARGS` to completion with the emulator's credentials."""
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, env=_env(), timeout=timeout, check=False
    )


def _env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, **ENV}


class DaemonProcess:
    """One `rebalancer run` subprocess; its standard error (JSON lines) goes to a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self._log_file = log.open("ab")
        self._offset = log.stat().st_size  # a restart appends; events() reads only its own part
        self.proc = subprocess.Popen(
            [EXE, "run", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=self._log_file,
            env=_env(),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """This process's JSON log lines so far (other lines skipped), optionally one event."""
        with self.log.open("rb") as handle:
            handle.seek(self._offset)
            raw = handle.read().decode(errors="replace")
        found = []
        for line in raw.splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and (name is None or doc.get("event") == name):
                found.append(doc)
        return found

    def count(self, name: str) -> int:
        return len(self.events(name))

    def wait_for_event(self, name: str, *, at_least: int = 1, timeout: float = 15) -> None:
        wait_until(
            lambda: self.count(name) >= at_least or self._died(),
            timeout=timeout,
            what=f"{at_least} x {name}",
        )
        assert self.count(name) >= at_least, f"daemon exited early:\n{self.output()}"

    def _died(self) -> bool:
        return self.proc.poll() is not None

    def output(self) -> str:
        with self.log.open("rb") as handle:
            handle.seek(self._offset)
            return handle.read().decode(errors="replace")[-4000:]

    def send(self, signum: signal.Signals) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM and wait (at least `PATIENCE`); the exit code."""
        self.send(signal.SIGTERM)
        return self.proc.wait(timeout=max(timeout, PATIENCE))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log_file.close()


@contextmanager
def running_daemon(config: Path, *, started: bool = True) -> Iterator[DaemonProcess]:
    """A daemon for the `with` block; waits for `daemon_started` unless told not to."""
    daemon = DaemonProcess(config, config.parent / "daemon.log")
    try:
        if started:
            daemon.wait_for_event("daemon_started", timeout=20)
        yield daemon
    finally:
        daemon.close()


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    trigger: str
    state: str
    error: str | None
    orders: int


class JournalReader:
    """Read-only queries over the daemon's SQLite journal."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def runs(self) -> list[RunRow]:
        rows = self._rows(
            "SELECT r.run_id, r.trigger, r.state, r.error, "
            "(SELECT COUNT(*) FROM orders o WHERE o.run_id = r.run_id) "
            "FROM runs r ORDER BY r.started_at, r.run_id"
        )
        return [RunRow(*row) for row in rows]

    def runs_with_orders(self) -> list[RunRow]:
        return [r for r in self.runs() if r.orders]

    def orders(self) -> dict[str, str]:
        """client id -> status."""
        return dict(self._rows("SELECT client_id, status FROM orders"))

    def events_of(self, run_id: str) -> list[tuple[str, str]]:
        return [
            (kind, message)
            for kind, message in self._rows(
                "SELECT kind, message FROM events WHERE run_id = ? ORDER BY id", (run_id,)
            )
        ]

    def controls(self) -> Mapping[str, Any] | None:
        rows = self._rows(
            "SELECT halted, circuit_open, reason, consecutive_failures FROM controls "
            "WHERE portfolio = ?",
            (PORTFOLIO,),
        )
        if not rows:
            return None
        halted, circuit_open, reason, failures = rows[0]
        return {
            "halted": bool(halted),
            "circuit_open": bool(circuit_open),
            "reason": reason,
            "consecutive_failures": failures,
        }


class HoldingEmulator(Emulator):
    """An emulator that can delay, or hold until released, the POSTs to one path.

    The request is held before it is executed, as a slow exchange would: a client that gives
    up meanwhile does not stop the order from being placed once the hold ends.
    """

    def __init__(self, state: EmulatorState, *, path: str = BATCH) -> None:
        super().__init__(state)
        self.path = path
        self.delay = 0.0
        self.arrived = threading.Event()
        self._gate = threading.Event()
        self._gate.set()

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def _dispatch(self, *, method: str, path: str, **kwargs: Any) -> Any:
        if method != "POST" or path != self.path:
            return super()._dispatch(method=method, path=path, **kwargs)
        self.arrived.set()
        received = self.exchange.now_ms()
        if self.delay:
            time.sleep(self.delay)
        self._gate.wait(timeout=120)
        # An exchange checks the request's timestamp against its recvWindow when it receives
        # it, not when its matching engine gets round to it: verify as of arrival, however
        # long the hold (on a loaded machine it can outlast the window).
        exchange: Any = self.exchange
        exchange.now_ms = lambda: received
        try:
            return super()._dispatch(method=method, path=path, **kwargs)
        finally:
            del exchange.now_ms


def emulator_orders(emulator: Emulator) -> list[tuple[str, str]]:
    """(client id, status) of every order the emulator holds, in creation order."""
    return [(o.client_order_id, o.status.value) for o in emulator.exchange.store.all_orders()]


def batch_posts(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests() if r.method == "POST" and r.path == BATCH)
