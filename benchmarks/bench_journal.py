"""Journal costs: the first page of `history` over 100,000 runs, and one cycle's writes.

Run: .venv/bin/python benchmarks/bench_journal.py [--url URL] [--runs N] [--cycles N]

Without --url it uses a fresh SQLite file in a temp directory (WAL, synchronous=FULL, as in
production). A PostgreSQL URL gets a scratch schema, dropped at the end; an existing SQLite
file is refused, so the benchmark never writes into a real journal.
Goals: history first page < 200 ms; one cycle's journal writes < 10 ms (medians). Figures
depend on the disk (each commit is an fsync on SQLite); compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

from sqlalchemy import create_engine, insert, make_url, text
from sqlalchemy.pool import NullPool

from rebalancer.domain.lifecycle import OrderStatus, RunState
from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import Plan
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.domain.strategy import Hedge, Strategy
from rebalancer.review import history
from rebalancer.service.journal import OrderIntentRecord, OrderUpdate, RunStart
from rebalancer.store import SqlJournal, Store, open_store, upgrade
from rebalancer.store.tables import PortfolioRow, RunRow

T0 = datetime(2020, 1, 1, tzinfo=UTC)
ASSETS = ("BTC", "ETH", "SOL", "BNB")


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and Path(parsed.database).exists():
            sys.exit(f"{parsed.database} exists; point --url at a new file")
        yield url
        return
    schema = f"bench_{secrets.token_hex(4)}"
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def fill_runs(store: Store, count: int) -> None:
    rnd = random.Random(7)
    modes = ("live", "paper", "dry-run")
    with store.write() as session:
        session.execute(insert(PortfolioRow), [{"name": p, "created_at": T0} for p in ("a", "b")])
        for start in range(0, count, 10_000):
            session.execute(
                insert(RunRow),
                [
                    {
                        "run_id": f"bulk-{i:07d}",
                        "portfolio": "a" if i % 4 else "b",
                        "mode": modes[i % 3],
                        "trigger": "drift_check",
                        "reason": "drift above band",
                        "state": "completed",
                        "started_at": T0 + timedelta(minutes=30 * i),
                        "updated_at": T0 + timedelta(minutes=30 * i + 1),
                        "finished_at": T0 + timedelta(minutes=30 * i + 1),
                        "strategy": {},
                        "quote": "USDT",
                        "largest_drift_before": Decimal(rnd.randint(0, 10**6)) / 10**7,
                        "largest_drift_after": Decimal(0),
                        "orders_count": 4,
                        "notional_traded": Decimal(rnd.randint(0, 10**9)) / 100,
                        "fees": Decimal(rnd.randint(0, 10**6)) / 1000,
                    }
                    for i in range(start, min(start + 10_000, count))
                ],
            )


def median_ms(action: Callable[[], object], repeats: int) -> tuple[float, float]:
    action()  # warm-up: statement caches, page cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1]


def cycle_inputs() -> tuple[Snapshot, Snapshot, Plan]:
    perps, spot = {}, {}
    for i, asset in enumerate(ASSETS):
        price = Decimal(10 ** (4 - i))
        symbol = f"{asset}/USDT:USDT"
        perps[symbol] = PerpState(MarketRules(symbol, Decimal("0.001")), price)
        spot[asset] = SpotHolding(asset, price, Decimal((2000, 3000, 5000, 6000)[i]) / price)
    before = Snapshot(T0, "USDT", Decimal(0), Decimal(20000), spot, perps)
    weights = {a: Decimal(1) / 5 for a in ASSETS}
    strategy = Strategy(
        weights, {a: Hedge(f"{a}/USDT:USDT") for a in ASSETS}, cash_weight=Decimal(1) / 5
    )
    return before, before, plan(before, strategy)


def one_cycle(
    journal: SqlJournal, run_id: str, inputs: tuple[Snapshot, Snapshot, Plan], at: datetime = T0
) -> None:
    """What the journal sees of one paper cycle: 4 orders, each filled in one answer."""
    before, after, planned = inputs
    journal.start_run(RunStart(run_id, "a", "paper", "manual", "bench", at, {}))
    journal.record_snapshot(run_id, before, phase="before")
    journal.advance_run(run_id, RunState.SNAPSHOT, at)
    journal.record_plan(run_id, planned)
    journal.advance_run(run_id, RunState.PLANNED, at)
    intents = [
        OrderIntentRecord(
            f"{run_id}-{o.leg}",
            run_id,
            o.leg,
            o.line,
            o.instrument,
            o.side,
            o.amount,
            o.reduce_only,
            o.mark,
        )
        for o in planned.orders
    ]
    journal.record_intents(intents, at)
    journal.advance_run(run_id, RunState.EXECUTING, at)
    for intent in intents:
        journal.record_update(
            OrderUpdate(intent.client_id, OrderStatus.FILLED, at, "x", intent.amount, intent.mark)
        )
    journal.record_snapshot(run_id, after, phase="after")
    journal.advance_run(run_id, RunState.COMPLETED, at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a temp SQLite file)")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    with scratch_database(args.url) as url:
        upgrade(url)
        with open_store(url) as store:
            print(f"database: {store.url.render_as_string(hide_password=True)}")
            start = time.perf_counter()
            fill_runs(store, args.runs)
            print(f"setup: {args.runs:,} runs bulk-inserted in {time.perf_counter() - start:.1f} s")
            for label, kwargs in (
                ("history, first 50", {}),
                ("history, first 50 of one portfolio", {"portfolio": "b"}),
                ("history, first 50 dry-runs", {"mode": "dry-run"}),
                ("history, first 50 since a date", {"since": T0 + timedelta(days=1000)}),
            ):
                med, p90 = median_ms(partial(history, store, limit=50, **kwargs), 50)
                print(f"{label:<40} median {med:7.2f} ms  p90 {p90:7.2f} ms  (goal < 200 ms)")
            journal = SqlJournal(store)
            inputs = cycle_inputs()
            orders = len(inputs[2].orders)
            counter = iter(range(10**9))
            med, p90 = median_ms(
                lambda: one_cycle(journal, f"cycle-{next(counter)}", inputs), args.cycles
            )
            print(
                f"{'one cycle of journal writes':<40} median {med:7.2f} ms  p90 {p90:7.2f} ms  "
                f"(goal < 10 ms; {orders} orders, {9 + orders} commits)"
            )


if __name__ == "__main__":
    main()
