"""The emulator's OKX V5 dialect, driven by the real sync ccxt `okx` client: signing with a
passphrase, `code`/`sCode` answers, contracts x ctVal, clOrdId rules, multi-currency figures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import (
    DEFAULT_API_PASSPHRASE,
    DEFAULT_API_SECRET,
    Emulator,
)
from tests.emulator.conftest import okx_client

VENUE = "okx"  # the conftest's emulator and client speak okx
D = Decimal


def order(
    inst: str = "BTC-USDT-SWAP", sz: str = "2", side: str = "sell", **extra: Any
) -> dict[str, Any]:
    return {"instId": inst, "tdMode": "cross", "side": side, "ordType": "market", "sz": sz, **extra}


def test_swaps_are_listed_in_contracts_of_ct_val_and_spot_in_base(client: Any) -> None:
    btc, eth = client.market("BTC/USDT:USDT"), client.market("ETH/USDT:USDT")

    assert (btc["id"], btc["contractSize"], btc["precision"]["amount"]) == (
        "BTC-USDT-SWAP",
        0.01,
        0.1,
    )
    assert (eth["contractSize"], eth["precision"]["amount"]) == (0.1, 0.01)
    assert btc["linear"]
    assert btc["settle"] == "USDT"
    assert client.market("BTC/USDT")["id"] == "BTC-USDT"


def test_the_balance_counts_coins_at_their_haircut_and_usdt_once(client: Any) -> None:
    row = client.privateGetAccountBalance()["data"][0]

    details = {d["ccy"]: d for d in row["details"]}
    assert D(details["USDT"]["cashBal"]) == D(2000)
    assert D(details["BTC"]["cashBal"]) == D("0.14")
    assert D(row["adjEq"]) == D(11500)  # 0.95 x (7,000 + 3,000) + 2,000
    assert D(row["totalEq"]) == D(12000)


def test_a_position_is_net_contracts_and_a_realised_loss_borrows_usdt(
    client: Any, emulator: Emulator
) -> None:
    client.privatePostTradeOrder(order("ETH-USDT-SWAP", "40", "buy", clOrdId="l1"))  # 4 ETH
    position = client.privateGetAccountPositions({"instType": "SWAP"})["data"][0]
    emulator.set_mark_price("ETHUSDT", D(1500))
    client.privatePostTradeOrder(
        order("ETH-USDT-SWAP", "40", "sell", clOrdId="l2", reduceOnly=True)
    )

    row = client.privateGetAccountBalance()["data"][0]

    assert (position["instId"], position["posSide"], D(position["pos"])) == (
        "ETH-USDT-SWAP",
        "net",
        D(40),
    )
    assert emulator.exchange.account.position("ETHUSDT").size == 0
    usdt = next(d for d in row["details"] if d["ccy"] == "USDT")
    # 2,000 - 4,000 realised - fees (5 + 3): borrowed, a liability of the same size.
    assert D(usdt["cashBal"]) == D(-2008)
    assert D(usdt["liab"]) == D(2008)
    assert D(row["adjEq"]) == D("0.95") * D(10000) - D(2008)


def test_a_batch_answers_per_item_with_overall_code_0_1_or_2(
    client: Any, emulator: Emulator
) -> None:
    good = client.privatePostTradeBatchOrders(
        [order(clOrdId="a1"), order("ETH-USDT-SWAP", "4", "buy", clOrdId="a2")]
    )
    assert good["code"] == "0"
    assert [i["sCode"] for i in good["data"]] == ["0", "0"]
    assert [i["clOrdId"] for i in good["data"]] == ["a1", "a2"]

    # Partly refused: a part lot (ETH lot 0.01 contracts) and a duplicate clOrdId, one good.
    # ccxt passes code 2 on; the per-item codes say which.
    partial = client.privatePostTradeBatchOrders(
        [order(clOrdId="a3"), order("ETH-USDT-SWAP", "0.005", clOrdId="a4"), order(clOrdId="a1")]
    )
    assert partial["code"] == "2"
    assert [i["sCode"] for i in partial["data"]] == ["0", "51121", "51016"]
    assert len(emulator.exchange.store.all_orders()) == 3

    with pytest.raises(ccxt.InvalidOrder) as failed:  # code 1: ccxt raises the first item's
        client.privatePostTradeBatchOrders([order(clOrdId="a1")])
    assert '"code":"1"' in str(failed.value).replace(" ", "")


def test_client_ids_must_be_letters_and_digits_up_to_32(client: Any) -> None:
    for n, bad in enumerate(("rb-run-0", "x" * 33)):
        answer = client.privatePostTradeBatchOrders([order(clOrdId=f"ok{n}"), order(clOrdId=bad)])
        assert [i["sCode"] for i in answer["data"]][1] == "51000"


def test_more_than_twenty_orders_in_a_batch_are_refused(client: Any, emulator: Emulator) -> None:
    with pytest.raises(ccxt.BadRequest):
        client.privatePostTradeBatchOrders([order(sz="0.1", clOrdId=f"b{i}") for i in range(21)])
    assert emulator.exchange.store.all_orders() == []


def test_an_order_is_read_back_by_cl_ord_id_in_contracts_and_a_missing_one_is_51603(
    client: Any,
) -> None:
    client.privatePostTradeOrder(order(clOrdId="look1"))

    found = client.fetch_order(None, "BTC/USDT:USDT", {"clOrdId": "look1"})
    fills = client.privateGetTradeFills({"instId": "BTC-USDT-SWAP"})["data"]

    assert (found["clientOrderId"], found["status"], found["filled"]) == ("look1", "closed", 2.0)
    assert found["fee"] == {"cost": 0.5, "currency": "USDT"}  # 0.0005 x 1,000
    assert [(f["clOrdId"], f["fillSz"]) for f in fills] == [("look1", "2")]
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order(None, "BTC/USDT:USDT", {"clOrdId": "nosuch1"})


def test_long_short_mode_needs_pos_side_and_net_mode_refuses_it(
    client: Any, emulator: Emulator
) -> None:
    with pytest.raises(ccxt.BadRequest, match="posSide"):  # code 1: ccxt raises the item's
        client.privatePostTradeBatchOrders([order(clOrdId="p1", posSide="long")])
    emulator.exchange.dual_side_position = True
    config = client.privateGetAccountConfig()["data"][0]
    with pytest.raises(ccxt.BadRequest, match="posSide"):
        client.privatePostTradeBatchOrders([order(clOrdId="p2")])

    assert config["posMode"] == "long_short_mode"
    assert emulator.exchange.store.all_orders() == []


def test_leverage_is_read_for_many_and_set_per_swap_in_cross(
    client: Any, emulator: Emulator
) -> None:
    client.set_leverage(3, "BTC/USDT:USDT", {"mgnMode": "cross"})

    rows = client.privateGetAccountLeverageInfo(
        {"instId": "BTC-USDT-SWAP,ETH-USDT-SWAP", "mgnMode": "cross"}
    )

    assert [(r["instId"], r["lever"]) for r in rows["data"]] == [
        ("BTC-USDT-SWAP", "3"),
        ("ETH-USDT-SWAP", "1"),
    ]
    assert emulator.exchange.account.leverage("BTCUSDT") == 3


@pytest.mark.parametrize(
    ("secret", "password", "error"),
    [("wrong", DEFAULT_API_PASSPHRASE, "50113"), (DEFAULT_API_SECRET, "wrong", "50105")],
)
def test_a_bad_signature_or_passphrase_is_refused(
    emulator: Emulator, secret: str, password: str, error: str
) -> None:
    exchange = okx_client(emulator, secret, password)
    try:
        with pytest.raises(ccxt.AuthenticationError) as info:
            exchange.privateGetAccountConfig()
    finally:
        exchange.session.close()
    assert error in str(info.value)


def test_public_marks_funding_and_spot_last_come_in_three_calls(
    client: Any, emulator: Emulator
) -> None:
    emulator.clear_requests()

    marks = client.publicGetPublicMarkPrice({"instType": "SWAP"})["data"]
    rates = client.publicGetPublicFundingRate({"instId": "ANY"})["data"]
    spot = client.publicGetMarketTickers({"instType": "SPOT"})["data"]

    assert {(m["instId"], m["markPx"]) for m in marks} == {
        ("BTC-USDT-SWAP", "50000"),
        ("ETH-USDT-SWAP", "2500"),
    }
    assert {(r["instId"], r["fundingRate"]) for r in rates} == {
        ("BTC-USDT-SWAP", "0.0001"),
        ("ETH-USDT-SWAP", "0.0001"),
    }
    assert {(t["instId"], t["last"]) for t in spot} == {("BTC-USDT", "50000"), ("ETH-USDT", "2500")}
    assert len(emulator.requests()) == 3
