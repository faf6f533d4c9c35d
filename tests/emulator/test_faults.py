"""Injected faults and the ccxt exception class each one surfaces as; unknown-outcome orders
are found by client order id; weights are logged and reported in headers."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import BodyKind, Emulator, Fault

BTC_PERP = "BTC/USDT:USDT"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.http_status(429), ccxt.DDoSProtection),
        (Fault.http_status(418), ccxt.DDoSProtection),
        (Fault.http_status(502, body=BodyKind.HTML), ccxt.ExchangeNotAvailable),
        (Fault.http_status(503, body=BodyKind.HTML), ccxt.ExchangeNotAvailable),
        (Fault.http_status(500), ccxt.OperationFailed),  # JSON -1001
        (Fault.http_status(503), ccxt.ExchangeError),  # JSON -1008 is in no ccxt table
        (Fault.timestamp_error(), ccxt.InvalidNonce),
        (Fault.unknown_execution(executed=False), ccxt.RequestTimeout),
        (Fault.response_lost(), ccxt.NetworkError),
    ],
)
def test_fault_surfaces_as(client: Any, emulator: Emulator, fault: Fault, error: type) -> None:
    emulator.inject(fault)
    with pytest.raises(error) as caught:
        client.fetch_balance({"type": "future"})
    if fault.status in (418, 429):
        # DDoSProtection is RateLimitExceeded's parent: a 429 is not a RateLimitExceeded.
        assert not isinstance(caught.value, ccxt.RateLimitExceeded)
    assert client.fetch_balance({"type": "future"})["USDT"]["total"] == 2000  # one-shot


def test_rate_limit_answer_carries_retry_after(emulator: Emulator) -> None:
    emulator.inject(Fault.http_status(429, retry_after=7, path="/fapi/v1/time"))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{emulator.base_url}/fapi/v1/time", timeout=5)  # noqa: S310
    assert caught.value.code == 429
    assert caught.value.headers["Retry-After"] == "7"
    caught.value.close()


def test_faults_match_path_and_count(client: Any, emulator: Emulator) -> None:
    emulator.inject(Fault.http_status(503, count=2, path="/fapi/v1/premiumIndex"))
    client.fetch_balance({"type": "future"})
    for _ in range(2):
        with pytest.raises(ccxt.ExchangeError):
            client.fetch_mark_prices()
    client.fetch_mark_prices()
    statuses = [r.status for r in emulator.requests() if r.path == "/fapi/v1/premiumIndex"]
    assert statuses == [503, 503, 200]


def test_unknown_execution_with_the_order_accepted_is_found_by_client_id(
    client: Any, emulator: Emulator
) -> None:
    emulator.inject(Fault.unknown_execution(executed=True, path="/fapi/v1/order", method="POST"))
    with pytest.raises(ccxt.RequestTimeout, match="-1007"):
        client.create_order(BTC_PERP, "market", "sell", 0.01, params={"clientOrderId": "r9-l1"})
    found = client.fetch_order(None, BTC_PERP, params={"origClientOrderId": "r9-l1"})
    assert found["status"] == "closed"
    assert client.fetch_positions()[0]["contracts"] == 0.01


def test_unknown_execution_without_the_order_leaves_nothing(
    client: Any, emulator: Emulator
) -> None:
    emulator.inject(Fault.unknown_execution(executed=False, path="/fapi/v1/order"))
    with pytest.raises(ccxt.RequestTimeout):
        client.create_order(BTC_PERP, "market", "sell", 0.01, params={"clientOrderId": "r9-l2"})
    with pytest.raises(ccxt.OrderNotFound):
        client.fetch_order(None, BTC_PERP, params={"origClientOrderId": "r9-l2"})
    assert client.fetch_positions() == []


def test_lost_response_order_exists_when_queried_by_client_id(
    client: Any, emulator: Emulator
) -> None:
    emulator.inject(Fault.response_lost(path="/fapi/v1/order"))
    with pytest.raises(ccxt.NetworkError) as caught:
        client.create_order(BTC_PERP, "market", "buy", 0.002, params={"clientOrderId": "r9-l3"})
    assert type(caught.value) is ccxt.NetworkError
    found = client.fetch_order(None, BTC_PERP, params={"origClientOrderId": "r9-l3"})
    assert found["filled"] == 0.002
    assert emulator.requests()[-2].status == 0


def test_request_log_and_used_weight_header(client: Any, emulator: Emulator) -> None:
    emulator.clear_requests()
    client.fetch_balance({"type": "future"})
    client.fetch_positions()
    client.fetch_funding_rates()
    client.fetch_funding_rate(BTC_PERP)
    client.create_order(BTC_PERP, "market", "sell", 0.002)
    client.create_orders([{"symbol": BTC_PERP, "type": "market", "side": "buy", "amount": 0.002}])
    client.fetch_balance()
    assert [(r.path, r.weight) for r in emulator.requests()] == [
        ("/fapi/v3/account", 5),
        ("/fapi/v1/leverageBracket", 1),
        ("/fapi/v3/positionRisk", 5),
        ("/fapi/v1/premiumIndex", 10),
        ("/fapi/v1/premiumIndex", 1),
        ("/fapi/v1/order", 1),
        ("/fapi/v1/batchOrders", 5),
        ("/api/v3/account", 20),
    ]
    # Spot and futures count separately; load_markets already spent 20 spot + 1 futures.
    assert client.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "40"
    client.fetch_time(params={"type": "swap"})
    assert client.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "30"
