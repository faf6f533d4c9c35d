"""Bybit V5, unified trading account (UTA): one account whose coins are collateral.

Reads: the wallet (`/v5/account/wallet-balance`, every coin's balance, the quote negative when
borrowed, and the account's own collateral value `totalMarginBalance` and maintenance margin
`totalMaintenanceMargin`), the linear positions of each settle coin (`/v5/position/list`,
one-way rows `positionIdx=0` only; a long/short row is refused), and public tickers of the linear
and spot categories (marks and funding in the first): five calls. Orders go in batches of ten
(`/v5/order/create-batch`, `category=linear`, `positionIdx=0`); the answer is an ack only (order
id, `orderLinkId`), so every order is looked up by `orderLinkId`: history first
(`/v5/order/history`, where a filled market order is), then open orders (`/v5/order/realtime`),
then history again. History covers seven days per query: an order of ours is searched in the
seven days from its run's start (read from its client id, `domain.client_ids`), so recovery finds
an order from a run older than a week too; an id that carries no time is searched in the last
seven days only. Spot market orders (the roll policy's) go one at a time to `/v5/order/create`
with `category=spot`, `qty` in the base coin (`marketUnit=baseCoin`: Bybit reads a market buy's
qty as quote otherwise) and `isLeverage=0` (no spot margin: a buy spends the account's quote);
the answer is an ack, so each is looked up by `orderLinkId` in the spot category like a perp
order, and a row sized in the quote coin is not taken as ours. Error codes: 110072 and 170141
(duplicate `orderLinkId`) mean "look it up", 10016 and 170146 are ambiguous server errors,
110043 (leverage not modified) is no error. Margin mode is
account-level on UTA: cross only, refused otherwise. There are no transfers: the coins already
back the perps.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from rebalancer.domain import client_ids
from rebalancer.domain.ledger import CarryEntry, CarryKind, CarryRead
from rebalancer.domain.snapshot import AccountKind
from rebalancer.exchange.errors import (
    AmbiguousOutcome,
    DuplicateClientOrderId,
    FailureKinds,
    MalformedResponse,
    NoChangeNeeded,
    OrderNotFound,
    PermanentError,
    RateLimited,
    TransientError,
)
from rebalancer.exchange.parse import mapping, number
from rebalancer.exchange.port import KeyPermissions, OrderRequest, is_spot
from rebalancer.exchange.venues.base import (
    Account,
    FuturesAccount,
    Rejection,
    Venue,
    epoch_ms,
    from_ms,
    spot_lots,
    spot_market,
)

BATCH = 10  # create-batch accepts ten linear orders
HISTORY = timedelta(days=730)  # executions and the transaction log go back two years
WINDOW = timedelta(days=7)  # the longest startTime..endTime either endpoint accepts
SETTLE_COINS = ("USDT", "USDC")  # a position on any linear perp counts against the cap
LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")

_HISTORY, _REALTIME = "privateGetV5OrderHistory", "privateGetV5OrderRealtime"
_LOOKUPS = (_HISTORY, _REALTIME, _HISTORY)
HISTORY_WINDOW_MS = 7 * 24 * 3_600_000  # the span one order-history query may cover
CLOCK_LEAD_MS = 3_600_000  # the window opens this long before the run's start (clock skew)
_AMBIGUOUS = FailureKinds(TransientError, AmbiguousOutcome)
CODE_KINDS: Mapping[int, FailureKinds] = MappingProxyType(
    {
        10006: FailureKinds(RateLimited, RateLimited),  # too many visits
        10016: _AMBIGUOUS,  # server error: the order may or may not exist
        110001: FailureKinds(OrderNotFound, OrderNotFound),
        170213: FailureKinds(OrderNotFound, OrderNotFound),
        110072: FailureKinds(DuplicateClientOrderId, DuplicateClientOrderId),
        170141: FailureKinds(DuplicateClientOrderId, DuplicateClientOrderId),  # spot's 110072
        170146: _AMBIGUOUS,  # spot: order creation timeout
        110043: FailureKinds(NoChangeNeeded, NoChangeNeeded),  # leverage not modified
        110025: FailureKinds(NoChangeNeeded, NoChangeNeeded),  # position mode not modified
    }
)
"""Bybit codes whose meaning must not be ccxt's (which calls 110072 and 170141 invalid orders,
170146 an invalid order and 110043 a bad request)."""

# Only spot and linear markets at start-up; the account is declared unified, which spares
# ccxt's two account probes (user/query-api and account/info) before the first order.
_CLIENT_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot", "linear"]},
    "fetchCurrencies": False,
    "enableUnifiedAccount": True,
    "enableUnifiedMargin": False,
}


def _hedge_mode(symbol: str) -> PermanentError:
    return PermanentError(
        f"the Bybit account is in hedge (long/short) position mode ({symbol} has per-side rows); "
        "switch it to one-way mode before running the bot"
    )


def _result(answer: object, where: str) -> Mapping[str, Any]:
    return mapping(mapping(answer, where).get("result"), f"{where} result")


def _rows(answer: object, where: str) -> list[Mapping[str, Any]]:
    rows = _result(answer, where).get("list")
    if not isinstance(rows, list):
        raise MalformedResponse(f"exchange answer has no {where} list")
    return [mapping(r, where) for r in rows]


class Bybit:
    """The `Dialect` of Bybit V5 with a unified trading account (ccxt id `bybit`)."""

    @property
    def name(self) -> str:
        return "bybit"

    @property
    def error_codes(self) -> Mapping[int, FailureKinds]:
        return CODE_KINDS

    def client_id(self, run_id: str, leg: int) -> str:
        return client_ids.dashed(run_id, leg)

    def client_options(self) -> dict[str, Any]:
        return dict(_CLIENT_OPTIONS)

    def call_floor(self, orders: int) -> int:
        # The wallet, positions per settle coin (every linear position counts against the
        # cap), linear and spot tickers; batches of ten; the answer is an ack, so the fills
        # take one history page per 50 orders (limit=50) at best. This dialect looks each
        # order up by orderLinkId instead: one call or more per order, never a wrong match.
        return 3 + len(SETTLE_COINS) + math.ceil(orders / BATCH) + math.ceil(orders / 50)

    # -- account --------------------------------------------------------------------------

    async def account(self, venue: Venue, coins: Sequence[str]) -> Account:
        wallet, futures = await self._read(venue)
        rows = {str(c.get("coin")): c for c in wallet.get("coin") or [] if isinstance(c, Mapping)}
        balances: dict[str, Decimal] = {}
        for coin in coins:
            row = rows.get(coin, {})
            raw = row.get("walletBalance") or 0
            balance = number(raw, f"wallet {coin}.walletBalance", signed=True)
            if balance < 0 and coin != venue.quote:
                raise PermanentError(
                    f"the account has borrowed {-balance} {coin}; a borrowed coin is exposure "
                    "the bot does not model: repay it before running the bot"
                )
            balances[coin] = balance
        return Account(balances, futures, AccountKind.UNIFIED)

    async def futures_account(self, venue: Venue) -> FuturesAccount:
        _, futures = await self._read(venue)
        return futures

    async def _read(self, venue: Venue) -> tuple[Mapping[str, Any], FuturesAccount]:
        """The wallet and every linear position; the quote balance re-read with them, because
        on a unified account fees and settled PnL move it."""
        answers = await asyncio.gather(
            venue.read("privateGetV5AccountWalletBalance", {"accountType": "UNIFIED"}),
            *(
                venue.read("privateGetV5PositionList", {"category": "linear", "settleCoin": c})
                for c in SETTLE_COINS
            ),
        )
        wallets = _result(answers[0], "wallet balance").get("list")
        if not isinstance(wallets, list) or len(wallets) != 1:
            raise MalformedResponse("exchange answer has no unified wallet")
        wallet = mapping(wallets[0], "unified wallet")
        if wallet.get("accountType") != "UNIFIED":
            raise PermanentError(
                f"the Bybit account is {wallet.get('accountType')!r}, not a unified trading "
                "account; upgrade it to UTA before running the bot"
            )
        positions: dict[str, Decimal] = {}
        for answer in answers[1:]:
            rows = _result(answer, "position list").get("list")
            if not isinstance(rows, list):
                raise MalformedResponse("exchange answer has no position list")
            for row in rows:
                self._position(venue, mapping(row, "position"), positions)
        rows = {str(c.get("coin")): c for c in wallet.get("coin") or [] if isinstance(c, Mapping)}
        quote = rows.get(venue.quote, {})
        futures = FuturesAccount(
            equity=number(wallet.get("totalPerpUPL"), "totalPerpUPL", signed=True),
            positions=positions,
            collateral_value=number(
                wallet.get("totalMarginBalance"), "totalMarginBalance", signed=True
            ),
            maintenance_margin=number(
                wallet.get("totalMaintenanceMargin"), "totalMaintenanceMargin"
            ),
            cash=number(quote.get("walletBalance") or 0, "wallet quote balance", signed=True),
        )
        return wallet, futures

    def _position(
        self, venue: Venue, row: Mapping[str, Any], positions: dict[str, Decimal]
    ) -> None:
        market_id = str(row.get("symbol"))
        size = number(row.get("size"), f"positions[{market_id}].size")
        if str(row.get("positionIdx", "0")) != "0" or market_id in positions:
            raise _hedge_mode(market_id)
        if not size:
            return
        side = row.get("side")
        if side not in ("Buy", "Sell"):
            raise MalformedResponse(f"exchange answer has side {side!r} at positions[{market_id}]")
        symbol = venue.symbol_of(market_id)
        if symbol is None:
            # A position the cap cannot value must not be left out of it.
            raise MalformedResponse(f"a position on {market_id}, a market ccxt does not list")
        signed = size if side == "Buy" else -size
        positions[symbol] = signed * venue.rules(symbol).contract_size

    async def public_prices(self, venue: Venue) -> tuple[Any, Any]:
        linear, spot = await asyncio.gather(
            venue.read("publicGetV5MarketTickers", {"category": "linear"}),
            venue.read("publicGetV5MarketTickers", {"category": "spot"}),
        )
        marks: dict[str, Mapping[str, Any]] = {}
        for row in _rows(linear, "linear tickers"):
            symbol = venue.symbol_of(str(row.get("symbol")))
            if symbol is not None:
                marks[symbol] = {"markPrice": row.get("markPrice"), "info": row}
        by_id = venue.client.markets_by_id or {}
        prices: dict[str, Mapping[str, Any]] = {}
        for row in _rows(spot, "spot tickers"):
            for market in by_id.get(str(row.get("symbol")), ()):
                if market.get("spot"):
                    prices[str(market["symbol"])] = {"price": row.get("lastPrice")}
        return marks, prices

    def funding_rate(self, mark_entry: Mapping[str, Any]) -> object:
        info = mark_entry.get("info")
        return info.get("fundingRate") if isinstance(info, Mapping) else None

    async def check_account_mode(self, venue: Venue) -> None:
        info = _result(await venue.read("privateGetV5AccountInfo"), "account info")
        mode = info.get("marginMode")
        if mode not in ("REGULAR_MARGIN", "PORTFOLIO_MARGIN"):
            raise PermanentError(
                f"the Bybit unified account is in {mode} mode; set it to cross (regular) margin "
                "before running the bot"
            )

    async def check_position_mode(self, venue: Venue) -> None:
        # UTA has no read of the position mode: ask for one-way; "not modified" means it is.
        request = {"category": "linear", "coin": venue.quote, "mode": 0}
        try:
            await venue.setting("privatePostV5PositionSwitchMode", request)
        except PermanentError as failure:
            raise PermanentError(
                "the Bybit account could not be put in one-way position mode "
                f"({failure.message}); switch it before running the bot"
            ) from None

    async def prepare(self, venue: Venue, symbols: Sequence[str], margin_mode: str) -> list[str]:
        if margin_mode != "cross":
            raise PermanentError(
                "a Bybit unified account margins at the account level (cross); "
                f"margin_mode {margin_mode!r} cannot be set per symbol: use cross"
            )
        changes: list[str] = []
        for symbol in symbols:
            try:
                await venue.read("set_leverage", 1, symbol)
            except NoChangeNeeded:
                continue
            changes.append(f"{symbol}: leverage -> 1")
        return changes

    # -- orders ---------------------------------------------------------------------------

    def batches(self, venue: Venue, orders: Sequence[OrderRequest]) -> list[Sequence[OrderRequest]]:
        for order in orders:
            if not LINK_ID.fullmatch(order.client_id):
                raise ValueError(f"client id {order.client_id!r} breaks Bybit's orderLinkId rule")
        return [orders[i : i + BATCH] for i in range(0, len(orders), BATCH)]

    async def send(self, venue: Venue, batch: Sequence[OrderRequest]) -> Sequence[object]:
        client = venue.client
        requests = []
        for o in batch:
            request = client.create_order_request(
                o.instrument, "market", o.side.value, str(o.amount), None, _params(o)
            )
            request.pop("category", None)
            requests.append(request)
        answer = await client.privatePostV5OrderCreateBatch(
            {"category": "linear", "request": requests}
        )
        items = _result(answer, "create-batch").get("list")
        ext = mapping(mapping(answer, "create-batch").get("retExtInfo"), "retExtInfo").get("list")
        if not isinstance(items, list) or not isinstance(ext, list) or len(items) != len(ext):
            raise MalformedResponse("create-batch answer does not pair orders with codes")
        return [
            {**mapping(i, "order"), **mapping(e, "code")} for i, e in zip(items, ext, strict=True)
        ]

    def answer(
        self, venue: Venue, order: OrderRequest, item: object
    ) -> Mapping[str, Any] | Rejection:
        row = mapping(item, f"order {order.client_id}")
        code = int(number(row.get("code"), f"order {order.client_id}.code", signed=True))
        message = str(row.get("msg", ""))
        if code != 0:
            kinds = CODE_KINDS.get(code)
            if kinds is not None and issubclass(kinds.order, AmbiguousOutcome):
                raise kinds.order(f"{code} {message}", code=code)  # look it up
            return Rejection(code, message or "rejected")
        # An ack only: no status, so the gateway looks the order up.
        return {"id": row.get("orderId"), "clientOrderId": row.get("orderLinkId"), "info": row}

    @property
    def spot_orders(self) -> bool:
        return True

    async def send_spot(self, venue: Venue, order: OrderRequest) -> object:
        # Written out, not through ccxt's create_order, whose spot market unit depends on
        # whether a price or cost is passed and on the account type it assumes: Bybit reads a
        # market buy's qty as quote unless marketUnit says otherwise, so it is said here.
        market = spot_market(venue, order.instrument, self.name)
        if not LINK_ID.fullmatch(order.client_id):
            raise PermanentError(f"client id {order.client_id!r} breaks Bybit's orderLinkId rule")
        request = {
            "category": "spot",
            "symbol": market["id"],
            "side": "Buy" if order.side.value == "buy" else "Sell",
            "orderType": "Market",
            "qty": spot_lots(venue, market, order.amount),
            "marketUnit": "baseCoin",  # qty in the base coin, a buy's too
            "isLeverage": 0,  # no spot margin: a buy spends the quote the account holds
            "orderLinkId": order.client_id,
        }
        result = _result(await venue.client.privatePostV5OrderCreate(request), "order create")
        # An ack only (order id and orderLinkId): the gateway looks the order up for its fill.
        return {
            "id": result.get("orderId"),
            "clientOrderId": result.get("orderLinkId"),
            "info": result,
        }

    async def find(self, venue: Venue, instrument: str, client_id: str) -> Any:
        spot = is_spot(instrument)
        market = (
            spot_market(venue, instrument, self.name) if spot else venue.client.market(instrument)
        )
        category = "spot" if spot else "linear"
        query = {"category": category, "symbol": market["id"], "orderLinkId": client_id}
        # A market order is usually filled by now: history first (one call). Then open orders,
        # then history again, so an order closing between two reads is never missed.
        for endpoint in _LOOKUPS:
            params = _history_window(query, client_id) if endpoint == _HISTORY else query
            rows = _result(await venue.read(endpoint, params), endpoint).get("list")
            if not isinstance(rows, list):
                raise MalformedResponse(f"exchange answer to {endpoint} has no list")
            if rows:
                ours = [
                    r for r in rows if isinstance(r, Mapping) and r.get("orderLinkId") == client_id
                ]
                # Another order's row is passed on as it is: the echo check refuses it.
                row = (ours or rows)[0]
                if spot:
                    _base_units(row, client_id)
                return venue.client.parse_order(row, market)
        raise OrderNotFound(f"no order with orderLinkId {client_id}")

    async def key_permissions(self, venue: Venue) -> KeyPermissions | None:
        info = _result(await venue.read("privateGetV5UserQueryApi"), "query-api")
        permissions = mapping(info.get("permissions"), "key permissions")
        read_only = str(info.get("readOnly")) != "0"
        contract = permissions.get("ContractTrade") or []
        wallet = permissions.get("Wallet") or []
        return KeyPermissions(
            can_trade=not read_only and bool(contract or permissions.get("Spot")),
            can_withdraw="Withdraw" in wallet,
            can_trade_futures=not read_only and "Order" in contract,
        )

    # -- carry ----------------------------------------------------------------------------

    async def carry(self, venue: Venue, since: datetime, until: datetime) -> CarryRead:
        """Funding from the executions of type `Funding` (as ccxt's `fetch_funding_history`
        reads them, here with their raw strings: `execFee` is what the account paid, negative
        when it received) and interest on borrowed coins from the transaction log (`INTEREST`
        rows, `change` signed), both in windows of seven days, paged by cursor."""
        served_from = until - HISTORY
        start = max(since, served_from)
        entries: list[CarryEntry] = []
        while start <= until:
            end = min(start + WINDOW, until)
            window = {"startTime": epoch_ms(start), "endTime": epoch_ms(end)}
            funding = {"category": "linear", "execType": "Funding", "limit": 100, **window}
            for row in await _paged(venue, "privateGetV5ExecutionList", funding):
                entries.append(_funding(venue, row))
            interest = {"accountType": "UNIFIED", "type": "INTEREST", "limit": 50, **window}
            for row in await _paged(venue, "privateGetV5AccountTransactionLog", interest):
                entries.append(_interest(row))
            start = end + timedelta(milliseconds=1)
        return CarryRead(tuple(entries), served_from)

    async def transfer_to_futures(self, venue: Venue, amount: Decimal) -> None:
        raise PermanentError(
            "a Bybit unified account has no separate futures wallet: nothing to transfer"
        )


def _base_units(row: object, client_id: str) -> None:
    """Refuse a spot market order row whose qty is not in the base coin (a buy sent without
    `marketUnit=baseCoin` is quote-denominated): its amounts are not in the units we think."""
    row = mapping(row, f"order {client_id}")
    unit = row.get("marketUnit") or ""
    in_quote = unit == "quoteCoin" or (unit == "" and row.get("side") == "Buy")
    if row.get("orderType") == "Market" and in_quote:
        raise MalformedResponse(
            f"spot order {client_id} is sized in the quote coin (marketUnit {unit!r}), not the "
            "base coin the bot sends; not taken as ours"
        )


def _history_window(query: Mapping[str, Any], client_id: str) -> Mapping[str, Any]:
    """The history query for this id: the seven days from its run's start when the id says
    when that was (Bybit's default, the last seven days, would miss an older order)."""
    started = client_ids.run_started_at(client_id)
    if started is None:
        return query
    start = int(started.timestamp() * 1000) - CLOCK_LEAD_MS
    return {**query, "startTime": start, "endTime": start + HISTORY_WINDOW_MS}


def _params(order: OrderRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"clientOrderId": order.client_id, "positionIdx": 0}
    if order.reduce_only:
        params["reduceOnly"] = True
    return params


async def _paged(venue: Venue, endpoint: str, query: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows: list[Mapping[str, Any]] = []
    cursor = ""
    while True:
        answer = await venue.read(endpoint, {**query, **({"cursor": cursor} if cursor else {})})
        page = _rows(answer, endpoint)
        rows += page
        cursor = str(_result(answer, endpoint).get("nextPageCursor") or "")
        if not cursor or not page:
            return rows


def _funding(venue: Venue, row: Mapping[str, Any]) -> CarryEntry:
    exec_id = row.get("execId")
    if exec_id in (None, ""):
        raise MalformedResponse("exchange answer has a funding execution without execId")
    market_id = str(row.get("symbol"))
    where = f"funding {exec_id}"
    value = row.get("execValue")
    rate = row.get("feeRate")
    return CarryEntry(
        kind=CarryKind.FUNDING,
        key=str(exec_id),
        at=from_ms(row.get("execTime"), f"{where}.execTime"),
        subject=venue.symbol_of(market_id) or market_id,
        amount=-number(row.get("execFee"), f"{where}.execFee", signed=True),
        source="bybit",
        rate=None if rate in (None, "") else number(rate, f"{where}.feeRate", signed=True),
        notional=None if value in (None, "") else number(value, f"{where}.execValue"),
    )


def _interest(row: Mapping[str, Any]) -> CarryEntry:
    ident = row.get("id")
    if ident in (None, ""):
        raise MalformedResponse("exchange answer has an interest row without id")
    where = f"transaction {ident}"
    rate = row.get("feeRate")
    return CarryEntry(
        kind=CarryKind.INTEREST,
        key=str(ident),
        at=from_ms(row.get("transactionTime"), f"{where}.transactionTime"),
        subject=str(row.get("currency")),
        amount=number(row.get("change"), f"{where}.change", signed=True),
        source="bybit",
        rate=None if rate in (None, "") else number(rate, f"{where}.feeRate", signed=True),
    )
