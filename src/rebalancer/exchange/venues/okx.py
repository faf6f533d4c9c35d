"""OKX V5, trading account level 3 (multi-currency margin): spot coins are collateral.

Reads: the account (`/api/v5/account/balance`: per coin `cashBal`, `liab`; the account's
collateral value `adjEq`, maintenance margin `mmr`, unrealised PnL `upl`) and every swap
position (`/api/v5/account/positions?instType=SWAP`, net mode rows `posSide=net` only; `pos` is
contracts, x `ctVal` base units): two calls. Prices: marks of every swap
(`/public/mark-price`), every swap's funding rate (`/public/funding-rate?instId=ANY`) and spot
last prices (`/market/tickers?instType=SPOT`): three calls. `/account/config` says the account
level (3 only: 1 has no margin, 2 margins each currency alone, 4 is portfolio margin), the
position mode (`net_mode` only) and the key's permissions (`perm`).

Orders: amounts are contracts on the lot grid (refused otherwise), `tdMode=cross`, no `posSide`
(net mode), `reduceOnly`, in batches of 20 (`/trade/batch-orders`); each item answers
`sCode`/`sMsg` (overall `code` 0, 1 all failed, 2 partial), and every accepted order is looked
up by `clOrdId` (`/trade/order`). Client ids are letters and digits, 1-32
(`client_ids.alphanumeric`). Error codes: 50004 (timeout) is ambiguous, 50011 a rate limit,
51016 (duplicate `clOrdId`) means "look it up", 51603 not found, 59xxx settings refusals.

Spot market orders (the roll policy's) go one at a time to `/trade/order` on the SPOT
instrument with `tdMode=cash` (the trade spends and receives the account's own coins and never
borrows; `cross` would let a buy borrow the quote on this account) and `tgtCcy=base_ccy` (`sz`
in base units: OKX reads a market buy's `sz` as quote otherwise). The item answers like a batch
item (a refusal is overall code 1 with its own `sCode`, classified by the table above); each
accepted order is looked up by `clOrdId`, and one sized in the quote is not taken as ours.

There are no transfers: the coins already back the perps. Carry (funding fees and interest
deductions) is read from the account's bills (`okx_carry`).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from rebalancer.domain import client_ids
from rebalancer.domain.ledger import CarryRead
from rebalancer.domain.market import whole_lots
from rebalancer.domain.snapshot import AccountKind
from rebalancer.exchange.errors import (
    AmbiguousOutcome,
    DuplicateClientOrderId,
    FailureKinds,
    MalformedResponse,
    OrderNotFound,
    OrderRejected,
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
    spot_lots,
    spot_market,
)
from rebalancer.exchange.venues.okx_carry import read_carry

BATCH = 20  # batch-orders accepts twenty orders
ACCOUNT_LEVEL = "3"  # multi-currency margin
_AMBIGUOUS = FailureKinds(TransientError, AmbiguousOutcome)
_UNAVAILABLE = FailureKinds(TransientError, AmbiguousOutcome)
_SETTINGS = FailureKinds(PermanentError, PermanentError)
CODE_KINDS: Mapping[int, FailureKinds] = MappingProxyType(
    {
        50001: _UNAVAILABLE,  # service temporarily unavailable
        50004: _AMBIGUOUS,  # endpoint request timeout: the order may or may not exist
        50011: FailureKinds(RateLimited, RateLimited),  # too many requests (HTTP 429)
        50013: _UNAVAILABLE,  # system busy
        50026: _UNAVAILABLE,  # system error
        51016: FailureKinds(DuplicateClientOrderId, DuplicateClientOrderId),
        51603: FailureKinds(OrderNotFound, OrderNotFound),
        59000: _SETTINGS,  # settings failed: positions or open orders
        59001: _SETTINGS,  # switching unavailable: borrowings
        59107: _SETTINGS,  # pending orders: cancel them before changing leverage
    }
)
"""OKX codes whose meaning must not be ccxt's (which calls 51016 an invalid order)."""

# Spot and swap markets only; no signed currency list at start-up.
_CLIENT_OPTIONS: dict[str, Any] = {"fetchMarkets": {"types": ["spot", "swap"]}}
_LEVELS = {
    "1": "spot mode (no margin: perps cannot be traded)",
    "2": "single-currency margin (spot coins are not collateral)",
    "4": "portfolio margin",
}


def _data(answer: object, where: str) -> list[Mapping[str, Any]]:
    rows = mapping(answer, where).get("data")
    if not isinstance(rows, list):
        raise MalformedResponse(f"exchange answer has no {where} data")
    return [mapping(r, where) for r in rows]


