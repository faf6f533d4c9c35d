"""Engine invariants over random markets (hypothesis): conservation, the cap, liquidation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rebalancer.backtest.actions import execute_plan
from rebalancer.backtest.engine import run
from rebalancer.backtest.ledger import Ledger
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import Costs, RunSpec, open_account, set_prices
from rebalancer.backtest.view import snapshot_of
from rebalancer.domain.planner import plan
from tests.backtest.helpers import market, random_walk, strategy

FREE = Costs(
    perp_fee=Decimal(0),
    spot_fee=Decimal(0),
    slippage_bps=Decimal(0),
)
AT = datetime(2022, 1, 1, tzinfo=UTC)
prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(5000), places=2)
weights = st.sampled_from([("1/2", "1/3", "1/6"), ("0.4", "0.4", "0.2"), ("0.7", "0.2", "0.1")])


def _setup(w: tuple[str, str, str], policy: Policy, costs: Costs = FREE):  # type: ignore[no-untyped-def]
    s = strategy({"BTC": w[0], "ETH": w[1]}, w[2], min_trade="0")
    closes = np.array([[100.0, 50.0], [100.0, 50.0]])
    m = market(closes, ["BTC", "ETH"], s)
    spec = RunSpec(policy.value, policy, s, Decimal(10_000), costs)
    return s, m, spec


@given(w=weights, p0=prices, p1=prices, q0=prices, q1=prices)
def test_without_costs_a_rebalance_conserves_equity_exactly(w, p0, p1, q0, q1) -> None:  # type: ignore[no-untyped-def]
    s, m, spec = _setup(w, Policy.OVERLAY_BAND)
    account = open_account(spec, m.universe, (p0, q0))
    set_prices(account, m.universe, (p1, q1))
    snapshot = snapshot_of(account, m.universe, FREE, AT)
    before = snapshot.equity
    execute_plan(account, plan(snapshot, s), 1, AT, Ledger())
    after = snapshot_of(account, m.universe, FREE, AT)
    assert after.equity == before


@settings(max_examples=30, deadline=None)
@given(w=weights, seed=st.integers(0, 10_000), fee=st.sampled_from(["0", "0.0005", "0.002"]))
def test_the_cap_holds_after_every_rebalance(w, seed, fee) -> None:  # type: ignore[no-untyped-def]
    s = strategy({"BTC": w[0], "ETH": w[1]}, w[2], min_trade="0")
    closes = random_walk(120, ["BTC", "ETH"], seed=seed, vol=0.05)
    m = market(closes, ["BTC", "ETH"], s)
    costs = Costs(perp_fee=Decimal(fee), slippage_bps=Decimal(3))
    spec = RunSpec("o", Policy.OVERLAY_BAND, s, Decimal(10_000), costs)
    account = open_account(spec, m.universe, tuple(Decimal(repr(float(x))) for x in closes[0]))
    for bar in range(1, len(closes)):
        set_prices(account, m.universe, tuple(Decimal(repr(float(x))) for x in closes[bar]))
        if account.positions() and account.is_liquidatable():
            account.liquidate(AT)
        snapshot = snapshot_of(account, m.universe, costs, AT)
        decided = plan(snapshot, s)
        execute_plan(account, decided, bar, AT, Ledger())
        gross = sum((abs(p.size) * account.mark(p.symbol) for p in account.positions()), Decimal(0))  # type: ignore[operator]
        # Within the cap, or (de-levering from over it) no larger than before.
        assert (
            gross <= s.max_leverage * account.margin_balance() or gross <= snapshot.gross_notional
        )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), jump=st.floats(1.2, 8.0))
def test_a_liquidation_closes_every_position_and_never_leaves_negative_equity(seed, jump) -> None:  # type: ignore[no-untyped-def]
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6", min_trade="0")
    closes = random_walk(48, ["BTC", "ETH"], seed=seed, vol=0.01)
    closes[0] = [100.0, 100.0]
    closes[1] = [60.0, 160.0]  # drifted: the overlay shorts ETH, goes long BTC (bar 1 only)
    closes[2:, 1] *= 1.6 * jump  # then ETH rallies against the short
    closes[2:, 0] *= 0.6
    m = market(np.round(closes, 6), ["BTC", "ETH"], s)
    spec = RunSpec("o", Policy.OVERLAY_CALENDAR, s, Decimal(10_000), cron="0 1 1 1 *")
    result = run(spec, m)
    assert result.ledger.rebalances == 1
    wallet = dict(result.holdings)["futures wallet"]
    assert wallet >= 0
    assert result.final_value >= 0
    # A rally of 1.6 x 3 sits on the liquidation boundary (the walk's noise decides: seeds
    # 97, 1710, ... survive it); from 3.5 up every sampled path is liquidated.
    if jump >= 3.5:
        assert result.ledger.liquidations == 1
    if result.ledger.liquidations:
        assert not [k for k, _ in result.holdings if "/" in k]  # no position left open
