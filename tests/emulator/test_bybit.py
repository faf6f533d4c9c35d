"""The emulator's Bybit V5 dialect, driven by the real sync ccxt `bybit` client: signing,
retCode answers with HTTP 200, ack-only creates, orderLinkId rules, unified wallet figures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import Emulator
from rebalancer.emulator.bybit import BybitError
from rebalancer.emulator.bybit_orders import HISTORY_WINDOW_MS, history_window
from tests.emulator.conftest import bybit_client

VENUE = "bybit"  # the conftest's emulator and client speak bybit
D = Decimal


def wallet(client: Any) -> dict[str, Any]:
    answer = client.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"})
    row: dict[str, Any] = answer["result"]["list"][0]
    return row


def test_the_unified_wallet_counts_coins_at_their_collateral_ratio(client: Any) -> None:
    row = wallet(client)

    coins = {c["coin"]: c for c in row["coin"]}
    assert D(coins["USDT"]["walletBalance"]) == D(2000)  # one wallet: no separate futures side
    assert D(coins["BTC"]["walletBalance"]) == D("0.14")
    # 0.95 x (7,000 + 3,000) + 2,000 USDT at 1
    assert D(row["totalMarginBalance"]) == D(11500)
    assert D(row["totalEquity"]) == D(12000)


def test_a_create_answer_is_an_ack_and_fills_are_read_by_order_link_id(client: Any) -> None:
    answer = client.privatePostV5OrderCreate(
        {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Sell",
            "orderType": "Market",
            "qty": "0.02",
            "orderLinkId": "rb-run-0",
            "positionIdx": 0,
        }
    )

    assert set(answer["result"]) == {"orderId", "orderLinkId"}
    found = client.privateGetV5OrderHistory(
        {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "rb-run-0"}
    )["result"]["list"]
    assert [(o["orderLinkId"], o["orderStatus"], o["cumExecQty"]) for o in found] == [
        ("rb-run-0", "Filled", "0.02")
    ]
    # Borrowing against the coins: the short's fee comes out of the USDT balance.
    assert D(wallet(client)["coin"][-1]["walletBalance"]) < D(2000)


def test_a_reused_order_link_id_is_refused_as_a_duplicate(client: Any) -> None:
    order = {
        "category": "linear",
        "symbol": "ETHUSDT",
        "side": "Buy",
        "orderType": "Market",
        "qty": "0.1",
        "orderLinkId": "rb-run-1",
        "positionIdx": 0,
    }
    client.privatePostV5OrderCreate(order)

    with pytest.raises(ccxt.InvalidOrder, match="110072"):
        client.privatePostV5OrderCreate(order)


def test_a_bad_signature_is_refused_with_retcode_10004(emulator: Emulator) -> None:
    client = bybit_client(emulator, secret="not-the-secret")  # noqa: S106 - a wrong one on purpose

    with pytest.raises(ccxt.AuthenticationError, match="10004"):
        client.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"})
    assert emulator.requests()[-1].status == 200  # Bybit refuses with HTTP 200


def test_order_history_windows_follow_bybits_seven_day_rules() -> None:
    week = HISTORY_WINDOW_MS
    now = 10 * week
    assert history_window({}, now) == (now - week, now)
    assert history_window({"startTime": "5"}, now) == (5, 5 + week)
    assert history_window({"endTime": str(week + 7)}, now) == (7, week + 7)
    assert history_window({"startTime": "1", "endTime": str(week + 1)}, now) == (1, week + 1)
    with pytest.raises(BybitError) as wider:
        history_window({"startTime": "1", "endTime": str(week + 2)}, now)
    assert wider.value.code == 10001
