"""Behaviour of the simulated account: fills, positions, validation, funding, margin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rebalancer.sim import FeeSchedule, Fill, Liquidity, MarginMode, Rejection, RejectReason, Side

from .helpers import BTC, ETH, T0, make_account

D = Decimal


def fill(result: Fill | Rejection) -> Fill:
    assert isinstance(result, Fill), result
    return result


def reason(result: object) -> RejectReason:
    assert isinstance(result, Rejection), result
    return result.reason


def test_increase_averages_the_entry_price() -> None:
    account = make_account(leverage=5)
    fill(account.market_order(BTC, Side.BUY, D("0.1"), at=T0))
    account.set_mark(BTC, D(60_000))
    fill(account.market_order(BTC, Side.BUY, D("0.1"), at=T0))
    assert account.position(BTC).entry_price == D(55_000)
    assert account.unrealized_pnl() == D("0.2") * D(5_000)


def test_reduction_realizes_pnl_and_keeps_the_entry() -> None:
    account = make_account()
    fill(account.market_order(BTC, Side.BUY, D("0.1"), at=T0))
    account.set_mark(BTC, D(51_000))
    result = fill(account.market_order(BTC, Side.SELL, D("0.04"), at=T0))
    assert result.realized_pnl == D(40)
    assert account.position(BTC).entry_price == D(50_000)
    assert account.wallet_balance == D(10_040)


def test_flip_closes_then_opens_at_the_fill_price() -> None:
    account = make_account()
    fill(account.market_order(ETH, Side.BUY, D(1), at=T0))
    account.set_mark(ETH, D(2_900))
    result = fill(account.market_order(ETH, Side.SELL, D(3), at=T0))
    assert result.realized_pnl == D(-100)
    assert account.position(ETH).size == D(-2)
    assert account.position(ETH).entry_price == D(2_900)


def test_taker_fee_and_slippage_are_charged_against_the_taker() -> None:
    account = make_account(fees=FeeSchedule(D("0.0005"), D("0.0002")), slippage_bps=D(10))
    result = fill(account.market_order(ETH, Side.BUY, D(1), at=T0))
    assert result.price == D("3003.0")
    assert result.fee == D("1.5015")
    assert result.liquidity is Liquidity.TAKER
    assert account.wallet_balance == D(10_000) - D("1.5015")
    sell = fill(account.market_order(ETH, Side.SELL, D(1), at=T0))
    assert sell.price == D("2997.0")


@pytest.mark.parametrize(
    ("qty", "expected"),
    [
        (D("0.0015"), RejectReason.LOT_SIZE_STEP),
        (D(0), RejectReason.INVALID_QUANTITY),
        (D("0.00005"), RejectReason.LOT_SIZE_STEP),
    ],
)
def test_lot_size_is_enforced(qty: Decimal, expected: RejectReason) -> None:
    assert reason(make_account().market_order(BTC, Side.BUY, qty, at=T0)) is expected


def test_min_notional_rejects_small_orders_but_exempts_reduce_only() -> None:
    account = make_account(btc_mark=D(1_000))
    assert (
        reason(account.market_order(BTC, Side.BUY, D("0.001"), at=T0)) is RejectReason.MIN_NOTIONAL
    )
    fill(account.market_order(BTC, Side.BUY, D("0.006"), at=T0))
    small = account.market_order(BTC, Side.SELL, D("0.001"), at=T0, reduce_only=True)
    assert fill(small).position_after == D("0.005")


def test_reduce_only_rejects_increase_and_flip() -> None:
    account = make_account()
    fill(account.market_order(ETH, Side.SELL, D(1), at=T0))
    grow = account.market_order(ETH, Side.SELL, D(1), at=T0, reduce_only=True)
    flip = account.market_order(ETH, Side.BUY, D(2), at=T0, reduce_only=True)
    flat = make_account().market_order(ETH, Side.BUY, D(1), at=T0, reduce_only=True)
    assert {reason(grow), reason(flip), reason(flat)} == {RejectReason.REDUCE_ONLY}
    assert account.position(ETH).size == D(-1)


def test_increase_beyond_margin_is_rejected_and_changes_nothing() -> None:
    account = make_account(wallet=D(1_000), fees=FeeSchedule(D("0.0005"), D(0)))
    # 1x: 0.02 BTC = 1,000 USDT of initial margin plus a 0.5 USDT fee exceeds the wallet.
    result = account.market_order(BTC, Side.BUY, D("0.02"), at=T0)
    assert reason(result) is RejectReason.INSUFFICIENT_MARGIN
    assert account.wallet_balance == D(1_000)
    assert account.position(BTC).size == 0
    assert account.set_leverage(BTC, 2) is None
    fill(account.market_order(BTC, Side.BUY, D("0.02"), at=T0))


def test_reductions_are_allowed_even_when_under_margined() -> None:
    account = make_account(wallet=D(1_000), leverage=2)
    fill(account.market_order(BTC, Side.BUY, D("0.03"), at=T0))
    account.set_mark(BTC, D(30_000))
    fill(account.market_order(BTC, Side.SELL, D("0.01"), at=T0, reduce_only=True))


def test_leverage_and_margin_mode_settings() -> None:
    account = make_account()
    assert account.leverage(BTC) == 1
    assert reason(account.set_leverage(BTC, 126)) is RejectReason.INVALID_LEVERAGE
    assert reason(account.set_leverage(BTC, 0)) is RejectReason.INVALID_LEVERAGE
    assert account.set_leverage(BTC, 125) is None
    assert account.leverage(BTC) == 125
    assert reason(account.set_margin_mode(BTC, MarginMode.CROSS)) is (
        RejectReason.MARGIN_MODE_UNCHANGED
    )
    assert account.set_margin_mode(BTC, MarginMode.ISOLATED) is None
    assert account.margin_mode(BTC) is MarginMode.ISOLATED


def test_funding_longs_pay_and_shorts_receive_when_positive() -> None:
    account = make_account()
    fill(account.market_order(BTC, Side.BUY, D("0.1"), at=T0))
    fill(account.market_order(ETH, Side.SELL, D(1), at=T0))
    payments = account.apply_funding({BTC: D("0.0001"), ETH: D("0.0001")}, T0)
    by_symbol = {p.symbol: p.amount for p in payments}
    assert by_symbol == {BTC: D("-0.5"), ETH: D("0.3")}
    assert account.wallet_balance == D(10_000) - D("0.5") + D("0.3")


def test_liquidation_price_is_where_margin_balance_meets_maintenance() -> None:
    account = make_account(wallet=D(1_000), leverage=10)
    fill(account.market_order(BTC, Side.BUY, D("0.1"), at=T0))
    price = account.liquidation_price(BTC)
    assert price is not None
    assert D(40_000) < price < D(41_000)
    account.set_mark(BTC, price + 1)
    assert not account.is_liquidatable()
    account.set_mark(BTC, price)
    assert account.margin_balance() - account.maintenance_margin() < D("0.000001")
    assert account.is_liquidatable()


def test_fully_collateralized_long_has_no_liquidation_price() -> None:
    account = make_account()
    fill(account.market_order(BTC, Side.BUY, D("0.1"), at=T0))
    assert account.liquidation_price(BTC) is None
    fill(account.market_order(ETH, Side.SELL, D(1), at=T0))
    short_liq = account.liquidation_price(ETH)
    assert short_liq is not None
    assert short_liq > D(3_000)


def test_liquidate_caps_losses_at_the_wallet() -> None:
    account = make_account(wallet=D(1_000), leverage=20)
    fill(account.market_order(BTC, Side.BUY, D("0.3"), at=T0))
    account.set_mark(BTC, D(40_000))
    report = account.liquidate(T0)
    assert report.insurance_fund_loss == D(2_000)
    assert account.wallet_balance == 0
    assert account.positions() == ()


def test_transfers_move_the_quote_between_spot_and_futures() -> None:
    account = make_account(wallet=D(0))
    account.spot.credit("USDT", D(500))
    assert account.transfer_to_futures(D(600)) is not None
    assert account.transfer_to_futures(D(500)) is None
    assert account.wallet_balance == D(500)
    fill(account.market_order(ETH, Side.BUY, D("0.1"), at=T0))
    assert reason(account.transfer_to_spot(D(300))) is RejectReason.INSUFFICIENT_BALANCE
    assert account.transfer_to_spot(D(200)) is None
    assert account.balance("USDT").free == D(200)


def test_spot_buy_charges_the_fee_in_the_received_asset() -> None:
    account = make_account(fees=FeeSchedule(D("0.001"), D("0.001")))
    account.spot.credit("USDT", D(1_000))
    result = account.spot_market_order(BTC, Side.BUY, D("0.01"), at=T0)
    assert not isinstance(result, Rejection)
    assert result.fee_asset == "BTC"
    assert account.balance("BTC").free == D("0.00999")
    assert account.balance("USDT").free == D(500)
    too_much = account.spot_market_order(BTC, Side.BUY, D("0.02"), at=T0)
    assert reason(too_much) is RejectReason.INSUFFICIENT_BALANCE
