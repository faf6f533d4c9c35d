"""The Bybit V5 unified dialect on recorded and hand-made answers: figures, positions, codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ccxt.base import errors as ce

from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import Side
from rebalancer.domain.snapshot import AccountKind
from rebalancer.exchange.errors import (
    AmbiguousOutcome,
    DuplicateClientOrderId,
    InsufficientMargin,
    MalformedResponse,
    NoChangeNeeded,
    OrderNotFound,
    PermanentError,
    RateLimited,
    TransientError,
    classify,
)
from rebalancer.exchange.port import OrderRequest
from rebalancer.exchange.venues.base import Rejection
from rebalancer.exchange.venues.bybit import CODE_KINDS, Bybit

D = Decimal
FIXTURES = Path(__file__).parents[2] / "fixtures" / "ccxt"
WALLET = json.loads((FIXTURES / "bybit_wallet_balance.json").read_text(encoding="utf-8"))


def positions(*rows: Mapping[str, Any]) -> dict[str, Any]:
    return {"retCode": 0, "result": {"category": "linear", "list": list(rows)}}


class FakeVenue:
    """The gateway as the dialect sees it, answering from canned Bybit answers."""

    def __init__(self, wallet: Any = WALLET, usdt: Any = None, usdc: Any = None) -> None:
        self.answers = {"USDT": usdt or positions(), "USDC": usdc or positions()}
        self.wallet = wallet
        self.client: Any = None
        self.quote = "USDT"

    async def read(self, name: str, *args: Any) -> Any:
        if name == "privateGetV5AccountWalletBalance":
            return self.wallet
        if name == "privateGetV5PositionList":
            return self.answers[args[0]["settleCoin"]]
        raise AssertionError(name)

    def symbol_of(self, market_id: str) -> str | None:
        return {"BTCUSDT": "BTC/USDT:USDT", "ETHPERP": "ETH/USDC:USDC"}.get(market_id)

    def rules(self, symbol: str) -> MarketRules:
        return MarketRules(symbol, D("0.001"), D("0.001"), D(5), D(1), D("0.00055"))

    async def setting(self, name: str, *args: Any) -> None:
        raise AssertionError(name)


def read(venue: FakeVenue, coins: tuple[str, ...] = ("BTC", "ETH", "USDT")) -> Any:
    return asyncio.run(Bybit().account(venue, coins))  # type: ignore[arg-type]


def test_a_recorded_wallet_answer_parses_into_the_unified_figures() -> None:
    account = read(FakeVenue())

    assert account.kind is AccountKind.UNIFIED
    assert account.balances == {
        "BTC": D("0.85581394"),
        "ETH": D("0.09174816"),
        "USDT": D("3322.25896609"),
    }
    futures = account.futures
    assert futures.collateral_value == D("90042.2788482")  # totalMarginBalance, read as is
    assert futures.maintenance_margin == D("7.38826721")
    assert futures.equity == D("-21.66812467")  # the perps' PnL not yet in the wallet
    assert futures.cash == D("3322.25896609")
    assert futures.positions == {}


def test_positions_are_signed_in_base_units_on_every_settle_coin() -> None:
    venue = FakeVenue(
        usdt=positions({"symbol": "BTCUSDT", "side": "Sell", "size": "0.02", "positionIdx": 0}),
        usdc=positions({"symbol": "ETHPERP", "side": "Buy", "size": "0.4", "positionIdx": 0}),
    )

    futures = read(venue).futures

    assert futures.positions == {"BTC/USDT:USDT": D("-0.02"), "ETH/USDC:USDC": D("0.4")}


def test_a_hedge_mode_row_is_refused() -> None:
    venue = FakeVenue(
        usdt=positions({"symbol": "BTCUSDT", "side": "Buy", "size": "0.01", "positionIdx": 1})
    )

    with pytest.raises(PermanentError, match="hedge"):
        read(venue)


def test_a_position_on_an_unlisted_market_fails_the_read() -> None:
    venue = FakeVenue(
        usdt=positions({"symbol": "XYZUSDT", "side": "Buy", "size": "3", "positionIdx": 0})
    )

    with pytest.raises(MalformedResponse, match="XYZUSDT"):
        read(venue)


def test_a_borrowed_quote_is_negative_cash_and_a_borrowed_coin_is_refused() -> None:
    wallet = json.loads(json.dumps(WALLET))
    coins = wallet["result"]["list"][0]["coin"]
    usdt = next(c for c in coins if c["coin"] == "USDT")
    usdt["walletBalance"] = "-1500.5"
    assert read(FakeVenue(wallet)).balances["USDT"] == D("-1500.5")

    btc = next(c for c in coins if c["coin"] == "BTC")
    btc["walletBalance"] = "-0.1"
    with pytest.raises(PermanentError, match=r"borrowed 0\.1 BTC"):
        read(FakeVenue(wallet))


def test_a_classic_account_is_refused() -> None:
    wallet = json.loads(json.dumps(WALLET))
    wallet["result"]["list"][0]["accountType"] = "CONTRACT"

    with pytest.raises(PermanentError, match="unified trading account"):
        read(FakeVenue(wallet))


@pytest.mark.parametrize(
    ("exc", "placing", "kind"),
    [
        (
            ce.InvalidOrder('bybit {"retCode":110072,"retMsg":"OrderLinkedID is duplicate"}'),
            True,
            DuplicateClientOrderId,
        ),
        (
            ce.ExchangeError('bybit {"retCode":10016,"retMsg":"System error"}'),
            True,
            AmbiguousOutcome,
        ),
        (
            ce.ExchangeError('bybit {"retCode":10016,"retMsg":"System error"}'),
            False,
            TransientError,
        ),
        (
            ce.RateLimitExceeded('bybit {"retCode":10006,"retMsg":"Too many visits!"}'),
            False,
            RateLimited,
        ),
        (
            ce.OrderNotFound('bybit {"retCode":110001,"retMsg":"order not exists"}'),
            False,
            OrderNotFound,
        ),
        (
            ce.OrderNotFound('bybit {"retCode":170213,"retMsg":"Order does not exist."}'),
            False,
            OrderNotFound,
        ),
        (
            ce.BadRequest('bybit {"retCode":110043,"retMsg":"Set leverage not modified"}'),
            False,
            NoChangeNeeded,
        ),
        (
            ce.InsufficientFunds('bybit {"retCode":110007,"retMsg":"ab not enough"}'),
            True,
            InsufficientMargin,
        ),
    ],
)
def test_bybit_codes_mean_what_bybit_means(
    exc: Exception, placing: bool, kind: type[Exception]
) -> None:
    assert type(classify(exc, placing_order=placing, codes=CODE_KINDS)) is kind


ORDER = OrderRequest("rb-20261130T000000-abcdef-0", "BTC/USDT:USDT", Side.SELL, D("0.02"), False)


def test_an_ack_is_taken_as_an_order_to_look_up_and_a_duplicate_id_is_looked_up() -> None:
    bybit = Bybit()
    ack = {"orderId": "1", "orderLinkId": ORDER.client_id, "code": 0, "msg": "OK"}

    parsed = bybit.answer(None, ORDER, ack)  # type: ignore[arg-type]

    assert isinstance(parsed, Mapping)
    assert parsed["clientOrderId"] == ORDER.client_id
    assert parsed.get("status") is None  # no status: the gateway looks it up
    with pytest.raises(DuplicateClientOrderId):
        bybit.answer(None, ORDER, {"orderId": "", "orderLinkId": "", "code": 110072, "msg": "dup"})  # type: ignore[arg-type]
    refused = bybit.answer(None, ORDER, {"orderId": "", "code": 110007, "msg": "ab not enough"})  # type: ignore[arg-type]
    assert refused == Rejection(110007, "ab not enough")


def test_a_client_id_outside_bybits_charset_is_refused_before_sending() -> None:
    bad = OrderRequest("rb:run/0", "BTC/USDT:USDT", Side.SELL, D("0.02"), False)

    with pytest.raises(ValueError, match="orderLinkId"):
        Bybit().batches(None, [bad])  # type: ignore[arg-type]


class LookupVenue:
    """Answers lookups from scripted lists, one per call, recording the endpoints asked."""

    def __init__(self, *answers: list[dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []
        self.client = self

    async def read(self, name: str, *args: Any) -> Any:
        self.asked.append(name)
        return {"retCode": 0, "result": {"list": self.answers.pop(0)}}

    def market(self, symbol: str) -> dict[str, str]:
        return {"id": "BTCUSDT", "symbol": symbol}

    def parse_order(self, row: dict[str, Any], market: Any) -> dict[str, Any]:
        return {"clientOrderId": row["orderLinkId"], "status": row["orderStatus"]}


def find(venue: LookupVenue) -> Any:
    return asyncio.run(Bybit().find(venue, "BTC/USDT:USDT", ORDER.client_id))  # type: ignore[arg-type]


def test_a_filled_order_is_found_in_history_with_one_call() -> None:
    venue = LookupVenue([{"orderLinkId": ORDER.client_id, "orderStatus": "Filled"}])

    assert find(venue) == {"clientOrderId": ORDER.client_id, "status": "Filled"}
    assert venue.asked == ["privateGetV5OrderHistory"]


def test_an_open_order_is_found_in_realtime_and_one_closing_meanwhile_in_history_again() -> None:
    opened = LookupVenue([], [{"orderLinkId": ORDER.client_id, "orderStatus": "New"}])
    assert find(opened)["status"] == "New"

    closed = LookupVenue([], [], [{"orderLinkId": ORDER.client_id, "orderStatus": "Filled"}])
    assert find(closed)["status"] == "Filled"
    assert closed.asked == [
        "privateGetV5OrderHistory",
        "privateGetV5OrderRealtime",
        "privateGetV5OrderHistory",
    ]


def test_an_order_nowhere_is_not_found() -> None:
    with pytest.raises(OrderNotFound):
        find(LookupVenue([], [], []))


# -- spot market orders (the roll policy) -----------------------------------------------------

SPOT_MARKET = {
    "id": "BTCUSDT",
    "symbol": "BTC/USDT",
    "spot": True,
    "precision": {"amount": 0.00001, "price": 0.01},
    "limits": {"amount": {"min": 0.0001}, "cost": {"min": 5}},
}
SALE = OrderRequest("rb-20261130T000000-abcdef-3", "BTC/USDT", Side.SELL, D("0.02001"), False)
PURCHASE = OrderRequest("rb-20261130T000000-abcdef-4", "BTC/USDT", Side.BUY, D("0.0123"), False)


class SpotVenue:
    """A venue whose client records the one create call and answers Bybit's ack."""

    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        self.client = self
        self.markets = {"BTC/USDT": SPOT_MARKET, "BTC/USDT:USDT": {"id": "BTCUSDT", "swap": True}}
        self.precisionMode = 4  # ccxt's TICK_SIZE
        self.sent: list[dict[str, Any]] = []
        self.rows = rows or []
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def privatePostV5OrderCreate(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self.sent.append(request)
        ack = {"orderId": "17", "orderLinkId": request["orderLinkId"]}
        return {"retCode": 0, "retMsg": "OK", "result": ack, "retExtInfo": {}}

    async def read(self, name: str, *args: Any) -> Any:
        self.asked.append((name, args[0]))
        return {"retCode": 0, "result": {"list": self.rows}}

    def parse_order(self, row: dict[str, Any], market: Any) -> dict[str, Any]:
        return {"clientOrderId": row["orderLinkId"], "symbol": market["symbol"]}


def test_a_spot_market_order_is_sent_in_base_coin_units_without_borrowing() -> None:
    venue = SpotVenue()
    bybit = Bybit()

    assert bybit.spot_orders
    sold = asyncio.run(bybit.send_spot(venue, SALE))  # type: ignore[arg-type]
    bought = asyncio.run(bybit.send_spot(venue, PURCHASE))  # type: ignore[arg-type]

    assert venue.sent == [
        {
            "category": "spot",
            "symbol": "BTCUSDT",
            "side": "Sell",
            "orderType": "Market",
            "qty": "0.02001",
            "marketUnit": "baseCoin",
            "isLeverage": 0,
            "orderLinkId": SALE.client_id,
        },
        {
            "category": "spot",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Market",
            "qty": "0.0123",
            "marketUnit": "baseCoin",  # a buy's qty would otherwise be USDT to spend
            "isLeverage": 0,
            "orderLinkId": PURCHASE.client_id,
        },
    ]
    # An ack: no status, so the gateway looks it up; its client id is checked like any other.
    assert isinstance(sold, Mapping)
    assert sold["clientOrderId"] == SALE.client_id
    assert sold.get("status") is None
    assert isinstance(bought, Mapping)
    assert bought["id"] == "17"


@pytest.mark.parametrize(
    ("order", "says"),
    [
        (OrderRequest(SALE.client_id, "BTC/USDT", Side.SELL, D("0.020011"), False), "spot step"),
        (OrderRequest(SALE.client_id, "BTC/USDT", Side.SELL, D("0.00005"), False), "minimum"),
        (OrderRequest(SALE.client_id, "ETH/USDT", Side.SELL, D("0.1"), False), "not a spot market"),
        (OrderRequest("rb:run/3", "BTC/USDT", Side.SELL, D("0.02"), False), "orderLinkId"),
    ],
)
def test_a_spot_order_the_rules_refuse_is_not_sent(order: OrderRequest, says: str) -> None:
    venue = SpotVenue()

    with pytest.raises(PermanentError, match=says):
        asyncio.run(Bybit().send_spot(venue, order))  # type: ignore[arg-type]
    assert venue.sent == []


def test_a_spot_order_is_looked_up_in_the_spot_category() -> None:
    row = {"orderLinkId": SALE.client_id, "orderType": "Market", "side": "Sell", "marketUnit": ""}
    venue = SpotVenue([row])

    found = asyncio.run(Bybit().find(venue, "BTC/USDT", SALE.client_id))  # type: ignore[arg-type]

    assert found == {"clientOrderId": SALE.client_id, "symbol": "BTC/USDT"}
    name, query = venue.asked[0]
    assert name == "privateGetV5OrderHistory"
    assert (query["category"], query["symbol"], query["orderLinkId"]) == (
        "spot",
        "BTCUSDT",
        SALE.client_id,
    )


@pytest.mark.parametrize(
    ("side", "unit"), [("Buy", ""), ("Buy", "quoteCoin"), ("Sell", "quoteCoin")]
)
def test_a_spot_order_sized_in_the_quote_coin_is_not_taken_as_ours(side: str, unit: str) -> None:
    row = {
        "orderLinkId": PURCHASE.client_id,
        "orderType": "Market",
        "side": side,
        "marketUnit": unit,
    }

    with pytest.raises(MalformedResponse, match="quote coin"):
        asyncio.run(Bybit().find(SpotVenue([row]), "BTC/USDT", PURCHASE.client_id))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "kind"), [(170141, DuplicateClientOrderId), (170146, AmbiguousOutcome)]
)
def test_spot_duplicate_and_timeout_codes_are_looked_up_never_rejected(
    code: int, kind: type[Exception]
) -> None:
    exc = ce.InvalidOrder(f'bybit {{"retCode":{code},"retMsg":"spot","result":{{}}}}')

    assert isinstance(classify(exc, placing_order=True, codes=CODE_KINDS), kind)