def _one(answer: object, where: str) -> Mapping[str, Any]:
    rows = _data(answer, where)
    if len(rows) != 1:
        raise MalformedResponse(f"exchange answer has {len(rows)} {where} rows, not one")
    return rows[0]


class Okx:
    """The `Dialect` of OKX V5 with a multi-currency margin account (ccxt id `okx`)."""

    @property
    def name(self) -> str:
        return "okx"

    @property
    def error_codes(self) -> Mapping[int, FailureKinds]:
        return CODE_KINDS

    def client_id(self, run_id: str, leg: int) -> str:
        return client_ids.alphanumeric(run_id, leg)

    def client_options(self) -> dict[str, Any]:
        return dict(_CLIENT_OPTIONS)

    def call_floor(self, orders: int) -> int:
        # Balance, swap positions (every one counts against the cap), marks, funding rates and
        # spot tickers; batches of twenty; the answer is per-item codes only, so the fills take
        # one `trade/fills` page per 100 orders at best. This dialect looks each order up by
        # clOrdId instead: one call per order, never a wrong match.
        return 5 + math.ceil(orders / BATCH) + math.ceil(orders / 100)

    # -- account --------------------------------------------------------------------------

    async def account(self, venue: Venue, coins: Sequence[str]) -> Account:
        details, futures = await self._read(venue)
        balances: dict[str, Decimal] = {}
        for coin in coins:
            row = details.get(coin, {})
            balance = number(row.get("cashBal") or 0, f"balance {coin}.cashBal", signed=True)
            liability = number(row.get("liab") or 0, f"balance {coin}.liab", signed=True)
            if coin != venue.quote and (balance < 0 or liability != 0):
                raise PermanentError(
                    f"the account has borrowed {coin}; a borrowed coin is exposure the bot "
                    "does not model: repay it before running the bot"
                )
            balances[coin] = balance
        return Account(balances, futures, AccountKind.UNIFIED)

    async def futures_account(self, venue: Venue) -> FuturesAccount:
        _, futures = await self._read(venue)
        return futures

    async def _read(self, venue: Venue) -> tuple[Mapping[str, Mapping[str, Any]], FuturesAccount]:
        """The balance and every swap position; the quote's balance re-read with them, because
        fees and settled PnL move it."""
        balance, positions = await asyncio.gather(
            venue.read("privateGetAccountBalance"),
            venue.read("privateGetAccountPositions", {"instType": "SWAP"}),
        )
        account = _one(balance, "account balance")
        details = {
            str(d.get("ccy")): d for d in account.get("details") or [] if isinstance(d, Mapping)
        }
        held: dict[str, Decimal] = {}
        for row in _data(positions, "positions"):
            self._position(venue, row, held)
        quote = details.get(venue.quote, {})
        futures = FuturesAccount(
            equity=number(account.get("upl") or 0, "account upl", signed=True),
            positions=held,
            collateral_value=number(account.get("adjEq"), "account adjEq", signed=True),
            maintenance_margin=number(account.get("mmr") or 0, "account mmr"),
            cash=number(quote.get("cashBal") or 0, "quote cashBal", signed=True),
        )
        return details, futures

    def _position(
        self, venue: Venue, row: Mapping[str, Any], positions: dict[str, Decimal]
    ) -> None:
        market_id = str(row.get("instId"))
        if row.get("instType", "SWAP") != "SWAP":
            return
        if row.get("posSide") != "net" or market_id in positions:
            raise PermanentError(
                f"the OKX account holds {market_id} in long/short position mode; switch it to "
                "net (one-way) mode (Settings > Position mode) before running the bot"
            )
        contracts = number(row.get("pos") or 0, f"positions[{market_id}].pos", signed=True)
        symbol = venue.symbol_of(market_id)
        if symbol is None:
            if not contracts:
                return
            # A position the cap cannot value (an inverse or unlisted swap) must not be left
            # out of it: refuse the read rather than under-count the leverage.
            raise MalformedResponse(
                f"a position on {market_id}, which is not a listed linear swap the bot can "
                "value; close it (or move it to another account) before running the bot"
            )
        positions[symbol] = positions.get(symbol, Decimal(0)) + (
            contracts * venue.rules(symbol).contract_size
        )

    async def public_prices(self, venue: Venue) -> tuple[Any, Any]:
        marks_answer, funding, spot = await asyncio.gather(
            venue.read("publicGetPublicMarkPrice", {"instType": "SWAP"}),
            venue.read("publicGetPublicFundingRate", {"instId": "ANY"}),
            venue.read("publicGetMarketTickers", {"instType": "SPOT"}),
        )
        rates = {str(r.get("instId")): r for r in _data(funding, "funding rates")}
        marks: dict[str, Mapping[str, Any]] = {}
        for row in _data(marks_answer, "mark prices"):
            market_id = str(row.get("instId"))
            symbol = venue.symbol_of(market_id)
            if symbol is not None:
                marks[symbol] = {"markPrice": row.get("markPx"), "info": rates.get(market_id, {})}
        by_id = venue.client.markets_by_id or {}
        prices: dict[str, Mapping[str, Any]] = {}
        for row in _data(spot, "spot tickers"):
            for market in by_id.get(str(row.get("instId")), ()):
                if market.get("spot"):
                    prices[str(market["symbol"])] = {"price": row.get("last")}
        return marks, prices

    def funding_rate(self, mark_entry: Mapping[str, Any]) -> object:
        info = mark_entry.get("info")
        return info.get("fundingRate") if isinstance(info, Mapping) else None

    async def _config(self, venue: Venue) -> Mapping[str, Any]:
        return _one(await venue.read("privateGetAccountConfig"), "account config")

    async def check_account_mode(self, venue: Venue) -> None:
        level = str((await self._config(venue)).get("acctLv"))
        if level != ACCOUNT_LEVEL:
            what = _LEVELS.get(level, f"account level {level!r}")
            raise PermanentError(
                f"the OKX trading account is in {what}; the bot reads multi-currency margin "
                "(account level 3): switch the account mode before running the bot"
            )

    async def check_position_mode(self, venue: Venue) -> None:
        mode = (await self._config(venue)).get("posMode")
        if mode != "net_mode":
            raise PermanentError(
                f"the OKX account is in {mode} position mode; switch it to net (one-way) mode "
                "(Settings > Position mode) before running the bot"
            )

    async def prepare(self, venue: Venue, symbols: Sequence[str], margin_mode: str) -> list[str]:
        if margin_mode != "cross":
            raise PermanentError(
                "the bot sends OKX orders in cross margin (tdMode=cross) on a multi-currency "
                f"margin account; margin_mode {margin_mode!r} is not supported: use cross"
            )
        ids = {venue.client.market(s)["id"]: s for s in symbols}
        # One read of every symbol's cross leverage (up to 20 per call); set only where not 1x.
        current: dict[str, Decimal] = {}
        names = list(ids)
        for start in range(0, len(names), BATCH):
            answer = await venue.read(
                "privateGetAccountLeverageInfo",
                {"instId": ",".join(names[start : start + BATCH]), "mgnMode": "cross"},
            )
            for row in _data(answer, "leverage info"):
                current[str(row.get("instId"))] = number(row.get("lever"), "leverage lever")
        changes: list[str] = []
        for market_id, symbol in ids.items():
            if current.get(market_id) == 1:
                continue
            await venue.setting("set_leverage", 1, symbol, {"mgnMode": "cross"})
            changes.append(f"{symbol}: leverage -> 1")
        return changes

    # -- orders ---------------------------------------------------------------------------

    def batches(self, venue: Venue, orders: Sequence[OrderRequest]) -> list[Sequence[OrderRequest]]:
        for order in orders:
            if not client_ids.ALPHANUMERIC.fullmatch(order.client_id):
                raise ValueError(f"client id {order.client_id!r} breaks OKX's clOrdId rule")
            whole_lots(order.amount, venue.rules(order.instrument))
        return [orders[i : i + BATCH] for i in range(0, len(orders), BATCH)]

    async def send(self, venue: Venue, batch: Sequence[OrderRequest]) -> Sequence[object]:
        client = venue.client
        requests = [
            client.create_order_request(
                o.instrument, "market", o.side.value, str(o.amount), None, _params(o)
            )
            for o in batch
        ]
        for request, order in zip(requests, batch, strict=True):
            if Decimal(str(request["sz"])) != order.amount:  # ccxt's precision must not move it
                raise ValueError(f"ccxt wrote sz {request['sz']} for {order.amount} contracts")
        try:
            answer = await client.privatePostTradeBatchOrders(requests)
        except Exception as exc:
            items = _failed_items(exc, len(batch))
            if items is None:
                raise
            return items  # code 1: every item failed, each with its own sCode
        return _data(answer, "batch-orders")

    def answer(
        self, venue: Venue, order: OrderRequest, item: object
    ) -> Mapping[str, Any] | Rejection:
        row = mapping(item, f"order {order.client_id}")
        code = int(number(row.get("sCode"), f"order {order.client_id}.sCode", signed=True))
        message = str(row.get("sMsg", ""))
        if code != 0:
            kinds = CODE_KINDS.get(code)
            if kinds is not None and issubclass(kinds.order, AmbiguousOutcome):
                raise kinds.order(f"{code} {message}", code=code)  # look it up
            return Rejection(code, message or "rejected")
        # An ack only: no status, so the gateway looks the order up (the echo is checked).
        return {"id": row.get("ordId"), "clientOrderId": row.get("clOrdId"), "info": row}

    async def find(self, venue: Venue, instrument: str, client_id: str) -> Any:
        found = await venue.read("fetch_order", None, instrument, {"clOrdId": client_id})
        if is_spot(instrument):
            _base_units(found, client_id)
        return found

    @property
    def spot_orders(self) -> bool:
        return True

    async def send_spot(self, venue: Venue, order: OrderRequest) -> object:
        market = spot_market(venue, order.instrument, self.name)
        if not client_ids.ALPHANUMERIC.fullmatch(order.client_id):
            raise PermanentError(f"client id {order.client_id!r} breaks OKX's clOrdId rule")
        request = {
            "instId": market["id"],
            # Cash: the trade spends and receives the account's own coins and never borrows
            # (cross would let a buy borrow the quote on a multi-currency margin account).
            "tdMode": "cash",
            "side": order.side.value,
            "ordType": "market",
            "sz": spot_lots(venue, market, order.amount),
            "tgtCcy": "base_ccy",  # sz in the base currency (a market buy's default is quote)
            "clOrdId": order.client_id,
        }
        try:
            answer = await venue.client.privatePostTradeOrder(request)
        except Exception as exc:
            items = _failed_items(exc, 1)
            if items is None:
                raise
            item: object = items[0]  # code 1: refused, with the item's own sCode
        else:
            item = _one(answer, "order")
        parsed = self.answer(venue, order, item)  # an ambiguous sCode raises: look it up
        if isinstance(parsed, Rejection):
            raise OrderRejected(f"{parsed.code} {parsed.message}", code=parsed.code)
        return parsed

    async def key_permissions(self, venue: Venue) -> KeyPermissions | None:
        perm = {p.strip() for p in str((await self._config(venue)).get("perm", "")).split(",")}
        return KeyPermissions(
            can_trade="trade" in perm,
            can_withdraw="withdraw" in perm,
            can_trade_futures="trade" in perm,
        )

    async def carry(self, venue: Venue, since: datetime, until: datetime) -> CarryRead:
        """Funding fees (bill type 8) and interest deductions (type 7) from the account's
        bills, the archive for a window older than seven days (`okx_carry`)."""
        return await read_carry(venue, since, until)

    async def transfer_to_futures(self, venue: Venue, amount: Decimal) -> None:
        raise PermanentError(
            "an OKX multi-currency margin account has no separate futures wallet: "
            "nothing to transfer"
        )


