"""Order rules through ccxt: filters, reduce-only, margin, client order ids, batches, cancels.

Behind a loopback URL ccxt cannot pick Binance's futures error table (it keys it on
https://fapi.binance.com/), so futures-only codes surface as plain ExchangeError; these tests
pin down what the bot will actually see, code by code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import Emulator

BTC_PERP = "BTC/USDT:USDT"
ETH_PERP = "ETH/USDT:USDT"


def _raw_order(client: Any, **params: str) -> Any:
    """Send POST /fapi/v1/order as given, bypassing ccxt's own amount rounding."""
    return client.fapiPrivatePostOrder(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", **params}
    )


def test_market_order_fills_at_mark_with_taker_fee(client: Any) -> None:
    order = client.create_order(
        ETH_PERP, "market", "buy", 0.1, params={"newClientOrderId": "r1-eth"}
    )
    assert order["status"] == "closed"
    assert order["average"] == 3000
    assert order["clientOrderId"] == "r1-eth"
    [trade] = client.fetch_my_trades(ETH_PERP)
    assert trade["order"] == order["id"]
    assert trade["fee"] == {"currency": "USDT", "cost": 0.15}
    assert trade["takerOrMaker"] == "taker"


@pytest.mark.parametrize(
    ("quantity", "error", "code"),
    [
        ("0.0015", ccxt.BadRequest, "-1111"),  # not a multiple of stepSize 0.001
        ("0", ccxt.BadRequest, "-4003"),
        ("0.001", ccxt.ExchangeError, "-4164"),  # 70 USDT < MIN_NOTIONAL 100
    ],
)
def test_filters_reject_with_binance_codes(
    client: Any, quantity: str, error: type[Exception], code: str
) -> None:
    with pytest.raises(error, match=code):
        _raw_order(client, quantity=quantity)


def test_min_notional_arrives_as_plain_exchange_error_not_invalid_order(client: Any) -> None:
    with pytest.raises(ccxt.ExchangeError) as caught:
        client.create_order(BTC_PERP, "market", "buy", 0.001)
    assert type(caught.value) is ccxt.ExchangeError
    assert "-4164" in str(caught.value)


def test_reduce_only_min_notional_exemption_and_rejection(client: Any) -> None:
    client.create_order(BTC_PERP, "market", "buy", 0.003)
    small = client.create_order(BTC_PERP, "market", "sell", 0.001, params={"reduceOnly": True})
    assert small["filled"] == 0.001
    with pytest.raises(ccxt.ExchangeError, match="-2022") as caught:
        client.create_order(BTC_PERP, "market", "sell", 0.005, params={"reduceOnly": True})
    assert type(caught.value) is ccxt.ExchangeError


def test_insufficient_margin_is_2019(client: Any) -> None:
    # 2,000 USDT wallet at 1x cannot carry 0.03 BTC (2,100 USDT of initial margin).
    with pytest.raises(ccxt.ExchangeError, match="Margin is insufficient") as caught:
        client.create_order(BTC_PERP, "market", "buy", 0.03)
    assert type(caught.value) is ccxt.ExchangeError
    client.set_leverage(2, BTC_PERP)
    assert client.create_order(BTC_PERP, "market", "buy", 0.03)["status"] == "closed"


def test_leverage_range_and_margin_type(client: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="-4028"):
        client.fapiPrivatePostLeverage({"symbol": "BTCUSDT", "leverage": "126"})
    client.set_margin_mode("isolated", BTC_PERP)
    with pytest.raises(ccxt.MarginModeAlreadySet):
        client.set_margin_mode("isolated", BTC_PERP)
    client.set_margin_mode("cross", BTC_PERP)


def test_client_order_id_charset_is_enforced(client: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="-4015"):
        client.create_order(ETH_PERP, "market", "buy", 0.1, params={"clientOrderId": "bad id!"})
    with pytest.raises(ccxt.BadRequest, match="-4015"):
        client.create_order(ETH_PERP, "market", "buy", 0.1, params={"clientOrderId": "x" * 37})
    with pytest.raises(ccxt.BadRequest, match="-1100"):
        client.create_order("ETH/USDT", "market", "buy", 0.01, params={"clientOrderId": "a b"})


