"""The daemon's footprint: an idle `rebalancer run`, and memory over many paper cycles.

Run: .venv/bin/python benchmarks/bench_daemon.py [--seconds 60] [--cycles 1000] [--mode paper]

1. Idle: `rebalancer run` as a subprocess with 1 s drift checks against the local emulator,
   the account already on target (so every check finds nothing to do). Over `--seconds` it
   samples the process's resident memory (VmRSS in /proc/<pid>/status) and its CPU time
   (utime + stime in /proc/<pid>/stat) over the wall time. Goals: RSS < 150 MB, CPU < 2 %.
2. Growth: `--cycles` paper cycles in this process through the daemon's `Waker` (a SQLite
   journal, a `PaperGateway` over the public prices of an emulator running in its own
   process, so its memory is not counted), BTC moved +-8 % through the emulator's control
   endpoint before each so every cycle trades. Resident memory after a warm-up and at the
   end; goal: growth < 5 MB over 1,000 cycles. `--mode live` runs the same cycles with live
   orders on the emulator instead (the daemon's side only: the order book grows over there).

Linux only (/proc). Figures are printed, not asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rebalancer import bootstrap, logs
from rebalancer.config import Settings, load_settings
from rebalancer.daemon.wake import Waker
from rebalancer.domain.triggers import Wake
from rebalancer.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    Emulator,
    EmulatorControl,
    EmulatorState,
)
from rebalancer.emulator.config import exchange_section
from rebalancer.notify import NullNotifier
from rebalancer.service.controls import MemoryControls

ENV = {"REBALANCER_API_KEY": DEFAULT_API_KEY, "REBALANCER_API_SECRET": DEFAULT_API_SECRET}
EXE = str(Path(sys.executable).with_name("rebalancer"))
TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


def state_doc(*, hedged: bool) -> dict[str, Any]:
    """The seed example at BTC 50,000 / ETH 2,500; `hedged` puts its hedges on target."""
    positions = [
        {"symbol": "BTCUSDT", "size": "-0.02", "entry_price": "50000"},
        {"symbol": "ETHUSDT", "size": "0.4", "entry_price": "2500"},
    ]
    return {
        "spot_markets": [
            {"symbol": "BTCUSDT", "base": "BTC", "step_size": "0.00001"},
            {"symbol": "ETHUSDT", "base": "ETH", "step_size": "0.0001"},
        ],
        "perp_markets": [
            {"symbol": "BTCUSDT", "base": "BTC", "step_size": "0.001", "min_notional": "100"},
            {"symbol": "ETHUSDT", "base": "ETH", "step_size": "0.001", "min_notional": "20"},
        ],
        "spot_prices": {"BTCUSDT": "50000", "ETHUSDT": "2500"},
        "mark_prices": {"BTCUSDT": "50000", "ETHUSDT": "2500"},
        "spot_balances": {"BTC": "0.14", "ETH": "1.2", "USDT": "0"},
        "futures_wallet": "2000",
        "positions": positions if hedged else [],
    }


def config(tmp: Path, base_url: str, mode: str) -> Path:
    path = tmp / f"{mode}.toml"
    path.write_text(
        f"""
