"""Planner scaling: plan time for 10 .. 10,000 assets (median of repeats, one process).

Run: .venv/bin/python benchmarks/bench_planner.py [--repeats N]

Prints per-size median milliseconds, microseconds per asset, and each size's per-asset cost
as a ratio of the 100-asset cost (1.0 = linear). Goal: 1,000 assets under 5 ms median.
Figures vary with the machine; the ratios are what to compare between runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

from rebalancer.domain.market import MarketRules
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.domain.strategy import Hedge, Strategy

SIZES = (10, 100, 1_000, 10_000)


def portfolio(n: int, seed: int = 7) -> tuple[Snapshot, Strategy]:
    rnd = random.Random(seed)
    spot, perps, weights, hedges = {}, {}, {}, {}
    for i in range(n):
        asset = f"C{i:05d}"
        price = Decimal(rnd.randint(10, 10_000_000)) / 100
        spot[asset] = SpotHolding(asset, price, Decimal(rnd.randint(1, 10_000)) / price)
        symbol = f"{asset}/USDT:USDT"
        rules = MarketRules(
            symbol, Decimal("0.001"), Decimal("0.001"), Decimal(5), taker_fee=Decimal("0.0005")
        )
        perps[symbol] = PerpState(rules, price, Decimal(rnd.randint(-50, 50)) / 1000)
        weights[asset] = Decimal(1) / Decimal(n + 1)
        hedges[asset] = Hedge(symbol)
    snap = Snapshot(
        datetime(2026, 1, 1, tzinfo=UTC),
        "USDT",
        Decimal(0),
        sum((h.value for h in spot.values()), Decimal(0)),
        spot,
        perps,
    )
    strat = Strategy(weights, hedges, cash_weight=Decimal(1) / Decimal(n + 1))
    return snap, strat


def measure(n: int, repeats: int) -> float:
    snap, strat = portfolio(n)
    plan(snap, strat)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        plan(snap, strat)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    results = {
        n: measure(n, args.repeats if n < 10_000 else max(3, args.repeats // 3)) for n in SIZES
    }
    base = results[100] / 100
    print(f"{'assets':>8} {'median ms':>10} {'us/asset':>9} {'vs 100':>7}")
    for n, seconds in results.items():
        per_asset = seconds / n
        print(f"{n:>8} {seconds * 1e3:>10.2f} {per_asset * 1e6:>9.1f} {per_asset / base:>7.2f}")


if __name__ == "__main__":
    main()
