"""Request signing: bad secrets, unknown keys, missing keys and stale timestamps are refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import Emulator

from .conftest import make_client


def test_wrong_secret_is_rejected_as_bad_signature(emulator: Emulator) -> None:
    exchange = make_client(emulator, secret="not-the-secret")  # noqa: S106 - a wrong one on purpose
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        exchange.fetch_balance({"type": "future"})
    exchange.session.close()
    assert emulator.requests()[-1].status == 400


def test_unknown_key_is_2015_with_http_401(emulator: Emulator) -> None:
    exchange = make_client(emulator, apiKey="someone-else")
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        exchange.sapi_get_account_apirestrictions()
    exchange.session.close()
    assert emulator.requests()[-1].status == 401


def test_2015_after_a_successful_spot_call_becomes_ddos_protection(client: Any) -> None:
    """ccxt treats -2015 after any successful spot private call as a temporary ban."""
    client.fetch_balance()
    client.apiKey = "revoked-key"
    with pytest.raises(ccxt.DDoSProtection, match="-2015"):
        client.fetch_balance()


def test_missing_key_header_is_2014(emulator: Emulator) -> None:
    url = f"{emulator.base_url}/fapi/v3/account?timestamp=1&signature=00"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=5)  # noqa: S310 - loopback emulator URL
    assert caught.value.code == 401
    assert json.loads(caught.value.read())["code"] == -2014
    caught.value.close()


@pytest.mark.parametrize("skew", [timedelta(seconds=30), timedelta(seconds=-3)])
def test_timestamp_outside_recv_window_is_invalid_nonce(skew: timedelta) -> None:
    # The server clock runs ahead (the stamp is older than ccxt's default 10 s recvWindow) or
    # behind (the stamp is more than 1 s in the future).
    with Emulator(clock=lambda: datetime.now(UTC) + skew) as emulator:
        exchange = make_client(emulator)
        with pytest.raises(ccxt.InvalidNonce, match="-1021"):
            exchange.fetch_balance({"type": "future"})
        exchange.session.close()


def test_public_endpoints_need_no_key(emulator: Emulator) -> None:
    exchange = make_client(emulator, apiKey=None, secret=None)
    assert exchange.fetch_mark_prices()["BTC/USDT:USDT"]["markPrice"] == 70_000
    exchange.session.close()