def _base_units(found: object, client_id: str) -> None:
    """Refuse a spot market order whose `sz` is not in the base currency (a buy sent without
    `tgtCcy=base_ccy` is sized in the quote): its amounts are not in the units we think."""
    info = mapping(mapping(found, f"order {client_id}").get("info"), f"order {client_id}.info")
    target = info.get("tgtCcy") or ""
    in_quote = target == "quote_ccy" or (target == "" and info.get("side") == "buy")
    if info.get("ordType") == "market" and in_quote:
        raise MalformedResponse(
            f"spot order {client_id} is sized in the quote currency (tgtCcy {target!r}), not "
            "the base currency the bot sends; not taken as ours"
        )


def _params(order: OrderRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"clOrdId": order.client_id, "tdMode": "cross"}
    if order.reduce_only:
        params["reduceOnly"] = True
    return params


def _failed_items(exc: Exception, expected: int) -> list[Mapping[str, Any]] | None:
    """The per-item answers of a batch whose every item failed (overall code 1), which ccxt
    raises as the first item's error with the body in its message; None for other failures."""
    text = str(exc)
    start = text.find("{")
    if start < 0:
        return None
    try:
        body, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    if not isinstance(body, dict) or str(body.get("code")) != "1":
        return None
    items = body.get("data")
    if not isinstance(items, list) or len(items) != expected:
        return None
    if not all(isinstance(i, dict) and str(i.get("sCode", "0")) != "0" for i in items):
        return None
    return items
