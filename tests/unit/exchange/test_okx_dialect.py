"""The OKX V5 dialect on recorded and hand-made answers: figures, positions, codes, contracts."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ccxt.base import errors as ce
from hypothesis import given
from hypothesis import strategies as st

from rebalancer.domain import client_ids
from rebalancer.domain.market import MarketRules, NotWholeLotsError, to_contracts, whole_lots
from rebalancer.domain.plan import Side
from rebalancer.domain.snapshot import AccountKind
from rebalancer.exchange.errors import (
    AmbiguousOutcome,
    DuplicateClientOrderId,
    ExchangeFailure,
    MalformedResponse,
    OrderNotFound,
    OrderRejected,
    PermanentError,
    RateLimited,
    classify,
)
from rebalancer.exchange.parse import order_report
from rebalancer.exchange.port import OrderRequest
from rebalancer.exchange.venues.base import Rejection
from rebalancer.exchange.venues.okx import CODE_KINDS, Okx, _failed_items

D = Decimal
FIXTURES = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "ccxt" / "okx.json").read_text(encoding="utf-8")
)
BALANCE = FIXTURES["fetchBalance"]["httpResponse"]
BTC = MarketRules("BTC/USDT:USDT", D("0.1"), D("0.1"), D(0), D("0.01"), D("0.0005"))
ETH = MarketRules("ETH/USDT:USDT", D("0.01"), D("0.01"), D(0), D("0.1"), D("0.0005"))
RULES = {r.symbol: r for r in (BTC, ETH)}
IDS = {"BTC-USDT-SWAP": BTC.symbol, "ETH-USDT-SWAP": ETH.symbol}


def positions(*rows: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": [{"instType": "SWAP", **r} for r in rows]}


def config(**fields: str) -> dict[str, Any]:
    row = {"acctLv": "3", "posMode": "net_mode", "perm": "read_only,trade", **fields}
    return {"code": "0", "msg": "", "data": [row]}


class FakeVenue:
    """The gateway as the dialect sees it, answering from canned OKX answers."""

    def __init__(
        self, balance: Any = BALANCE, held: Any = None, account_config: Any = None
    ) -> None:
        self.balance = balance
        self.held = held or positions()
        self.config = account_config or config()
        self.client: Any = None
        self.quote = "USDT"
        self.calls: list[str] = []

    async def read(self, name: str, *args: Any) -> Any:
        self.calls.append(name)
        answers = {
            "privateGetAccountBalance": self.balance,
            "privateGetAccountPositions": self.held,
            "privateGetAccountConfig": self.config,
        }
        if name not in answers:
            raise AssertionError(name)
        return answers[name]

    def symbol_of(self, market_id: str) -> str | None:
        return IDS.get(market_id)

    def rules(self, symbol: str) -> MarketRules:
        return RULES[symbol]

    async def setting(self, name: str, *args: Any) -> None:
        raise AssertionError(name)


def read(venue: FakeVenue, coins: tuple[str, ...] = ("BTC", "ETH", "USDT")) -> Any:
    return asyncio.run(Okx().account(venue, coins))  # type: ignore[arg-type]


def test_a_recorded_balance_answer_parses_into_the_unified_figures() -> None:
    venue = FakeVenue()
    account = read(venue)

    assert account.kind is AccountKind.UNIFIED
    assert account.balances == {"BTC": D("1.06126645222"), "ETH": D(0), "USDT": D("0.000258796")}
    futures = account.futures
    assert futures.collateral_value == D("152550.80919105993")  # adjEq, read as is
    assert futures.maintenance_margin == D("9.073149592403611")  # mmr
    assert futures.equity == D(0)  # upl
    assert futures.cash == D("0.000258796")
    assert futures.positions == {}
    assert sorted(venue.calls) == ["privateGetAccountBalance", "privateGetAccountPositions"]


def test_positions_are_contracts_times_ct_val_signed_in_net_mode() -> None:
    venue = FakeVenue(
        held=positions(
            {"instId": "BTC-USDT-SWAP", "posSide": "net", "pos": "-2"},
            {"instId": "ETH-USDT-SWAP", "posSide": "net", "pos": "4.5"},
        )
    )

    assert read(venue).futures.positions == {BTC.symbol: D("-0.02"), ETH.symbol: D("0.45")}


@pytest.mark.parametrize("side", ["long", "short"])
def test_a_long_short_mode_row_is_refused_with_the_fix(side: str) -> None:
    venue = FakeVenue(held=positions({"instId": "BTC-USDT-SWAP", "posSide": side, "pos": "1"}))

    with pytest.raises(PermanentError, match="net \\(one-way\\) mode"):
        read(venue)


def test_a_position_on_an_unlisted_swap_fails_the_read() -> None:
    venue = FakeVenue(held=positions({"instId": "XYZ-USDT-SWAP", "posSide": "net", "pos": "3"}))

    with pytest.raises(MalformedResponse, match="XYZ-USDT-SWAP"):
        read(venue)


def test_a_borrowed_quote_is_negative_cash_and_a_borrowed_coin_is_refused() -> None:
    balance = copy.deepcopy(BALANCE)
    usdt = next(d for d in balance["data"][0]["details"] if d["ccy"] == "USDT")
    usdt.update(cashBal="-1500", liab="1500")

    assert read(FakeVenue(balance)).balances["USDT"] == D(-1500)

    btc = next(d for d in balance["data"][0]["details"] if d["ccy"] == "BTC")
    btc.update(liab="0.1")
    with pytest.raises(PermanentError, match="borrowed BTC"):
        read(FakeVenue(balance))


def test_a_balance_without_adj_eq_is_refused_not_guessed() -> None:
    balance = copy.deepcopy(BALANCE)
    del balance["data"][0]["adjEq"]

    with pytest.raises(MalformedResponse, match="adjEq"):
        read(FakeVenue(balance))


@pytest.mark.parametrize(
    ("level", "words"),
    [("1", "spot mode"), ("2", "single-currency"), ("4", "portfolio margin")],
)
def test_account_levels_other_than_multi_currency_margin_are_refused(
    level: str, words: str
) -> None:
    venue = FakeVenue(account_config=config(acctLv=level))

    with pytest.raises(PermanentError, match=words) as info:
        asyncio.run(Okx().check_account_mode(venue))  # type: ignore[arg-type]
    assert "account level 3" in info.value.message


def test_long_short_position_mode_is_refused_before_trading() -> None:
    venue = FakeVenue(account_config=config(posMode="long_short_mode"))

    with pytest.raises(PermanentError, match="net \\(one-way\\) mode"):
        asyncio.run(Okx().check_position_mode(venue))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("perm", "trade", "withdraw"),
    [
        ("read_only", False, False),
        ("read_only,trade", True, False),
        ("read_only,withdraw,trade", True, True),
    ],
)
def test_key_permissions_come_from_perm(perm: str, trade: bool, withdraw: bool) -> None:
    venue = FakeVenue(account_config=config(perm=perm))

    found = asyncio.run(Okx().key_permissions(venue))  # type: ignore[arg-type]

    assert found is not None
    assert (found.can_trade, found.can_trade_futures, found.can_withdraw) == (
        trade,
        trade,
        withdraw,
    )


# -- orders -------------------------------------------------------------------------------------

OURS = client_ids.alphanumeric("20261130T000000-abcdef", 0)
ORDER = OrderRequest(OURS, BTC.symbol, Side.SELL, D("2"), False)


def test_an_accepted_item_is_an_ack_to_look_up_and_a_refused_one_a_rejection() -> None:
    okx = Okx()
    item = {"clOrdId": OURS, "ordId": "7", "sCode": "0", "sMsg": "Order placed"}

    ack = okx.answer(None, ORDER, item)  # type: ignore[arg-type]
    refused = okx.answer(None, ORDER, {**item, "sCode": "51008", "sMsg": "Insufficient"})  # type: ignore[arg-type]

    assert ack == {"id": "7", "clientOrderId": OURS, "info": item}
    assert refused == Rejection(51008, "Insufficient")


@pytest.mark.parametrize(
    ("code", "kind"), [("50004", AmbiguousOutcome), ("51016", DuplicateClientOrderId)]
)
def test_a_timeout_or_duplicate_item_is_looked_up_never_rejected(code: str, kind: type) -> None:
    with pytest.raises(kind):
        Okx().answer(None, ORDER, {"clOrdId": OURS, "sCode": code, "sMsg": "x"})  # type: ignore[arg-type]


def test_a_recorded_ack_about_another_client_id_is_never_taken_as_ours() -> None:
    item = FIXTURES["createOrder"]["httpResponse"]["data"][0]  # ccxt's broker-prefixed id
    ack = Okx().answer(None, ORDER, item)  # type: ignore[arg-type]

    assert not isinstance(ack, Rejection)
    with pytest.raises(MalformedResponse, match="not taken as ours"):
        order_report(ack, ORDER.instrument, ORDER.client_id)


def test_an_all_failed_batch_gives_back_each_items_own_code() -> None:
    body = {
        "code": "1",
        "msg": "All operations failed",
        "data": [
            {"clOrdId": "a1", "sCode": "51008", "sMsg": "Insufficient"},
            {"clOrdId": "a2", "sCode": "51121", "sMsg": "lot size"},
        ],
    }
    raised = ce.InsufficientFunds("okx " + json.dumps(body))

    items = _failed_items(raised, 2)

    assert items is not None
    assert [i["sCode"] for i in items] == ["51008", "51121"]
    assert _failed_items(raised, 3) is None  # not one item per order: not a batch answer
    assert _failed_items(ce.RequestTimeout("okx timed out"), 2) is None


@pytest.mark.parametrize(
    ("code", "placing", "kind"),
    [
        (50004, True, AmbiguousOutcome),
        (50011, False, RateLimited),
        (50011, True, RateLimited),
        (51016, True, DuplicateClientOrderId),
        (51603, False, OrderNotFound),
        (59000, False, PermanentError),
    ],
)
def test_okx_codes_classify_by_the_dialects_table(code: int, placing: bool, kind: type) -> None:
    raised = ce.ExchangeError("okx " + json.dumps({"code": str(code), "msg": "x", "data": []}))

    found = classify(raised, placing_order=placing, codes=CODE_KINDS)

    assert type(found) is kind


class LotVenue:
    def rules(self, symbol: str) -> MarketRules:
        return RULES[symbol]


def test_batches_are_twenty_and_refuse_a_bad_client_id_or_a_part_lot() -> None:
    okx = Okx()
    orders = [OrderRequest(f"rb{i}L0", BTC.symbol, Side.BUY, D("0.3"), False) for i in range(45)]

    assert [len(b) for b in okx.batches(LotVenue(), orders)] == [20, 20, 5]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="clOrdId"):
        okx.batches(LotVenue(), [OrderRequest("rb-1-0", BTC.symbol, Side.BUY, D(1), False)])  # type: ignore[arg-type]
    with pytest.raises(NotWholeLotsError, match=r"lots of 0\.1"):
        okx.batches(LotVenue(), [OrderRequest("rb1L0", BTC.symbol, Side.BUY, D("0.25"), False)])  # type: ignore[arg-type]


# -- client ids and contracts ---------------------------------------------------------------------

RUN_IDS = st.builds(
    lambda stamp, tail: f"{stamp:%Y%m%dT%H%M%S}-{tail}",
    st.datetimes(),
    st.text("0123456789abcdef", min_size=6, max_size=6),
)


@given(RUN_IDS, RUN_IDS, st.integers(0, 999), st.integers(0, 999))
def test_alphanumeric_ids_fit_okx_and_never_collide(a: str, b: str, leg_a: int, leg_b: int) -> None:
    first, second = client_ids.alphanumeric(a, leg_a), client_ids.alphanumeric(b, leg_b)

    assert client_ids.ALPHANUMERIC.fullmatch(first)
    assert first == client_ids.alphanumeric(a, leg_a)  # derivable again after a crash
    assert (first == second) == ((a, leg_a) == (b, leg_b))


STEPS = st.sampled_from([D("0.01"), D("0.1"), D(1), D("0.001")])
SIZES = st.sampled_from([D("0.01"), D("0.1"), D(1), D(10), D("0.001"), D("0.0001")])


@given(st.integers(1, 10**7), STEPS, SIZES)
def test_whole_lots_of_base_convert_to_contracts_exactly(
    lots: int, step: Decimal, size: Decimal
) -> None:
    rules = MarketRules("X/USDT:USDT", step, step, D(0), size)
    base = lots * step * size

    contracts = to_contracts(base, rules)

    assert contracts * size == base
    assert contracts == lots * step
    assert whole_lots(contracts, rules) == contracts


@given(st.integers(1, 10**6), st.integers(1, 9), STEPS, SIZES)
def test_a_part_lot_is_refused_never_rounded(
    lots: int, tenth: int, step: Decimal, size: Decimal
) -> None:
    rules = MarketRules("X/USDT:USDT", step, step, D(0), size)
    base = (lots * step + step * tenth / 10) * size

    with pytest.raises(NotWholeLotsError):
        to_contracts(base, rules)


@pytest.mark.parametrize("contracts", [D(0), D(-1), D("0.05")])
def test_zero_negative_and_part_lots_are_refused(contracts: Decimal) -> None:
    with pytest.raises(NotWholeLotsError):
        whole_lots(contracts, BTC)


# -- spot market orders (the roll policy) -----------------------------------------------------

SPOT_MARKET = {
    "id": "BTC-USDT",
    "symbol": "BTC/USDT",
    "spot": True,
    "precision": {"amount": 0.00001, "price": 0.1},
    "limits": {"amount": {"min": 0.00001}, "cost": {}},
}
SALE = OrderRequest(
    client_ids.alphanumeric("20261130T000000-abcdef", 3), "BTC/USDT", Side.SELL, D("0.02001"), False
)
PURCHASE = OrderRequest(
    client_ids.alphanumeric("20261130T000000-abcdef", 4), "BTC/USDT", Side.BUY, D("0.5"), False
)


class SpotVenue:
    """A venue whose client records the one order call and answers as told."""

    def __init__(self, answer: Any = None, raises: Exception | None = None) -> None:
        self.client = self
        self.markets = {"BTC/USDT": SPOT_MARKET}
        self.precisionMode = 4  # ccxt's TICK_SIZE
        self.sent: list[dict[str, Any]] = []
        self.answer = answer
        self.raises = raises
        self.found: dict[str, Any] = {}

    async def privatePostTradeOrder(self, request: dict[str, Any]) -> Any:  # noqa: N802
        self.sent.append(request)
        if self.raises is not None:
            raise self.raises
        item = {"clOrdId": request["clOrdId"], "ordId": "9", "sCode": "0", "sMsg": "Order placed"}
        return self.answer or {"code": "0", "msg": "", "data": [item]}

    async def read(self, name: str, *args: Any) -> Any:
        assert name == "fetch_order"
        return self.found


def _all_failed(code: str) -> Exception:
    body = {
        "code": "1",
        "msg": "All operations failed",
        "data": [{"clOrdId": SALE.client_id, "sCode": code, "sMsg": "no"}],
    }
    return ce.InvalidOrder("okx " + json.dumps(body))


def test_a_spot_market_order_is_sent_in_cash_mode_sized_in_the_base_currency() -> None:
    venue = SpotVenue()
    okx = Okx()

    assert okx.spot_orders
    sold = asyncio.run(okx.send_spot(venue, SALE))  # type: ignore[arg-type]
    asyncio.run(okx.send_spot(venue, PURCHASE))  # type: ignore[arg-type]

    assert venue.sent == [
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "sell",
            "ordType": "market",
            "sz": "0.02001",
            "tgtCcy": "base_ccy",
            "clOrdId": SALE.client_id,
        },
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "market",
            "sz": "0.5",
            "tgtCcy": "base_ccy",  # a buy's sz would otherwise be USDT to spend
            "clOrdId": PURCHASE.client_id,
        },
    ]
    assert isinstance(sold, Mapping)
    assert (sold["id"], sold["clientOrderId"], sold.get("status")) == ("9", SALE.client_id, None)


@pytest.mark.parametrize(
    ("code", "kind"),
    [("51008", OrderRejected), ("50004", AmbiguousOutcome), ("51016", DuplicateClientOrderId)],
)
def test_a_refused_spot_order_carries_its_own_code(code: str, kind: type[Exception]) -> None:
    with pytest.raises(kind) as caught:
        asyncio.run(Okx().send_spot(SpotVenue(raises=_all_failed(code)), SALE))  # type: ignore[arg-type]

    assert isinstance(caught.value, ExchangeFailure)
    assert caught.value.code == int(code)


@pytest.mark.parametrize(
    ("order", "says"),
    [
        (OrderRequest(SALE.client_id, "BTC/USDT", Side.SELL, D("0.000011"), False), "spot step"),
        (OrderRequest(SALE.client_id, "ETH/USDT", Side.SELL, D("0.1"), False), "not a spot market"),
        (OrderRequest("rb-run-3", "BTC/USDT", Side.SELL, D("0.02"), False), "clOrdId"),
    ],
)
def test_a_spot_order_the_rules_refuse_is_not_sent(order: OrderRequest, says: str) -> None:
    venue = SpotVenue()

    with pytest.raises(PermanentError, match=says):
        asyncio.run(Okx().send_spot(venue, order))  # type: ignore[arg-type]
    assert venue.sent == []


@pytest.mark.parametrize(
    ("side", "target", "taken"),
    [
        ("sell", "", True),
        ("buy", "base_ccy", True),
        ("buy", "", False),
        ("buy", "quote_ccy", False),
    ],
)
def test_a_spot_order_sized_in_the_quote_currency_is_not_taken_as_ours(
    side: str, target: str, taken: bool
) -> None:
    venue = SpotVenue()
    info = {"clOrdId": PURCHASE.client_id, "ordType": "market", "side": side, "tgtCcy": target}
    venue.found = {"clientOrderId": PURCHASE.client_id, "info": info}

    if taken:
        assert asyncio.run(Okx().find(venue, "BTC/USDT", PURCHASE.client_id)) == venue.found  # type: ignore[arg-type]
    else:
        with pytest.raises(MalformedResponse, match="quote currency"):
            asyncio.run(Okx().find(venue, "BTC/USDT", PURCHASE.client_id))  # type: ignore[arg-type]
