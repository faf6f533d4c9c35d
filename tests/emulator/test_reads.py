"""ccxt's read calls against the emulator: which endpoints they hit and what they parse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt

from rebalancer.emulator import Emulator, ccxt_config

from .conftest import make_client

BTC_PERP = "BTC/USDT:USDT"


def test_load_markets_fetches_only_spot_and_linear_exchange_info(emulator: Emulator) -> None:
    exchange = make_client(emulator)
    markets = exchange.load_markets()
    exchange.session.close()
    bases = ("BTC", "ETH", "SOL", "UNI", "AAVE")
    assert set(markets) == {f"{b}/USDT" for b in bases} | {
        f"{b}/USDT:USDT" for b in (*bases, "DEFI")
    }
    assert [(r.method, r.path) for r in emulator.requests()] == [
        ("GET", "/api/v3/exchangeInfo"),
        ("GET", "/fapi/v1/exchangeInfo"),
    ]
    perp = markets[BTC_PERP]
    assert perp["linear"]
    assert perp["swap"]
    assert perp["precision"]["amount"] == 0.001
    assert perp["limits"]["cost"]["min"] == 100


def test_load_markets_with_currencies_enabled_uses_capital_config(emulator: Emulator) -> None:
    exchange = make_client(emulator, options={"fetchCurrencies": True})
    exchange.load_markets()
    exchange.session.close()
    assert ("GET", "/sapi/v1/capital/config/getall") in [
        (r.method, r.path) for r in emulator.requests()
    ]
    assert "USDT" in exchange.currencies


def test_balances_for_spot_and_futures(client: Any) -> None:
    spot = client.fetch_balance()
    futures = client.fetch_balance({"type": "future"})
    assert spot["BTC"]["total"] == 0.1
    assert spot["USDT"]["free"] == 500
    assert futures["USDT"]["total"] == 2000


def test_positions_reflect_fills_at_the_mark(client: Any, emulator: Emulator) -> None:
    assert client.fetch_positions() == []
    client.create_order(BTC_PERP, "market", "sell", 0.01)
    emulator.set_mark_price("BTCUSDT", Decimal(69_000))
    [position] = client.fetch_positions([BTC_PERP])
    assert position["side"] == "short"
    assert position["contracts"] == 0.01
    assert position["entryPrice"] == 70_000
    assert position["unrealizedPnl"] == 10
    assert position["marginMode"] == "cross"
    assert position["liquidationPrice"] > 70_000
    paths = [r.path for r in emulator.requests()]
    assert "/fapi/v1/leverageBracket" in paths
    assert "/fapi/v3/positionRisk" in paths


def test_mark_prices_and_funding_rates_come_from_premium_index(
    client: Any, emulator: Emulator
) -> None:
    emulator.set_funding_rate("ETHUSDT", Decimal("-0.0002"))
    rates = client.fetch_funding_rates()
    marks = client.fetch_mark_prices()
    assert rates["ETH/USDT:USDT"]["fundingRate"] == -0.0002
    assert marks[BTC_PERP]["markPrice"] == 70_000
    assert rates["ETH/USDT:USDT"]["fundingTimestamp"] % (8 * 3600 * 1000) == 0
    assert [r.weight for r in emulator.requests()[-2:]] == [10, 10]


def test_tickers_for_spot_and_swap(client: Any) -> None:
    spot = client.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    swap = client.fetch_tickers(params={"type": "swap"})
    assert spot["ETH/USDT"]["last"] == 3000
    assert swap[BTC_PERP]["last"] == 70_000


def test_time_settings_restrictions_and_transfer(client: Any) -> None:
    assert abs(client.fetch_time() - client.milliseconds()) < 5_000
    assert client.fetch_position_mode(BTC_PERP)["hedged"] is False
    client.set_leverage(3, BTC_PERP)
    assert client.fetch_leverages([BTC_PERP])[BTC_PERP]["longLeverage"] == 3
    restrictions = client.sapi_get_account_apirestrictions()
    assert restrictions["enableFutures"] is True
    assert restrictions["enableWithdrawals"] is False
    # ccxt names the USDⓈ-M wallet 'swap' or 'linear'; 'future' is not an account type.
    client.transfer("USDT", 100, "spot", "swap")
    assert client.fetch_balance({"type": "future"})["USDT"]["total"] == 2100
    client.transfer("USDT", 50, "swap", "spot")
    assert client.fetch_balance()["USDT"]["free"] == 450


def test_funding_applied_through_the_emulator_changes_the_wallet(
    client: Any, emulator: Emulator
) -> None:
    client.create_order(BTC_PERP, "market", "sell", 0.01)
    before = client.fetch_balance({"type": "future"})["USDT"]["total"]
    emulator.apply_funding()
    after = client.fetch_balance({"type": "future"})["USDT"]["total"]
    assert round(after - before, 6) == 0.07  # a short receives 0.01 * 70,000 * 0.0001


def test_ccxt_config_redirects_every_api_family_to_loopback() -> None:
    config = ccxt_config("http://127.0.0.1:9")
    assert set(config["urls"]["api"]) == set(ccxt.binance().urls["api"])
    assert all(url.startswith("http://127.0.0.1:9/") for url in config["urls"]["api"].values())


def test_a_mark_beyond_the_liquidation_price_liquidates_the_account(
    client: Any, emulator: Emulator
) -> None:
    client.set_leverage(10, BTC_PERP)
    client.create_order(BTC_PERP, "market", "sell", 0.2)  # 14,000 USDT short on 2,000 USDT
    [position] = client.fetch_positions()
    emulator.set_mark_price("BTCUSDT", Decimal(str(position["liquidationPrice"])) + 1)
    assert client.fetch_positions() == []
    assert client.fetch_balance({"type": "future"})["USDT"]["total"] >= 0
    assert len(emulator.exchange.liquidations) == 1
