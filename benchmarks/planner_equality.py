"""Differential check: the planner's output, to its repr, against a corpus from earlier code.

Run:
  .venv/bin/python benchmarks/planner_equality.py record [--corpus PATH]  (the reference code)
  .venv/bin/python benchmarks/planner_equality.py check [--corpus PATH]   (the code under test)

`record` collects the (snapshot, strategy) pairs the backtest engine plans at, in one-year
minute-bar runs over 20 assets (bench_backtest.py's workload): overlay-band and roll, a
segregated and a unified account (with and without a borrowing limit), a 5 % collateral buffer
with a 5 % cap slack, and band rebalancing (`RebalanceTo.BAND`); then random cases of
compare_planner.py (groups, index perps, proxies, flips, exchange minimums, fees). It pickles
every pair with `repr(plan(...))` (or the PlanningError's message). `check` plans each pair
again and compares the repr one by one: Decimal exponents included, since journals and reports
print them. It also times plan() over the corpus (the corpus's plans only, no engine).
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_backtest as bench
import compare_planner
from rebalancer.backtest import engine
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import RunSpec
from rebalancer.domain import planner
from rebalancer.domain.snapshot import AccountKind, Snapshot
from rebalancer.domain.strategy import RebalanceTo, Strategy

CORPUS = Path("/tmp/planner_corpus.pkl")  # noqa: S108 - a scratch file, by design
RANDOM_CASES = 3000
Pair = tuple[str, Snapshot, Strategy]


def _outcome(snapshot: Snapshot, strategy: Strategy) -> str:
    try:
        return repr(planner.plan(snapshot, strategy))
    except planner.PlanningError as exc:
        return f"PlanningError({exc})"


def _runs() -> list[tuple[str, RunSpec]]:
    base = bench._strategy(bench.ASSETS, "0.2")
    slack = replace(base, collateral_buffer=Decimal("0.05"), cap_slack=Decimal("0.05"))
    band = replace(base, rebalance_to=RebalanceTo.BAND)
    borrow = replace(base, max_borrow=Decimal("0.02"))
    unified = AccountKind.UNIFIED
    cases = [
        ("overlay-band", Policy.OVERLAY_BAND, base, AccountKind.SEGREGATED),
        ("overlay-band unified", Policy.OVERLAY_BAND, base, unified),
        ("overlay-band unified max_borrow", Policy.OVERLAY_BAND, borrow, unified),
        ("overlay-band buffer+slack", Policy.OVERLAY_BAND, slack, AccountKind.SEGREGATED),
        ("overlay-band rebalance_to=band", Policy.OVERLAY_BAND, band, AccountKind.SEGREGATED),
        ("roll", Policy.ROLL, base, AccountKind.SEGREGATED),
        ("overlay-calendar unified band", Policy.OVERLAY_CALENDAR, band, unified),
    ]
    haircuts = tuple((asset, Decimal("0.8")) for asset in bench.ASSETS)
    return [
        (
            name,
            RunSpec(
                name,
                policy,
                strat,
                cron="0 0 1 */3 *",
                drift_check=3600,
                account=kind,
                haircuts=haircuts,
            ),
        )
        for name, policy, strat, kind in cases
    ]


def _unified_variants(pairs: list[Pair], rnd: random.Random) -> list[Pair]:
    """Every third overlay-band snapshot as a unified account that borrows, under a borrowing
    limit that often binds (the engine's unified runs rarely reach the cap)."""
    found: list[Pair] = []
    for _, snapshot, strategy in [p for p in pairs if p[0] == "overlay-band"][::3]:
        futures = snapshot.futures_equity
        unified = replace(
            snapshot,
            kind=AccountKind.UNIFIED,
            cash=-futures * Decimal(rnd.choice(("0", "0.2", "0.5", "0.9"))),
            collateral_value=futures * Decimal(rnd.choice(("0.8", "1", "1.5"))),
        )
        limited = replace(
            strategy,
            max_borrow=Decimal(rnd.choice(("0", "0.01", "0.05"))),
            borrow_stress=Decimal(rnd.choice(("0.25", "0.5", "1"))),
        )
        found.append(("derived unified max_borrow", unified, limited))
    print(f"derived unified max_borrow: {len(found)}")
    return found


def _slack_variants(pairs: list[Pair], rnd: random.Random) -> list[Pair]:
    """Every other overlay-band snapshot planned with a cap slack (the engine's scan skips the
    plans that would hold every hedge, so its runs never reach that path)."""
    found: list[Pair] = []
    for _, snapshot, strategy in [p for p in pairs if p[0] == "overlay-band"][::2]:
        slack = Decimal(rnd.choice(("0.02", "0.05", "0.1")))
        varied = replace(
            strategy,
            collateral_buffer=slack,
            cap_slack=slack,
            rebalance_to=rnd.choice(tuple(RebalanceTo)),
        )
        found.append(("derived cap slack", snapshot, varied))
    print(f"derived cap slack: {len(found)}")
    return found


def record(path: Path) -> None:
    pairs: list[Pair] = []
    market = bench._market(bench._minutes(1), bench._strategy(bench.ASSETS, "0.2"))
    original: Callable[[Snapshot, Strategy], Any] = engine.plan
    for name, spec in _runs():

        def collect(snapshot: Snapshot, strategy: Strategy, name: str = name) -> Any:
            pairs.append((name, snapshot, strategy))
            return original(snapshot, strategy)

        engine.plan = collect  # type: ignore[assignment]
        try:
            began = len(pairs)
            engine.run(spec, market)
        finally:
            engine.plan = original  # type: ignore[assignment]
        print(f"{name}: {len(pairs) - began} plans")
    rnd = random.Random(1)
    pairs.extend(_unified_variants(pairs, rnd))
    pairs.extend(_slack_variants(pairs, rnd))
    for _ in range(RANDOM_CASES):
        case = compare_planner.random_case(rnd)
        pairs.append(("compare_planner random", case.snapshot, case.strategy))
    print(f"compare_planner random cases: {RANDOM_CASES}")
    outcomes = [_outcome(snapshot, strategy) for _, snapshot, strategy in pairs]
    with path.open("wb") as out:
        pickle.dump((pairs, outcomes), out, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"recorded {len(pairs)} plans to {path}")


def check(path: Path) -> int:
    with path.open("rb") as src:
        pairs, outcomes = pickle.load(src)  # noqa: S301 - our own file
    mismatches = 0
    by_source: dict[str, list[int]] = {}
    for (source, snapshot, strategy), expected in zip(pairs, outcomes, strict=True):
        counts = by_source.setdefault(source, [0, 0])
        counts[0] += 1
        if _outcome(snapshot, strategy) != expected:
            counts[1] += 1
            mismatches += 1
    for source, (count, bad) in by_source.items():
        print(f"  {source:34s} {count:6d} compared  {bad} mismatches")
    print(f"compared {len(pairs)} plans: {mismatches} mismatches")
    began = time.perf_counter()
    for _, snapshot, strategy in pairs:
        with contextlib.suppress(planner.PlanningError):
            planner.plan(snapshot, strategy)
    took = time.perf_counter() - began
    print(f"plan() over the corpus: {took:.2f} s, {took / len(pairs) * 1e3:.3f} ms per plan")
    return 1 if mismatches else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("record", "check"))
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    if args.mode == "record":
        record(args.corpus)
    else:
        sys.exit(check(args.corpus))


if __name__ == "__main__":
    main()
