"""Fleet throughput: portfolios rebalanced per minute by 1, 2 and 4 worker processes.

Each portfolio trades its own emulator account (the seed 60/40 example, off target at start)
with `--latency` seconds injected into every exchange answer. Throughput is measured from the
journal, from the first run's start to the last run's end, so worker start-up is not counted.
It also reports the request weight one wake-up costs, where the venue's shared budget
(Binance: 2,400 weight per minute per IP) binds, and what 10,000 portfolios would need.
Finally it prints `fleet status` for the last fleet.

Run: .venv/bin/python benchmarks/bench_fleet.py [--portfolios 30] [--workers 1,2,4]
Needs PostgreSQL on 127.0.0.1:5432 (or $REBALANCER_TEST_PG_URL).
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from tests.fleet.helpers import write_portfolio
from tests.integration.harness import ENV

from rebalancer.emulator import Emulator
from rebalancer.emulator.state import seed_example_state
from rebalancer.store import open_store

EXE = str(Path(sys.executable).with_name("rebalancer"))
SERVER = os.environ.get(
    "REBALANCER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BINANCE_WEIGHT_PER_MINUTE = 2400


def _database() -> str:
    name = f"rebalancer_bench_{secrets.token_hex(4)}"
    admin = create_engine(SERVER, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return SERVER.rsplit("/", 1)[0] + f"/{name}"


def _drop(url: str) -> None:
    admin = create_engine(SERVER, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def _cli(url: str, *args: str) -> str:
    env = {**os.environ, **ENV, "REBALANCER_FLEET_DATABASE": url}
    done = subprocess.run(  # noqa: S603 - our own CLI
        [EXE, *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout


def _measure(
    n: int, workers: int, concurrency: int, latency: Decimal, show: bool
) -> dict[str, float]:
    url = _database()
    emulators = [Emulator(seed_example_state(futures_wallet="2000")).start() for _ in range(n)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for emu in emulators:
            emu.set_latency(latency)
        with tempfile.TemporaryDirectory() as folder:
            for i, emu in enumerate(emulators):
                write_portfolio(Path(folder), f"p{i:03d}", emu)
            _cli(url, "fleet", "init")
            _cli(url, "fleet", "budget", "binance", "1000000", "--per", "60")  # measure unbound
            _cli(url, "fleet", "import", folder)
        env = {**os.environ, **ENV, "REBALANCER_FLEET_DATABASE": url}
        args = [EXE, "worker", "--concurrency", str(concurrency), "--tick", "1"]
        procs = [
            subprocess.Popen(  # noqa: S603 - our own CLI
                args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(workers)
        ]
        store = open_store(url)
        query = text(
            "SELECT count(*), EXTRACT(EPOCH FROM max(finished_at) - min(started_at)) FROM runs "
            "WHERE state = 'completed' AND orders_count > 0"
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with store.read() as session:
                count, span = session.execute(query).one()
            if count >= n:
                break
            time.sleep(0.5)
        store.close()
        weight = sum(r.weight for emu in emulators for r in emu.requests()) / n
        if show:
            print(_cli(url, "fleet", "status"))
        return {"seconds": float(span), "per_minute": n / float(span) * 60, "weight": weight}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        for emu in emulators:
            emu.stop()
        _drop(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--portfolios", type=int, default=30)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency", default="0.05")
    options = parser.parse_args()
    counts = [int(w) for w in options.workers.split(",")]
    latency = Decimal(options.latency)
    print(
        f"{options.portfolios} portfolios, {latency * 1000:.0f} ms per exchange answer, "
        f"concurrency {options.concurrency} per worker, {os.cpu_count()} cores"
    )
    print(
        f"{'workers':>8} {'seconds':>8} {'portfolios/min':>15} {'vs 1 worker':>12} "
        f"{'weight/wake':>12}"
    )
    base = None
    results = {}
    for w in counts:
        r = _measure(options.portfolios, w, options.concurrency, latency, show=w == counts[-1])
        results[w] = r
        base = base or r["per_minute"]
        print(
            f"{w:>8} {r['seconds']:>8.1f} {r['per_minute']:>15.1f} "
            f"{r['per_minute'] / base:>11.2f}x {r['weight']:>12.0f}"
        )
    weight = results[counts[-1]]["weight"]
    bind = BINANCE_WEIGHT_PER_MINUTE / weight
    print(
        f"Shared budget: one wake-up that trades costs ~{weight:.0f} weight, so Binance's "
        f"{BINANCE_WEIGHT_PER_MINUTE}/min per IP binds at ~{bind:.0f} rebalances/min per IP."
    )
    best = max(results.values(), key=lambda r: r["per_minute"])
    per_worker = best["per_minute"] / counts[-1]
    hourly = 10_000 / 60
    print(
        f"10,000 portfolios checked hourly = {hourly:.0f} wake-ups/min: ~{hourly / per_worker:.1f} "
        f"workers at the measured {per_worker:.0f}/min each, ~{hourly * weight:.0f} weight/min "
        f"(= {hourly * weight / BINANCE_WEIGHT_PER_MINUTE:.1f} egress IPs at Binance's limit)."
    )


if __name__ == "__main__":
    main()
