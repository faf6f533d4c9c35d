"""The fast planning loop is the reference loop (issue 12, backtest speed).

The fast path is the engine as it runs: the vectorized scan, one snapshot per examined bar for
trigger and plan, and fitting that reuses a line's sizing between rounds. The reference path
examines every bar (`scan=False`) and sizes every line afresh in every fitting round. Both must
make the same plans -- compared by repr, so down to every decimal's exponent -- and end with the
same ledger, holdings and series, on generated paths where the cap binds and on real prices.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rebalancer.backtest import engine
from rebalancer.backtest.data import load_funding, load_prices
from rebalancer.backtest.engine import Market, RunResult, run
from rebalancer.backtest.funding import plan_funding
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import RunSpec
from rebalancer.backtest.universe import build_universe
from rebalancer.domain import planner
from rebalancer.domain.fitting import fit
from rebalancer.domain.snapshot import AccountKind
from rebalancer.domain.strategy import Band, RebalanceTo, Strategy
from tests.backtest.helpers import constant_funding, market, random_walk, shared_data, strategy
from tests.backtest.test_scan import _same

HEDGING = (Policy.OVERLAY_BAND, Policy.ROLL, Policy.OVERLAY_CALENDAR)
# Random paths replay a whole engine run per example: few examples, no deadline.
RANDOM_PATHS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def _recording(plans: list[str], *, reuse: bool) -> Iterator[None]:
    made = planner.plan

    def spy(*args: object, **kwargs: object) -> object:
        result = made(*args, **kwargs)  # type: ignore[arg-type]
        plans.append(repr(result))
        return result

    with (
        mock.patch.object(engine, "plan", spy),
        mock.patch.object(planner, "fit", partial(fit, reuse=reuse)),
    ):
        yield


def _both(spec: RunSpec, m: Market) -> tuple[RunResult, list[str], RunResult, list[str]]:
    fast_plans: list[str] = []
    slow_plans: list[str] = []
    with _recording(fast_plans, reuse=True):
        fast = run(spec, m, scan=True)
    with _recording(slow_plans, reuse=False):
        slow = run(spec, m, scan=False)
    return fast, fast_plans, slow, slow_plans


def _agree(spec: RunSpec, m: Market) -> RunResult:
    fast, fast_plans, slow, slow_plans = _both(spec, m)
    _same(fast, slow)
    assert fast_plans == slow_plans
    return fast


def _short_collateral(s: Strategy) -> Strategy:
    return replace(s, max_leverage=Decimal("0.5"))


@pytest.mark.parametrize("policy", HEDGING)
def test_the_fast_loop_is_the_reference_loop_while_the_cap_binds(policy: Policy) -> None:
    symbols = ["BTC", "ETH", "SOL", "ADA", "XRP"]
    weights = {"BTC": "0.3", "ETH": "0.2", "SOL": "0.1", "ADA": "0.1", "XRP": "0.1"}
    s = _short_collateral(strategy(weights, "0.2", band=Band(Decimal("0.02"), None)))
    closes = random_walk(1_200, symbols, seed=11, vol=0.03)
    times = 1_640_995_200 + 3_600 * np.arange(len(closes))
    funding = {f"{a}/USDT:USDT": constant_funding(times, "0.0002") for a in symbols[:3]}
    m = market(closes, symbols, s, funding=funding)
    spec = RunSpec(policy.value, policy, s, Decimal(20_000), cron="0 */6 * * *")
    result = _agree(spec, m)
    assert result.ledger.rebalances > 0
    if policy is not Policy.ROLL:
        assert result.ledger.cap_bound > 0  # the regime that re-plans at every check


@RANDOM_PATHS
@given(
    seed=st.integers(0, 2**31),
    vol=st.sampled_from([0.005, 0.02, 0.05]),
    band=st.sampled_from(["0.01", "0.03", "0.08"]),
    policy=st.sampled_from(HEDGING),
    to=st.sampled_from(list(RebalanceTo)),
    leverage=st.sampled_from(["0.3", "1"]),
)
def test_the_fast_loop_is_the_reference_loop_on_random_paths(
    *, seed: int, vol: float, band: str, policy: Policy, to: RebalanceTo, leverage: str
) -> None:
    symbols = ["A", "B", "C", "D"]
    s = strategy(
        {"A": "0.4", "B": "0.2", "C": "0.1", "D": "0.1"}, "0.2", to=to, band=Band(Decimal(band))
    )
    s = replace(s, max_leverage=Decimal(leverage))
    closes = random_walk(300, symbols, seed=seed, vol=vol)
    spec = RunSpec(policy.value, policy, s, Decimal(5_000), cron="0 */8 * * *")
    _agree(spec, market(closes, symbols, s))


@pytest.mark.needs_shared_data
def test_the_fast_loop_is_the_reference_loop_on_real_prices_with_funding() -> None:
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6", band=Band(Decimal("0.02")))
    bound = 0
    for leverage in ("1", "0.4"):
        strat = replace(s, max_leverage=Decimal(leverage))
        m = _real_market(strat)
        for policy in HEDGING:
            result = _agree(RunSpec(policy.value, policy, strat, cron="0 0 * * 1"), m)
            bound += result.ledger.cap_bound
    assert bound > 0


# The cap slack (planner.py, "cap slack"): the scan proves where a plan would hold every hedge
# and the engine does not make it; the reference loop makes every plan. Held plans trade
# nothing, so the runs must agree on everything and on every plan that was not held.


def _slack(s: Strategy, slack: str = "0.1", buffer: str = "0.1") -> Strategy:
    return replace(s, collateral_buffer=Decimal(buffer), cap_slack=Decimal(slack))


def _agree_held(spec: RunSpec, m: Market) -> tuple[RunResult, int, int]:
    """Both runs agree; returns the fast run and how many plans each made."""
    fast, fast_plans, slow, slow_plans = _both(spec, m)
    _same(fast, slow)

    def acting(plans: list[str]) -> list[str]:
        return [p for p in plans if "hedges held" not in p]

    assert acting(fast_plans) == acting(slow_plans)
    return fast, len(fast_plans), len(slow_plans)


@pytest.mark.parametrize("buffer", ["0.1", "0"])
@pytest.mark.parametrize("policy", HEDGING)
def test_the_fast_loop_skips_held_plans_and_is_the_reference_loop(
    policy: Policy, buffer: str
) -> None:
    symbols = ["BTC", "ETH", "SOL", "ADA", "XRP"]
    weights = {"BTC": "0.3", "ETH": "0.2", "SOL": "0.1", "ADA": "0.1", "XRP": "0.1"}
    s = strategy(weights, "0.2", band=Band(Decimal("0.02"), None))
    s = replace(s, max_leverage=Decimal("0.2"))  # the cap binds from the first plan on
    closes = random_walk(1_200, symbols, seed=11, vol=0.01)
    times = 1_640_995_200 + 3_600 * np.arange(len(closes))
    funding = {f"{a}/USDT:USDT": constant_funding(times, "0.0002") for a in symbols[:3]}
    m = market(closes, symbols, s, funding=funding)
    spec = RunSpec(
        policy.value, policy, _slack(s, buffer=buffer), Decimal(20_000), cron="0 */6 * * *"
    )
    result, fast, slow = _agree_held(spec, m)
    assert result.ledger.rebalances > 0
    if policy is Policy.OVERLAY_BAND:
        assert result.ledger.cap_bound > 0
        assert fast < slow  # held plans were skipped, not made
        tight = run(replace(spec, strategy=_slack(s, "0", buffer)), m)
        assert result.ledger.rebalances < tight.ledger.rebalances  # the point of the slack


@RANDOM_PATHS
@given(
    seed=st.integers(0, 2**31),
    vol=st.sampled_from([0.005, 0.02, 0.05]),
    band=st.sampled_from(["0.01", "0.03"]),
    to=st.sampled_from(list(RebalanceTo)),
    leverage=st.sampled_from(["0.3", "1"]),
    slack=st.sampled_from(["0.02", "0.05", "0.1"]),
    buffer=st.sampled_from(["0", "0.02", "0.1"]),  # 0.02: holds stop at 1x, not at 1.02 x 1.1
    min_trade=st.sampled_from(["10", "60"]),  # 60: the room rule (under one minimum trade)
    unified=st.booleans(),
)
def test_the_fast_loop_with_a_cap_slack_is_the_reference_loop_on_random_paths(
    *,
    seed: int,
    vol: float,
    band: str,
    to: RebalanceTo,
    leverage: str,
    slack: str,
    buffer: str,
    min_trade: str,
    unified: bool,
) -> None:
    symbols = ["A", "B", "C", "D"]
    weights = {"A": "0.4", "B": "0.2", "C": "0.1", "D": "0.1"}
    s = strategy(weights, "0.2", to=to, band=Band(Decimal(band)), min_trade=min_trade)
    s = _slack(replace(s, max_leverage=Decimal(leverage)), slack, buffer)
    closes = random_walk(300, symbols, seed=seed, vol=vol)
    account = AccountKind.UNIFIED if unified else AccountKind.SEGREGATED
    haircuts = tuple((a, Decimal("0.9")) for a in symbols)
    spec = RunSpec("o", Policy.OVERLAY_BAND, s, Decimal(5_000), account=account, haircuts=haircuts)
    _agree_held(spec, market(closes, symbols, s))


@pytest.mark.needs_shared_data
def test_the_fast_loop_with_a_cap_slack_is_the_reference_loop_on_real_prices() -> None:
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6", band=Band(Decimal("0.02")))
    skipped = 0
    for leverage in ("1", "0.4"):
        strat = _slack(replace(s, max_leverage=Decimal(leverage)))
        m = _real_market(strat)
        for policy in HEDGING:
            _, fast, slow = _agree_held(RunSpec(policy.value, policy, strat, cron="0 0 * * 1"), m)
            skipped += slow - fast
    assert skipped > 0


def _real_market(strat: Strategy) -> Market:
    """BTC and ETH, 2021-01 .. 2022-06, daily closes with their real funding."""
    folder = shared_data()
    prices = load_prices(folder / "prices.csv", ["BTC", "ETH"]).between(
        datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 7, 1, tzinfo=UTC)
    )
    funding = {
        "BTC/USDT:USDT": load_funding(folder / "funding_BTCUSDT.csv"),
        "ETH/USDT:USDT": load_funding(folder / "funding_ETHUSDT.csv"),
    }
    universe = build_universe(strat, "USDT", prices)
    return Market(prices, universe, plan_funding(prices, universe, funding))
