"""The emulator's OKX V5 spot market orders on the multi-currency margin account, driven by the
real sync ccxt `okx` client: a SPOT `instId` in `tdMode=cash`, `sz` in base with
`tgtCcy=base_ccy` and in quote for a buy without it, coin balances moving in the one account,
the fee (negative) in the currency received, lookups by `clOrdId`, error codes, faults."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import Emulator, Fault
from rebalancer.emulator.orders import Segment

VENUE = "okx"  # the conftest's emulator and client speak okx
D = Decimal
ORDER = "/api/v5/trade/order"
FEE = D("0.0005")  # the seed state's taker fee


def spot(
    inst: str = "BTC-USDT", side: str = "sell", sz: str = "0.02", **extra: Any
) -> dict[str, Any]:
    return {"instId": inst, "tdMode": "cash", "side": side, "ordType": "market", "sz": sz, **extra}


def cash(client: Any) -> dict[str, Decimal]:
    row = client.privateGetAccountBalance()["data"][0]
    return {d["ccy"]: D(d["cashBal"]) for d in row["details"]}


def lookup(client: Any, inst: str, cl_ord_id: str) -> dict[str, Any]:
    answer = client.privateGetTradeOrder({"instId": inst, "clOrdId": cl_ord_id})
    rows: list[dict[str, Any]] = answer["data"]
    assert len(rows) == 1
    return rows[0]


def test_a_spot_sale_in_base_units_moves_the_coins_and_pays_the_fee_in_quote(
    client: Any, emulator: Emulator
) -> None:
    before = cash(client)
    answer = client.privatePostTradeOrder(spot(tgtCcy="base_ccy", clOrdId="sale1"))
    after = cash(client)

    assert answer["code"] == "0"
    assert [(i["sCode"], i["clOrdId"]) for i in answer["data"]] == [("0", "sale1")]
    price = emulator.exchange.account.spot.price("BTCUSDT")
    assert price is not None
    proceeds = D("0.02") * price
    assert after["BTC"] == before["BTC"] - D("0.02")
    assert after["USDT"] == before["USDT"] + proceeds - proceeds * FEE
    row = lookup(client, "BTC-USDT", "sale1")
    assert (row["instType"], row["tdMode"], row["tgtCcy"], row["state"]) == (
        "SPOT",
        "cash",
        "base_ccy",
        "filled",
    )
    assert D(row["accFillSz"]) == D("0.02")
    assert (D(row["fee"]), row["feeCcy"]) == (-proceeds * FEE, "USDT")
    parsed = client.fetch_order(None, "BTC/USDT", {"clOrdId": "sale1"})
    assert (parsed["clientOrderId"], parsed["amount"], parsed["filled"]) == ("sale1", 0.02, 0.02)
    assert parsed["fee"] == {"cost": float(proceeds * FEE), "currency": "USDT"}


def test_a_spot_buy_in_base_units_spends_the_one_quote_balance_and_pays_the_fee_in_base(
    client: Any, emulator: Emulator
) -> None:
    before = cash(client)
    client.privatePostTradeOrder(spot("ETH-USDT", "buy", "0.4", tgtCcy="base_ccy", clOrdId="buy1"))
    after = cash(client)

    price = emulator.exchange.account.spot.price("ETHUSDT")
    assert price is not None
    assert after["USDT"] == before["USDT"] - D("0.4") * price
    assert after["ETH"] == before["ETH"] + D("0.4") - D("0.4") * FEE
    row = lookup(client, "ETH-USDT", "buy1")
    assert (D(row["sz"]), D(row["fee"]), row["feeCcy"]) == (D("0.4"), -D("0.4") * FEE, "ETH")


def test_a_market_buy_without_tgt_ccy_spends_sz_in_the_quote_currency(
    client: Any, emulator: Emulator
) -> None:
    price = emulator.exchange.account.spot.price("ETHUSDT")
    assert price is not None
    client.privatePostTradeOrder(spot("ETH-USDT", "buy", "1000", clOrdId="quote1"))

    row = lookup(client, "ETH-USDT", "quote1")
    assert (row["tgtCcy"], D(row["sz"])) == ("", D(1000))
    assert D(row["accFillSz"]) == D(1000) / price


def test_spot_refusals_answer_okx_codes_and_move_nothing(client: Any, emulator: Emulator) -> None:
    client.privatePostTradeOrder(spot(tgtCcy="base_ccy", clOrdId="dup1"))
    before = cash(client)
    cases = [
        (spot(tgtCcy="base_ccy", clOrdId="dup1"), "51016"),
        (spot(sz="5", tgtCcy="base_ccy", clOrdId="much1"), "51008"),
        (spot("ETH-USDT", "buy", "100", tgtCcy="base_ccy", clOrdId="much2"), "51008"),
        (spot(sz="0.0000001", tgtCcy="base_ccy", clOrdId="lot1"), "51121"),
        (spot(tgtCcy="base_ccy", tdMode="cross", clOrdId="cross1"), "51000"),
        (spot(tgtCcy="base_ccy", clOrdId="rb-run-0"), "51000"),
    ]
    for request, code in cases:
        with pytest.raises(ccxt.ExchangeError) as caught:  # code 1: ccxt raises the item's
            client.privatePostTradeOrder(request)
        text = str(caught.value).replace(" ", "")
        assert '"code":"1"' in text
        assert f'"sCode":"{code}"' in text
    assert cash(client) == before
    assert len([o for o in emulator.exchange.store.all_orders() if o.segment is Segment.SPOT]) == 1


def test_spot_and_swap_lookups_are_apart(client: Any) -> None:
    client.privatePostTradeOrder(spot(tgtCcy="base_ccy", clOrdId="apart1"))

    with pytest.raises(ccxt.OrderNotFound):
        client.privateGetTradeOrder({"instId": "BTC-USDT-SWAP", "clOrdId": "apart1"})
    with pytest.raises(ccxt.OrderNotFound):
        client.privateGetTradeOrder({"instId": "BTC-USDT", "clOrdId": "other1"})
    assert lookup(client, "BTC-USDT", "apart1")["instId"] == "BTC-USDT"


def test_faults_apply_to_spot_orders(client: Any, emulator: Emulator) -> None:
    emulator.inject(Fault.response_lost(path=ORDER, method="POST"))
    with pytest.raises(ccxt.NetworkError):
        client.privatePostTradeOrder(spot(tgtCcy="base_ccy", clOrdId="lost1"))
    assert lookup(client, "BTC-USDT", "lost1")["state"] == "filled"  # executed, answer lost

    emulator.inject(Fault.http_status(503, path=ORDER, method="POST"))
    with pytest.raises(ccxt.ExchangeError):
        client.privatePostTradeOrder(spot(tgtCcy="base_ccy", clOrdId="down1"))
    with pytest.raises(ccxt.OrderNotFound):  # refused before it reached the engine
        client.privateGetTradeOrder({"instId": "BTC-USDT", "clOrdId": "down1"})
