"""Backtest throughput, in bar-assets per second (bars replayed x assets), on one core and on all.

1. One year of minute bars x 20 assets (a seeded random walk, ~80 % annual volatility), one
   run per policy on one core. Goal: >= 3e7 bar-assets/s per core (vectorbt's published figure
   for a comparable rebalancing loop is about 8e6). Then overlay-band with a 5 % collateral
   buffer, without and with the opt-in cap slack (`hedging.cap_slack`, 5 %), with both at 2 %
   (config/live-binance.toml), and with a 5 % slack and no buffer (holds only under the 1x
   cap): while the cap binds, the default re-plans and trades at nearly every drift check.
   A line says where the default overlay-band's time goes: its plans (how many trade, the
   time per plan) and the rest, beside the time per trading plan the goal would leave.
2. The real daily BTC/ETH data with funding, 2020-01-01 .. 2025-12-29, every policy.
3. A 36-combination sweep (band x policy x fee) over 4 years of minute bars x 20 assets on all
   cores, with the strategy's defaults, or with `--cap-slack F` (collateral buffer and cap
   slack both F). Goal: under 60 s on a 2-core machine.

The machine is shared and noisy: compare figures as ratios within one run (the overlay policies
against spot-band, fresh fitting against reused sizing), not absolute seconds across runs.

Run: .venv/bin/python benchmarks/bench_backtest.py [--quick] [--sweep-months N] [--cap-slack F]
  --quick           the sweep over 1 year instead of 4
  --sweep-months N  the sweep over the first N months of the same path, and its time scaled
                    linearly to 4 years (an extrapolation, printed as one)
  --cap-slack F     the sweep with collateral_buffer = cap_slack = F (e.g. 0.05)
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import numpy as np

from rebalancer.backtest import engine
from rebalancer.backtest.data import PriceTable, load_funding, load_prices
from rebalancer.backtest.engine import Market, run
from rebalancer.backtest.funding import plan_funding
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import RunSpec
from rebalancer.backtest.sweep import expand, ranked, run_all
from rebalancer.backtest.universe import build_universe
from rebalancer.domain import planner
from rebalancer.domain.fitting import fit
from rebalancer.domain.plan import Plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Band, Hedge, Strategy

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MINUTES_PER_YEAR = 525_600
ASSETS = [f"A{k:02d}" for k in range(20)]
GOAL_PER_CORE = 3e7
SLACK = Decimal("0.05")  # collateral buffer and cap slack of the slack runs
LIVE_SLACK = Decimal("0.02")  # as config/live-binance.toml sets them
VECTORBT = 8e6


def _strategy(assets: list[str], cash: str) -> Strategy:
    weight = (1 - Decimal(cash)) / len(assets)
    return Strategy(
        weights=dict.fromkeys(assets, weight),
        hedges={a: Hedge(f"{a}/USDT:USDT") for a in assets},
        cash_weight=Decimal(cash),
        band=Band(Decimal("0.05"), Decimal("0.25")),
        min_trade_notional=Decimal(10),
    )


def _minutes(years: int, seed: int = 1, bars: int | None = None) -> PriceTable:
    """`years` of minute bars, or the first `bars` of them: one seed draws one path."""
    bars = years * MINUTES_PER_YEAR if bars is None else bars
    rng = np.random.default_rng(seed)
    vol = 0.8 / np.sqrt(MINUTES_PER_YEAR)
    steps = rng.normal(0.0, vol, size=(bars, len(ASSETS))).astype(np.float64)
    steps[0] = 0.0
    closes = np.round(100.0 * np.exp(np.cumsum(steps, axis=0)), 6)
    start = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())
    times = start + 60 * np.arange(bars, dtype=np.int64)
    return PriceTable("random walk", times, tuple(ASSETS), closes)


def _market(prices: PriceTable, strategy: Strategy) -> Market:
    universe = build_universe(strategy, "USDT", prices)
    return Market(prices, universe, plan_funding(prices, universe, {}))


def one_year_per_policy() -> None:
    strategy = _strategy(ASSETS, "0.2")
    market = _market(_minutes(1), strategy)
    bar_assets = len(market.prices.times) * len(ASSETS)
    print(f"1 year of minute bars x {len(ASSETS)} assets = {bar_assets:.3g} bar-assets, one core")
    took: dict[str, float] = {}
    for policy in Policy:
        took[policy.value] = _timed(policy, strategy, market, policy.value)
    _plans_against_the_goal(strategy, market)
    # Fitting that sizes every line afresh in every round (the reference) against reused
    # sizing, alternated twice and the best of each kept, since the machine's load drifts.
    planner_fit = planner.fit
    for _ in range(2):
        for reuse in (False, True):
            name = "reused fit" if reuse else "fresh fit"
            planner.fit = partial(fit, reuse=reuse)  # type: ignore[assignment]
            try:
                seconds = _timed(Policy.OVERLAY_BAND, strategy, market, f"overlay-band, {name}")
            finally:
                planner.fit = planner_fit  # type: ignore[assignment]
            took[name] = min(took.get(name, seconds), seconds)
    buffered = replace(strategy, collateral_buffer=SLACK)
    slack = replace(buffered, cap_slack=SLACK)
    live = replace(strategy, collateral_buffer=LIVE_SLACK, cap_slack=LIVE_SLACK)
    unbuffered = replace(strategy, cap_slack=SLACK)
    for _ in range(2):
        for name, strat in (
            ("buffer 5 %", buffered),
            ("buffer + slack 5 %", slack),
            ("buffer + slack 2 %", live),
            ("slack 5 %, no buffer", unbuffered),
        ):
            seconds = _timed(Policy.OVERLAY_BAND, strat, market, f"overlay-band, {name}")
            took[name] = min(took.get(name, seconds), seconds)
    band = took[Policy.SPOT_BAND.value]
    print(
        "  time against spot-band (this run): "
        + ", ".join(f"{name} x{seconds / band:.1f}" for name, seconds in took.items())
    )


def _plans_against_the_goal(strategy: Strategy, market: Market) -> None:
    """Where the default overlay-band's time goes: its plans (how many trade, what they cost)
    and everything else, beside the time per plan the goal would leave."""
    spent: list[float] = []
    trading: list[bool] = []
    made = engine.plan

    def timed_plan(snapshot: Snapshot, strat: Strategy) -> Plan:
        began = time.perf_counter()
        result = made(snapshot, strat)
        spent.append(time.perf_counter() - began)
        trading.append(bool(result.orders))
        return result

    engine.plan = timed_plan  # type: ignore[assignment]
    try:
        spec = RunSpec("overlay-band", Policy.OVERLAY_BAND, strategy, drift_check=3600)
        began = time.perf_counter()
        run(spec, market)
        total = time.perf_counter() - began
    finally:
        engine.plan = made  # type: ignore[assignment]
    goal = len(market.prices.times) * len(ASSETS) / GOAL_PER_CORE
    planning = sum(spent)
    print(
        f"  overlay-band's plans: {len(spent)}, {sum(trading)} of them trading; planning "
        f"{planning:.2f} s ({1e3 * planning / max(1, len(spent)):.2f} ms a plan), the rest "
        f"{total - planning:.2f} s ({1e3 * (total - planning) / max(1, sum(trading)):.2f} ms a "
        f"trading plan); the goal ({goal:.2f} s) leaves {1e3 * goal / max(1, sum(trading)):.2f} "
        "ms a trading plan for everything"
    )


def _timed(policy: Policy, strategy: Strategy, market: Market, label: str) -> float:
    bar_assets = len(market.prices.times) * len(ASSETS)
    spec = RunSpec(policy.value, policy, strategy, cron="0 0 1 */3 *", drift_check=3600)
    began = time.perf_counter()
    result = run(spec, market)
    took = time.perf_counter() - began
    rate = bar_assets / took
    print(
        f"  {label:36s} {took:6.2f} s  {rate:9.3g} bar-assets/s  "
        f"x{rate / GOAL_PER_CORE:5.2f} of goal  x{rate / VECTORBT:5.2f} of vectorbt  "
        f"({result.ledger.rebalances} rebalances, {result.ledger.cap_bound} cap-bound, "
        f"fees {result.ledger.fees:.0f}, final {result.final_value:.0f})"
    )
    return took


def real_daily() -> None:
    if not DATA.is_dir():
        print(f"real daily data: skipped, {DATA} is absent")
        return
    strategy = Strategy(
        weights={"BTC": Decimal(1) / 2, "ETH": Decimal(1) / 3},
        hedges={a: Hedge(f"{a}/USDT:USDT") for a in ("BTC", "ETH")},
        cash_weight=Decimal(1) / 6,
        band=Band(Decimal("0.05"), Decimal("0.25")),
        min_trade_notional=Decimal(10),
    )
    prices = load_prices(DATA / "prices.csv", ["BTC", "ETH"]).between(
        datetime(2020, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2025, 12, 30, tzinfo=UTC)
    )
    universe = build_universe(strategy, "USDT", prices)
    funding = {
        "BTC/USDT:USDT": load_funding(DATA / "funding_BTCUSDT.csv"),
        "ETH/USDT:USDT": load_funding(DATA / "funding_ETHUSDT.csv"),
    }
    market = Market(prices, universe, plan_funding(prices, universe, funding))
    bar_assets = len(prices.times) * 2
    print(f"real daily BTC/ETH 2020-2025 with funding: {len(prices.times)} bars x 2 assets")
    for policy in Policy:
        spec = RunSpec(policy.value, policy, strategy, cron="0 0 1 */3 *", drift_check=3600)
        for scan in (True, False):
            began = time.perf_counter()
            run(spec, market, scan=scan)
            took = time.perf_counter() - began
            mode = "scan" if scan else "loop"
            print(
                f"  {policy.value:17s} {mode}  {took:6.3f} s  {bar_assets / took:9.3g} bar-assets/s"
            )


def sweep(years: int, months: int | None = None, slack: Decimal | None = None) -> None:
    strategy = _strategy(ASSETS, "0.2")
    if slack is not None:
        strategy = replace(strategy, collateral_buffer=slack, cap_slack=slack)
    if months is None:
        prices = _minutes(years)
    else:
        prices = _minutes(1, bars=months * MINUTES_PER_YEAR // 12)  # the path's first months
    market = _market(prices, strategy)
    base = RunSpec("", Policy.HOLD, strategy, cron="0 0 1 */3 *", drift_check=3600)
    specs = expand(
        base,
        [],
        [
            "band=0.02,0.03,0.05,0.10",
            "policy=overlay-band,roll,spot-band",
            "fee=0.0002,0.0005,0.001",
        ],
    )
    cores = os.cpu_count() or 1
    began = time.perf_counter()
    outcomes = ranked(run_all(specs, market, jobs=cores, series=False))
    took = time.perf_counter() - began
    bar_assets = len(specs) * len(market.prices.times) * len(ASSETS)
    span = f"{years} years" if months is None else f"the first {months} months"
    if slack is not None:
        span += f", buffer and cap slack {slack}"
    print(
        f"sweep: {len(specs)} combinations x {span} of minute bars x {len(ASSETS)} assets "
        f"on {cores} cores: {took:.1f} s, "
        f"{bar_assets / took:.3g} bar-assets/s in all, {bar_assets / took / cores:.3g} per core"
    )
    if months is not None:
        full = took * years * 12 / months
        print(
            f"  extrapolated linearly to {years} years: ~{full:.0f} s (goal 60 s: x{60 / full:.2f})"
            " -- an estimate, likely low: the cap binds more often as the assets drift apart"
        )
    else:
        print(f"  goal 60 s: x{60 / took:.2f}")
    best = outcomes[0]
    print(f"  best: {best.name}, final value {best.metrics.final_value:.2f}")


def _months(argv: list[str]) -> int | None:
    if "--sweep-months" not in argv:
        return None
    at = argv.index("--sweep-months")
    try:
        months = int(argv[at + 1])
    except (IndexError, ValueError):
        sys.exit("--sweep-months: give a whole number of months, e.g. --sweep-months 3")
    if not 1 <= months <= 48:
        sys.exit("--sweep-months: give 1 .. 48")
    return months


def _slack(argv: list[str]) -> Decimal | None:
    if "--cap-slack" not in argv:
        return None
    at = argv.index("--cap-slack")
    try:
        slack = Decimal(argv[at + 1])
    except (IndexError, ArithmeticError):
        sys.exit("--cap-slack: give a fraction, e.g. --cap-slack 0.05")
    if not Decimal(0) < slack < Decimal("0.5"):
        sys.exit("--cap-slack: give a fraction in (0, 0.5), e.g. 0.05")
    return slack


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    months = _months(sys.argv)
    slack = _slack(sys.argv)
    one_year_per_policy()
    real_daily()
    sweep(1 if quick else 4, months, slack)
