"""The emulator's Bybit V5 spot market orders on the unified account, driven by the real sync
ccxt `bybit` client: `category=spot` creates answer an ack, `qty` is base with
`marketUnit=baseCoin` and quote for a buy without it, coin balances move in the one account,
the fee is in the coin received, lookups by `orderLinkId`, spot error codes, faults."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import Emulator, Fault
from rebalancer.emulator.orders import Segment

VENUE = "bybit"  # the conftest's emulator and client speak bybit
D = Decimal
CREATE = "/v5/order/create"
FEE = D("0.0005")  # the seed state's taker fee


def spot(
    symbol: str = "BTCUSDT", side: str = "Sell", qty: str = "0.02", **extra: Any
) -> dict[str, Any]:
    return {
        "category": "spot",
        "symbol": symbol,
        "side": side,
        "orderType": "Market",
        "qty": qty,
        **extra,
    }


def coins(client: Any) -> dict[str, Decimal]:
    answer = client.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"})
    return {c["coin"]: D(c["walletBalance"]) for c in answer["result"]["list"][0]["coin"]}


def history(client: Any, link_id: str) -> dict[str, Any]:
    answer = client.privateGetV5OrderHistory({"category": "spot", "orderLinkId": link_id})
    rows: list[dict[str, Any]] = answer["result"]["list"]
    assert len(rows) == 1
    return rows[0]


def test_a_spot_sale_in_base_units_moves_the_unified_coins_and_pays_the_fee_in_quote(
    client: Any, emulator: Emulator
) -> None:
    before = coins(client)
    answer = client.privatePostV5OrderCreate(
        spot(marketUnit="baseCoin", orderLinkId="rb-sale-1", isLeverage=0)
    )
    after = coins(client)

    assert set(answer["result"]) == {"orderId", "orderLinkId"}  # an ack, as for linear
    assert answer["result"]["orderLinkId"] == "rb-sale-1"
    price = emulator.exchange.account.spot.price("BTCUSDT")
    assert price is not None
    proceeds = D("0.02") * price
    assert after["BTC"] == before["BTC"] - D("0.02")
    assert after["USDT"] == before["USDT"] + proceeds - proceeds * FEE
    row = history(client, "rb-sale-1")
    assert (row["orderStatus"], row["marketUnit"], row["isLeverage"]) == ("Filled", "baseCoin", "0")
    assert D(row["cumExecQty"]) == D("0.02")
    assert row["cumFeeDetail"] == {"USDT": format((proceeds * FEE).normalize(), "f")}
    parsed = client.parse_order(row, client.market("BTC/USDT"))
    assert parsed["clientOrderId"] == "rb-sale-1"
    assert parsed["amount"] == 0.02
    assert parsed["filled"] == 0.02
    assert parsed["fee"]["currency"] == "USDT"


def test_a_spot_buy_in_base_units_spends_the_one_quote_balance_and_pays_the_fee_in_base(
    client: Any, emulator: Emulator
) -> None:
    # The seed's USDT is the unified wallet's; none sits in a spot wallet.
    assert emulator.exchange.account.spot.balance("USDT").total == 0
    before = coins(client)
    client.privatePostV5OrderCreate(
        spot("ETHUSDT", "Buy", "0.4", marketUnit="baseCoin", orderLinkId="rb-buy-1")
    )
    after = coins(client)

    price = emulator.exchange.account.spot.price("ETHUSDT")
    assert price is not None
    assert after["USDT"] == before["USDT"] - D("0.4") * price
    assert after["ETH"] == before["ETH"] + D("0.4") - D("0.4") * FEE
    row = history(client, "rb-buy-1")
    assert row["cumFeeDetail"] == {"ETH": format((D("0.4") * FEE).normalize(), "f")}
    assert D(row["qty"]) == D("0.4")


def test_a_market_buy_without_market_unit_spends_qty_in_the_quote_coin(
    client: Any, emulator: Emulator
) -> None:
    # Bybit's default for a market buy: qty is what to spend. 0.4 USDT buys no 0.4 ETH.
    price = emulator.exchange.account.spot.price("ETHUSDT")
    assert price is not None
    client.privatePostV5OrderCreate(spot("ETHUSDT", "Buy", "1000", orderLinkId="rb-quote-1"))

    row = history(client, "rb-quote-1")
    assert row["marketUnit"] == ""
    assert D(row["qty"]) == D(1000)
    assert D(row["cumExecQty"]) == D(1000) / price
    parsed = client.parse_order(row, client.market("ETH/USDT"))
    # ccxt does not read a quote qty as base either: the amount is what was filled.
    assert parsed["amount"] == parsed["filled"] == float(D(1000) / price)


def test_spot_refusals_answer_bybits_spot_codes_and_move_nothing(
    client: Any, emulator: Emulator
) -> None:
    client.privatePostV5OrderCreate(spot(marketUnit="baseCoin", orderLinkId="rb-dup-1"))
    before = coins(client)
    cases = [
        (spot(marketUnit="baseCoin", orderLinkId="rb-dup-1"), ccxt.InvalidOrder, 170141),
        (
            spot(qty="5", marketUnit="baseCoin", orderLinkId="rb-much-1"),
            ccxt.InsufficientFunds,
            170131,
        ),
        (
            spot("ETHUSDT", "Buy", "100", marketUnit="baseCoin", orderLinkId="rb-much-2"),
            ccxt.InsufficientFunds,
            170131,
        ),
        (spot(qty="0.0000001", marketUnit="baseCoin"), ccxt.InvalidOrder, 170137),
        (spot(marketUnit="baseCoin", isLeverage=1), ccxt.BadRequest, 170130),
    ]
    for request, error, code in cases:
        with pytest.raises(error) as caught:
            client.privatePostV5OrderCreate(request)
        assert f'"retCode":{code}' in str(caught.value).replace(" ", "")
    assert coins(client) == before
    assert len([o for o in emulator.exchange.store.all_orders() if o.segment is Segment.SPOT]) == 1


def test_spot_and_linear_lookups_are_apart(client: Any) -> None:
    client.privatePostV5OrderCreate(spot(marketUnit="baseCoin", orderLinkId="rb-apart-1"))

    realtime = client.privateGetV5OrderRealtime({"category": "spot", "orderLinkId": "rb-apart-1"})
    linear = client.privateGetV5OrderHistory({"category": "linear", "orderLinkId": "rb-apart-1"})
    assert realtime["result"]["list"] == []  # a market order is filled: history only
    assert realtime["result"]["category"] == "spot"
    assert linear["result"]["list"] == []
    assert history(client, "rb-apart-1")["symbol"] == "BTCUSDT"


def test_faults_apply_to_spot_orders(client: Any, emulator: Emulator) -> None:
    emulator.inject(Fault.response_lost(path=CREATE, method="POST"))
    with pytest.raises(ccxt.NetworkError):
        client.privatePostV5OrderCreate(spot(marketUnit="baseCoin", orderLinkId="rb-lost-1"))
    assert history(client, "rb-lost-1")["orderStatus"] == "Filled"  # executed, answer lost

    emulator.inject(Fault.http_status(503, path=CREATE, method="POST"))
    with pytest.raises(ccxt.ExchangeError):
        client.privatePostV5OrderCreate(spot(marketUnit="baseCoin", orderLinkId="rb-5xx-1"))
    gone = client.privateGetV5OrderHistory({"category": "spot", "orderLinkId": "rb-5xx-1"})
    assert gone["result"]["list"] == []  # refused before it reached the engine


@pytest.mark.parametrize("category", ["spot", "linear"])
def test_an_order_not_yet_visible_answers_the_category_asked_for(
    client: Any, emulator: Emulator, category: str
) -> None:
    symbol = "BTCUSDT"
    if category == "spot":
        client.privatePostV5OrderCreate(spot(marketUnit="baseCoin", orderLinkId="rb-lag-1"))
    else:
        client.privatePostV5OrderCreate(
            {**spot(orderLinkId="rb-lag-1"), "category": "linear", "qty": "0.01"}
        )
    emulator.inject(Fault.not_yet_visible(count=1, path="/v5/order/history"))
    lookup = {"category": category, "symbol": symbol, "orderLinkId": "rb-lag-1"}

    lagging = client.privateGetV5OrderHistory(lookup)
    seen = client.privateGetV5OrderHistory(lookup)
    assert lagging["result"]["category"] == category
    assert lagging["result"]["list"] == []
    assert seen["result"]["category"] == category
    assert [row["orderLinkId"] for row in seen["result"]["list"]] == ["rb-lag-1"]
