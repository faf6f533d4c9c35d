"""Invariants of the simulated account, checked with Hypothesis over random trade sequences."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rebalancer.sim import FeeSchedule, Fill, Rejection, Side

from .helpers import BTC, ETH, T0, make_account

D = Decimal
SETTINGS = settings(max_examples=150, deadline=None, database=None)

prices = st.decimals(min_value=D(100), max_value=D(100_000), places=2)
sides = st.sampled_from(Side)
btc_qty = st.integers(min_value=1, max_value=400).map(lambda n: D(n) * D("0.001"))
eth_qty = st.integers(min_value=1, max_value=400).map(lambda n: D(n) * D("0.01"))
perp_trade = st.one_of(
    st.tuples(st.just("perp"), st.just(BTC), sides, btc_qty),
    st.tuples(st.just("perp"), st.just(ETH), sides, eth_qty),
)
spot_trade = st.tuples(st.just("spot"), st.just(BTC), sides, btc_qty)
mark_move = st.tuples(st.just("mark"), st.sampled_from([BTC, ETH]), prices, st.none())
operations = st.lists(st.one_of(perp_trade, spot_trade, mark_move), max_size=40)


@SETTINGS
@given(operations)
def test_trades_at_the_mark_without_costs_conserve_equity(
    ops: list[tuple[str, str, object, object]],
) -> None:
    account = make_account(wallet=D(20_000), leverage=10)
    account.spot.credit("USDT", D(50_000))
    account.spot.credit("BTC", D(1))
    for kind, symbol, arg, qty in ops:
        if kind == "mark":
            assert isinstance(arg, Decimal)
            account.set_mark(symbol, arg)
            if symbol == BTC:
                account.spot.set_price(BTC, arg)
            continue
        assert isinstance(arg, Side)
        assert isinstance(qty, Decimal)
        asset_prices = {"BTC": account.spot.price(BTC) or D(0)}
        before = account.equity(asset_prices)
        if kind == "perp":
            account.market_order(symbol, arg, qty, at=T0)
        else:
            account.spot_market_order(symbol, arg, qty, at=T0)
        assert account.equity(asset_prices) == before


@SETTINGS
@given(
    side=sides,
    qty=btc_qty,
    mark=prices,
    taker=st.decimals(min_value=D(0), max_value=D("0.001"), places=5),
    slippage=st.sampled_from([D(0), D(1), D("2.5"), D(10)]),
)
def test_round_trip_loses_exactly_fees_and_slippage(
    side: Side, qty: Decimal, mark: Decimal, taker: Decimal, slippage: Decimal
) -> None:
    account = make_account(
        wallet=D(10_000_000), fees=FeeSchedule(taker, D(0)), slippage_bps=slippage, btc_mark=mark
    )
    before = account.equity({})
    opened = account.market_order(BTC, side, qty, at=T0)
    other = Side.SELL if side is Side.BUY else Side.BUY
    closed = account.market_order(BTC, other, qty, at=T0, reduce_only=True)
    if isinstance(opened, Rejection):
        assert opened.reason.value == "min_notional"
        return
    assert isinstance(closed, Fill)
    slippage_cost = qty * abs(opened.price - closed.price)
    assert before - account.equity({}) == opened.fee + closed.fee + slippage_cost
    if slippage == 0:
        assert before - account.equity({}) == opened.fee + closed.fee
    assert account.positions() == ()


@SETTINGS
@given(
    start=st.integers(min_value=-500, max_value=500).map(lambda n: D(n) * D("0.01")),
    orders=st.lists(st.tuples(sides, eth_qty), max_size=20),
)
def test_reduce_only_never_grows_or_flips_a_position(
    start: Decimal, orders: list[tuple[Side, Decimal]]
) -> None:
    account = make_account(wallet=D(10_000_000))
    account.seed_position(ETH, start, D(3_000))
    for side, qty in orders:
        before = account.position(ETH).size
        result = account.market_order(ETH, side, qty, at=T0, reduce_only=True)
        after = account.position(ETH).size
        if isinstance(result, Rejection):
            assert after == before
            continue
        assert abs(after) < abs(before)
        assert after == 0 or (after > 0) == (before > 0)


@SETTINGS
@given(
    wallet=st.decimals(min_value=D(0), max_value=D(100_000), places=2),
    btc=st.integers(min_value=-100, max_value=100).map(lambda n: D(n) * D("0.01")),
    eth=st.integers(min_value=-100, max_value=100).map(lambda n: D(n) * D("0.1")),
    entries=st.tuples(prices, prices),
    marks=st.tuples(prices, prices),
)
def test_liquidation_never_leaves_negative_equity(
    wallet: Decimal,
    btc: Decimal,
    eth: Decimal,
    entries: tuple[Decimal, Decimal],
    marks: tuple[Decimal, Decimal],
) -> None:
    account = make_account(wallet=wallet)
    account.seed_position(BTC, btc, entries[0])
    account.seed_position(ETH, eth, entries[1])
    account.set_mark(BTC, marks[0])
    account.set_mark(ETH, marks[1])
    owed = wallet + account.unrealized_pnl()
    report = account.liquidate(T0)
    assert account.positions() == ()
    assert account.wallet_balance >= 0
    assert account.equity({}) >= 0
    assert account.wallet_balance - report.insurance_fund_loss == owed