mode = "{mode}"
confirm_live = true
[portfolio]
name = "bench"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}
[hedging]
min_trade_notional = 10
[schedule]
trigger = "threshold"
drift_check_interval = "1s"
[daemon]
log_format = "json"
[paper]
spot = {{ BTC = "0.14", ETH = "1.2" }}
futures_wallet = "4000"
slippage_bps = 0
[storage]
url = "sqlite:///{tmp / f"{mode}.db"}"
{exchange_section(base_url)}
""",
        encoding="utf-8",
    )
    return path


def rss_bytes(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS line")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def _checks(log: Path) -> int:
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            count += json.loads(line).get("event") == "drift_checked"
        except (ValueError, AttributeError):
            continue
    return count


def idle(seconds: float) -> None:
    hedged = EmulatorState.from_json(state_doc(hedged=True))
    with tempfile.TemporaryDirectory() as raw, Emulator(hedged) as emulator:
        tmp = Path(raw)
        log = tmp / "daemon.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own console script
                [EXE, "run", "-c", str(config(tmp, emulator.base_url, "live"))],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env={**os.environ, **ENV},
            )
            try:
                deadline = time.monotonic() + 30
                while _checks(log) < 3:  # started, and past the first checks' warm-up
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"daemon did not start:\n{log.read_text()[-2000:]}")
                    time.sleep(0.1)
                checks0, cpu0, wall0 = _checks(log), cpu_seconds(proc.pid), time.monotonic()
                peak = rss_bytes(proc.pid)
                while time.monotonic() - wall0 < seconds:
                    time.sleep(1)
                    peak = max(peak, rss_bytes(proc.pid))
                wall = time.monotonic() - wall0
                cpu = cpu_seconds(proc.pid) - cpu0
                end, checks = rss_bytes(proc.pid), _checks(log) - checks0
            finally:
                proc.terminate()
                proc.wait(timeout=15)
        runs = sum('"run_started"' in line for line in log.read_text(errors="replace").splitlines())
    print(f"idle daemon, 1 s drift checks, {wall:.0f} s ({checks} checks, {runs} cycles):")
    print(f"  RSS end {end / MB:.1f} MB, peak {peak / MB:.1f} MB  (goal < 150 MB)")
    print(f"  CPU {cpu:.2f} s over {wall:.0f} s = {100 * cpu / wall:.2f} %  (goal < 2 %)")


async def _cycles(settings: Settings, control: EmulatorControl, cycles: int) -> None:
    journal = bootstrap.open_journal(settings)
    gateway = bootstrap.exchange_gateway(settings, settings.mode, journal)
    waker = Waker(
        settings,
        gateway=gateway,
        journal=journal.journal,
        controls=MemoryControls(),
        notifier=NullNotifier(),
        clock=lambda: datetime.now(UTC),
        mode=settings.mode.value,
    )
    warmup = 20
    traded = failed = 0
    base: int | None = None
    started = time.monotonic()
    try:
        for i in range(warmup + cycles):
            price = "50000" if i % 2 else "54000"  # +-8 %: every cycle has orders
            control.set_prices(spot={"BTCUSDT": price}, mark={"BTCUSDT": price})
            outcome = await waker.wake(Wake.MANUAL)
            if i == warmup - 1:
                gc.collect()
                base = rss_bytes()
                started = time.monotonic()
            if i >= warmup and outcome.cycle is not None:
                traded += bool(outcome.cycle.reports)
                failed += not outcome.cycle.ok
            if i >= warmup and (i - warmup + 1) % max(1, cycles // 4) == 0:
                print(f"  after {i - warmup + 1:>5} cycles: RSS {rss_bytes() / MB:.1f} MB")
        wall = time.monotonic() - started
        gc.collect()
        end = rss_bytes()  # measured with the journal and gateway still open, as in the daemon
    finally:
        await gateway.close()
        journal.store.close()
    assert base is not None
    print(
        f"  {cycles} cycles in {wall:.1f} s ({1000 * wall / cycles:.0f} ms each), "
        f"{traded} with orders, {failed} failed"
    )
    growth = (end - base) / MB
    print(
        f"  RSS before {base / MB:.1f} MB (after {warmup} warm-up cycles), after "
        f"{end / MB:.1f} MB: growth {growth:+.2f} MB  (goal < 5 MB)"
    )


def growth(cycles: int, mode: str) -> None:
    """Cycles in this process; the emulator runs in its own, so it is not measured."""
    logs.configure("warning", "json")  # a cycle's info lines are not what is measured
    print(f"memory over {cycles} {mode} cycles (in-process Waker, SQLite journal):")
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        state = tmp / "state.json"
        state.write_text(json.dumps(state_doc(hedged=False)), encoding="utf-8")
        emulator = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "rebalancer.emulator", "--port", "0", "--state", str(state)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert emulator.stdout is not None
            base_url = emulator.stdout.readline().strip()
            settings = load_settings(config(tmp, base_url, mode), ENV)
            asyncio.run(_cycles(settings, EmulatorControl(base_url), cycles))
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="idle measurement length")
    parser.add_argument("--cycles", type=int, default=1000, help="cycles for growth")
    parser.add_argument(
        "--mode",
        choices=["paper", "live"],
        default="paper",
        help="growth cycles on a paper account, or live orders on the emulator",
    )
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-growth", action="store_true")
    args = parser.parse_args()
    if not args.skip_idle:
        idle(args.seconds)
    if not args.skip_growth:
        growth(args.cycles, args.mode)


if __name__ == "__main__":
    main()