def test_duplicate_client_id_is_rejected_only_while_the_first_order_is_open(
    client: Any, emulator: Emulator
) -> None:
    params = {"clientOrderId": "run7-leg1"}
    resting = client.create_order(ETH_PERP, "limit", "buy", 0.1, 2_500, params=params)
    assert resting["status"] == "open"
    with pytest.raises(ccxt.ExchangeError, match="-4116") as caught:
        client.create_order(ETH_PERP, "market", "buy", 0.1, params=params)
    assert type(caught.value) is ccxt.ExchangeError
    emulator.set_mark_price("ETHUSDT", Decimal(2_500))  # the resting bid fills as maker
    assert client.fetch_order(resting["id"], ETH_PERP)["status"] == "closed"
    # The trap: once the first order is done, the same id is accepted again.
    again = client.create_order(ETH_PERP, "market", "buy", 0.1, params=params)
    assert again["id"] != resting["id"]
    found = client.fetch_order(None, ETH_PERP, params={"origClientOrderId": "run7-leg1"})
    assert found["id"] == again["id"]
    assert client.fetch_positions([ETH_PERP])[0]["contracts"] == 0.2


def test_unknown_orders_are_order_not_found(client: Any) -> None:
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        client.fetch_order("42", ETH_PERP)
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        client.fetch_order(None, ETH_PERP, params={"origClientOrderId": "never-sent"})
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        client.cancel_order("42", ETH_PERP)


def test_open_orders_and_cancel(client: Any) -> None:
    order = client.create_order(ETH_PERP, "limit", "sell", 0.1, 3_500)
    assert [o["id"] for o in client.fetch_open_orders(ETH_PERP)] == [order["id"]]
    # Without a symbol ccxt asks the default (spot) venue; futures need type=swap.
    assert client.fetch_open_orders() == []
    assert [o["id"] for o in client.fetch_open_orders(params={"type": "swap"})] == [order["id"]]
    assert client.cancel_order(order["id"], ETH_PERP)["status"] == "canceled"
    assert client.fetch_open_orders(ETH_PERP) == []


def test_batch_orders_answer_per_order_and_cap_at_five(client: Any) -> None:
    leg = {"symbol": ETH_PERP, "type": "market", "side": "buy", "amount": 0.01}
    too_small = {"symbol": BTC_PERP, "type": "market", "side": "buy", "amount": 0.001}
    orders = client.create_orders([leg, leg, too_small, leg, leg])
    # ccxt sorts the parsed batch by timestamp: the rejected entry (no timestamp, no client id)
    # comes first, so results cannot be matched to requests by position.
    assert [o["status"] for o in orders] == ["rejected", "closed", "closed", "closed", "closed"]
    assert orders[0]["info"]["code"] == -4164
    assert orders[0]["clientOrderId"] is None
    assert client.fetch_positions([ETH_PERP])[0]["contracts"] == 0.04
    with pytest.raises(ccxt.BadRequest, match="-1130"):
        client.create_orders([leg] * 6)


def test_spot_market_and_limit_orders(client: Any, emulator: Emulator) -> None:
    bought = client.create_order("ETH/USDT", "market", "buy", 0.1)
    assert bought["status"] == "closed"
    assert bought["fee"]["currency"] == "ETH"
    with pytest.raises(ccxt.InsufficientFunds):
        client.create_order("BTC/USDT", "market", "buy", 0.01)
    with pytest.raises(ccxt.InvalidOrder):
        client.privatePostOrder(
            {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.000001"}
        )
    bid = client.create_order("ETH/USDT", "limit", "buy", 0.05, 2_000)
    assert client.fetch_balance()["USDT"]["used"] == 100
    emulator.set_spot_price("ETHUSDT", Decimal(1_990))
    assert client.fetch_order(bid["id"], "ETH/USDT")["status"] == "closed"
    assert client.fetch_balance()["USDT"]["used"] == 0
