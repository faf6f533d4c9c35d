"""Dashboard page loads over a 100,000-run journal, against the same pages over 1,000 runs.

Run: .venv/bin/python benchmarks/bench_web.py [--runs N] [--small N] [--repeats N]

Builds two SQLite journals in a temp directory (bulk runs of every mode, trigger and state, a
quarter of them with a snapshot, and a full cycle with plan, orders and fills as the newest
run), serves each with the real app on a loopback port (uvicorn, as `rebalancer web` does), and
times whole HTTP requests (server-side render included) with a keep-alive client. Prints the
median and p90 per page for both journals and their ratio: a page that does not slow down with
the journal's size has a ratio near 1. Goal: every page under 200 ms (median) at 100,000 runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import insert

from rebalancer.config import load_settings
from rebalancer.domain.market import MarketRules
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.domain.strategy import Hedge, Strategy
from rebalancer.snapshot_file import snapshot_to_dict
from rebalancer.store import SqlControls, SqlJournal, Store, open_store, upgrade
from rebalancer.store.tables import PortfolioRow, RunRow, SnapshotRow
from rebalancer.web import WebContext, create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.web.server import serving  # the test suite's loopback server

from bench_journal import one_cycle

T0 = datetime(2020, 1, 1, tzinfo=UTC)
ASSETS = ("BTC", "ETH", "SOL", "BNB")
CONFIG = """\
mode = "paper"
[portfolio]
name = "a"
targets = { BTC = 0.2, ETH = 0.2, SOL = 0.2, BNB = 0.2, cash = 0.2 }
[paper]
futures_wallet = 20000
[storage]
url = "sqlite:///journal.db"
"""
MODES = ("live", "paper", "dry-run")
TRIGGERS = ("calendar", "drift_check", "manual")
STATES = ("completed", "completed", "completed", "skipped", "failed")


def snapshot(at: datetime) -> Snapshot:
    perps, spot = {}, {}
    for i, asset in enumerate(ASSETS):
        price = Decimal(10 ** (4 - i))
        symbol = f"{asset}/USDT:USDT"
        perps[symbol] = PerpState(MarketRules(symbol, Decimal("0.001")), price)
        spot[asset] = SpotHolding(asset, price, Decimal((2000, 3000, 5000, 6000)[i]) / price)
    return Snapshot(at, "USDT", Decimal(0), Decimal(20000), spot, perps)


def fill(store: Store, count: int) -> datetime:
    """`count` bulk runs 30 minutes apart; returns the time after the last."""
    rnd = random.Random(7)
    document = snapshot_to_dict(snapshot(T0))
    with store.write() as session:
        session.execute(insert(PortfolioRow), [{"name": "a", "created_at": T0}])
        for start in range(0, count, 10_000):
            ids = range(start, min(start + 10_000, count))
            session.execute(insert(RunRow), [_run(i, rnd) for i in ids])
            session.execute(
                insert(SnapshotRow),
                [
                    {
                        "run_id": f"bulk-{i:07d}",
                        "phase": "before",
                        "taken_at": T0 + timedelta(minutes=30 * i),
                        "document": document,
                    }
                    for i in ids
                    if i % 4 == 0
                ],
            )
    return T0 + timedelta(minutes=30 * count)


def _run(i: int, rnd: random.Random) -> dict[str, object]:
    at = T0 + timedelta(minutes=30 * i)
    return {
        "run_id": f"bulk-{i:07d}",
        "portfolio": "a",
        "mode": MODES[i % 3],
        "trigger": TRIGGERS[i // 3 % 3],
        "reason": "drift above band",
        "state": STATES[rnd.randrange(5)],
        "started_at": at,
        "updated_at": at,
        "finished_at": at,
        "strategy": {},
        "quote": "USDT",
        "largest_drift_before": Decimal(rnd.randint(0, 10**6)) / 10**7,
        "largest_drift_after": Decimal(rnd.randint(0, 10**5)) / 10**7,
        "orders_count": 4,
        "notional_traded": Decimal(rnd.randint(0, 10**9)) / 100,
        "fees": Decimal(rnd.randint(0, 10**6)) / 1000,
    }


def full_cycle(journal: SqlJournal, run_id: str, at: datetime) -> None:
    """One paper cycle journaled at `at` (the journal benchmark's cycle)."""
    before = snapshot(at)
    strategy = Strategy(
        dict.fromkeys(ASSETS, Decimal("0.2")),
        {a: Hedge(f"{a}/USDT:USDT") for a in ASSETS},
        cash_weight=Decimal("0.2"),
    )
    after = replace(before, taken_at=at)
    one_cycle(journal, run_id, (before, after, plan(before, strategy)), at)


def pages(count: int) -> dict[str, str]:
    middle = T0 + timedelta(minutes=30 * (count // 2))
    micros = (middle - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    cursor = f"{micros}.bulk-{count // 2:07d}"
    week = f"from={middle.date()}&to={(middle + timedelta(days=6)).date()}"
    return {
        "overview": "/",
        "history, first page": "/history",
        "history, a page in the middle": f"/history?before={cursor}",
        "history, mode + trigger filter": "/history?mode=paper&trigger=manual",
        "history, state=failed": "/history?state=failed",
        "history, one week mid-journal": f"/history?{week}",
        "run page": "/runs/newest",
        "api/overview": "/api/overview",
        "api/history?limit=500 (chart)": "/api/history?limit=500",
        "api/runs/<id>": "/api/runs/newest",
    }


@contextmanager
def site(folder: Path, count: int) -> Iterator[httpx.Client]:
    """A journal of `count` runs in `folder`, served; yields a keep-alive client of it."""
    folder.mkdir()
    config = folder / "bench.toml"
    config.write_text(CONFIG, encoding="utf-8")
    settings = load_settings(config, {}, credentials=False)
    url = settings.config.storage.url
    upgrade(url)
    with open_store(url) as store:
        start = time.perf_counter()
        newest = fill(store, count)
        full_cycle(SqlJournal(store), "newest", newest)
        print(f"journal of {count:,} runs written in {time.perf_counter() - start:.1f} s")
        context = WebContext(settings, store, SqlControls(store), lambda: newest)
        with serving(create_app(context)) as base, httpx.Client(base_url=base) as client:
            yield client


def timed(client: httpx.Client, path: str) -> float:
    begin = time.perf_counter()
    answer = client.get(path)
    elapsed = (time.perf_counter() - begin) * 1000
    assert answer.status_code == 200, path
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        site(Path(tmp) / "small", args.small) as small,
        site(Path(tmp) / "large", args.runs) as large,
    ):
        print(f"\n{'page':<34} {f'@{args.runs:,} runs':>19}   {f'@{args.small:,}':>9}")
        print(f"{'':<34} {'median':>9} {'p90':>9}   {'median':>9}  ratio")
        big_pages, small_pages = pages(args.runs), pages(args.small)
        for label, path in big_pages.items():
            # Alternate the two journals so load from elsewhere on the machine hits both alike.
            timed(large, path), timed(small, small_pages[label])  # warm-up and check
            big, base = [], []
            for _ in range(args.repeats):
                big.append(timed(large, path))
                base.append(timed(small, small_pages[label]))
            big.sort()
            med, p90 = statistics.median(big), big[int(len(big) * 0.9) - 1]
            ref = statistics.median(base)
            print(f"{label:<34} {med:7.1f}ms {p90:7.1f}ms   {ref:7.1f}ms  {med / ref:5.2f}x")


if __name__ == "__main__":
    main()
