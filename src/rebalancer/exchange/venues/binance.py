"""Binance USDⓈ-M, classic account (a spot wallet and a separate futures wallet).

Reads: the spot account, the futures account (`/fapi/v3/account`, which carries the margin
balance and every open position in one call), all marks (`premiumIndex`, with funding) and all
spot last prices: four calls; once a day also the account's fee rates and its multi-assets
flag (refused: coins in the futures wallet would be exposure nobody counts). Orders go in
batches of five (`batchOrders`, answers in request order) with `newOrderRespType=RESULT`, so a
market order's fill is in its answer; lookups are by `origClientOrderId`. Spot market orders
(the roll policy's) go one at a time to `/api/v3/order` with `newOrderRespType=FULL`. Key
permissions come from `apiRestrictions`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rebalancer.domain import client_ids
from rebalancer.domain.ledger import CarryEntry, CarryKind, CarryRead
from rebalancer.exchange.errors import (
    BINANCE_CODE_KINDS,
    FailureKinds,
    MalformedResponse,
    PermanentError,
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
)

BATCH = 5
INCOME_HISTORY = timedelta(days=90)  # the income endpoint keeps three months
INCOME_PAGE = 1000

# Only spot and USDⓈ-M markets (no COIN-M / options exchangeInfo at start-up), and no currency
# list (a signed sapi call the bot does not need).
_CLIENT_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot", "linear"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}


def hedge_mode(symbol: str) -> PermanentError:
    # Long and short rows of one symbol cannot be netted into one hedge without guessing.
    return PermanentError(
        f"the futures account is in hedge (long/short) position mode ({symbol} has per-side "
        "rows); switch it to one-way mode before running the bot"
    )


class Binance:
    """The `Dialect` of Binance USDⓈ-M (ccxt ids `binance` and `binanceusdm`)."""

    @property
    def name(self) -> str:
        return "binance"

    @property
    def error_codes(self) -> Mapping[int, FailureKinds]:
        return BINANCE_CODE_KINDS

    def client_id(self, run_id: str, leg: int) -> str:
        return client_ids.dashed(run_id, leg)

    def client_options(self) -> dict[str, Any]:
        return dict(_CLIENT_OPTIONS)

    def call_floor(self, orders: int) -> int:
        # Spot account, futures account (margin + every position), all marks, all spot prices;
        # batches of five; the fill is in the RESULT answer, so nothing to confirm.
        return 4 + math.ceil(orders / BATCH)

    async def account(self, venue: Venue, coins: Sequence[str]) -> Account:
        spot, futures = await asyncio.gather(
            venue.read("fetch_balance", {"type": "spot"}), self.futures_account(venue)
        )
        # ccxt turns an unparsable answer into an empty balance: insist on the raw account.
        info = mapping(spot.get("info") if isinstance(spot, Mapping) else None, "spot account")
        if not isinstance(info.get("balances"), list):
            raise MalformedResponse("exchange answer has no spot account balances")
        totals = mapping(spot.get("total"), "spot total")
        balances = {c: number(totals.get(c) or 0, f"spot balance {c}") for c in coins}
        return Account(balances, futures)

    async def futures_account(self, venue: Venue) -> FuturesAccount:
        account = await venue.read("fetch_balance", {"type": "future"})
        info = mapping(account.get("info"), "futures account")
        equity = number(info.get("totalMarginBalance"), "totalMarginBalance", signed=True)
        positions: dict[str, Decimal] = {}
        seen: set[str] = set()
        for row in info.get("positions") or []:
            market_id = str(row.get("symbol"))
            if row.get("positionSide") not in (None, "BOTH") or market_id in seen:
                raise hedge_mode(market_id)
            seen.add(market_id)
            size = number(
                row.get("positionAmt"), f"positions[{market_id}].positionAmt", signed=True
            )
            symbol = venue.symbol_of(market_id)
            if symbol is None and size:
                # A position the cap cannot value must not be left out of it.
                raise MalformedResponse(f"a position on {market_id}, a market ccxt does not list")
            if symbol is not None and size:
                positions[symbol] = size * venue.rules(symbol).contract_size
        return FuturesAccount(equity, positions)

    async def public_prices(self, venue: Venue) -> tuple[Any, Any]:
        marks, prices = await asyncio.gather(
            venue.read("fetch_mark_prices"),
            venue.read("fetch_last_prices", None, {"type": "spot"}),
        )
        return marks, prices

    def funding_rate(self, mark_entry: Mapping[str, Any]) -> object:
        info = mark_entry.get("info")
        return info.get("lastFundingRate") if isinstance(info, Mapping) else None

    async def check_account_mode(self, venue: Venue) -> None:
        # Multi-assets mode: coins in the futures wallet back the positions (they are in
        # totalMarginBalance) but are exposure the snapshot would not see. Refused, not guessed.
        mode = await venue.read("fapiPrivateGetMultiAssetsMargin")
        if not isinstance(mode, Mapping) or not isinstance(mode.get("multiAssetsMargin"), bool):
            raise MalformedResponse("exchange answer has no multiAssetsMargin flag")
        if mode["multiAssetsMargin"]:
            raise PermanentError(
                "the USDⓈ-M futures account is in multi-assets mode; switch it to single-asset "
                "mode before running the bot"
            )

    async def check_position_mode(self, venue: Venue) -> None:
        mode = await venue.read("fetch_position_mode", None)
        if isinstance(mode, Mapping) and mode.get("hedged"):
            raise PermanentError(
                "the futures account is in hedge (dual-side) position mode; "
                "switch it to one-way mode before running the bot"
            )

    async def prepare(self, venue: Venue, symbols: Sequence[str], margin_mode: str) -> list[str]:
        changes: list[str] = []
        current = await venue.read("fetch_leverages", list(symbols))
        for symbol in symbols:
            row = current.get(symbol) if isinstance(current, Mapping) else None
            leverage = row.get("longLeverage") if isinstance(row, Mapping) else None
            margin = row.get("marginMode") if isinstance(row, Mapping) else None
            if leverage is None or int(leverage) != 1:
                await venue.setting("set_leverage", 1, symbol)
                changes.append(f"{symbol}: leverage {leverage} -> 1")
            if margin != margin_mode:
                await venue.setting("set_margin_mode", margin_mode, symbol)
                changes.append(f"{symbol}: margin {margin} -> {margin_mode}")
        return changes

    def batches(self, venue: Venue, orders: Sequence[OrderRequest]) -> list[Sequence[OrderRequest]]:
        return [orders[i : i + BATCH] for i in range(0, len(orders), BATCH)]

    async def send(self, venue: Venue, batch: Sequence[OrderRequest]) -> Sequence[object]:
        client = venue.client
        requests = [
            client.create_order_request(
                o.instrument, "market", o.side.value, str(o.amount), None, _params(o)
            )
            for o in batch
        ]
        answer = await client.fapiPrivatePostBatchOrders({"batchOrders": requests})
        if not isinstance(answer, list):
            raise MalformedResponse("batch order answer is not a list")
        return answer

    def answer(
        self, venue: Venue, order: OrderRequest, item: object
    ) -> Mapping[str, Any] | Rejection:
        if isinstance(item, Mapping) and "code" in item and "orderId" not in item:
            code = item.get("code")
            return Rejection(
                int(code)
                if isinstance(code, int | str) and str(code).lstrip("-").isdigit()
                else None,
                str(item.get("msg", "rejected")),
            )
        parsed = venue.client.parse_order(item, venue.client.market(order.instrument))
        return mapping(parsed, f"order {order.client_id}")

    async def find(self, venue: Venue, instrument: str, client_id: str) -> Any:
        if is_spot(instrument):
            market = _spot_market(venue, instrument)
            query = {"symbol": market["id"], "origClientOrderId": client_id}
            return venue.client.parse_order(await venue.read("privateGetOrder", query), market)
        return await venue.read("fetch_order", "", instrument, {"origClientOrderId": client_id})

    @property
    def spot_orders(self) -> bool:
        return True

    async def send_spot(self, venue: Venue, order: OrderRequest) -> object:
        # The spot endpoint by name: the client's defaultType "swap" would route a spot symbol
        # through ccxt's create_order to the perp of the same name.
        market = _spot_market(venue, order.instrument)
        request = {
            "symbol": market["id"],
            "side": order.side.value.upper(),
            "type": "MARKET",
            "quantity": format(order.amount, "f"),
            "newClientOrderId": order.client_id,
            "newOrderRespType": "FULL",  # the fills in the answer
        }
        return venue.client.parse_order(await venue.client.privatePostOrder(request), market)

    async def key_permissions(self, venue: Venue) -> KeyPermissions | None:
        raw = await venue.read("sapi_get_account_apirestrictions")
        if not isinstance(raw, Mapping):
            raise MalformedResponse("apiRestrictions answer is not a mapping")
        return KeyPermissions(
            can_trade=bool(raw.get("enableSpotAndMarginTrading") or raw.get("enableFutures")),
            can_withdraw=bool(raw.get("enableWithdrawals")),
            can_trade_futures=bool(raw.get("enableFutures")),
        )

    async def transfer_to_futures(self, venue: Venue, amount: Decimal) -> None:
        await venue.client.transfer(venue.quote, str(amount), "spot", "swap")

    async def carry(self, venue: Venue, since: datetime, until: datetime) -> CarryRead:
        """Funding fees from the income history (`fetch_funding_history`, `FUNDING_FEE`),
        paged forwards by time; a classic account borrows nothing, so no interest."""
        served_from = until - INCOME_HISTORY
        cursor, end = epoch_ms(max(since, served_from)), epoch_ms(until)
        entries: list[CarryEntry] = []
        while cursor <= end:
            page = await venue.read(
                "fetch_funding_history", None, cursor, INCOME_PAGE, {"until": end}
            )
            if not isinstance(page, list):
                raise MalformedResponse("funding history answer is not a list")
            rows = [mapping(mapping(p, "funding history").get("info"), "income") for p in page]
            entries += [_income(venue, row) for row in rows]
            if len(rows) < INCOME_PAGE:
                break
            cursor = max(epoch_ms(e.at) for e in entries) + 1
        return CarryRead(tuple(entries), served_from)


def _spot_market(venue: Venue, symbol: str) -> Mapping[str, Any]:
    market = (venue.client.markets or {}).get(symbol)
    if not isinstance(market, Mapping) or not market.get("spot"):
        raise PermanentError(f"{symbol} is not a spot market on binance; nothing sent")
    return market


def _params(order: OrderRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "clientOrderId": order.client_id,
        "newOrderRespType": "RESULT",  # the fill in the answer, not just an ack
    }
    if order.reduce_only:
        params["reduceOnly"] = True
    return params


def _income(venue: Venue, row: Mapping[str, Any]) -> CarryEntry:
    tran = row.get("tranId")
    if tran in (None, ""):
        raise MalformedResponse("exchange answer has an income row without tranId")
    market_id = str(row.get("symbol"))
    return CarryEntry(
        kind=CarryKind.FUNDING,
        key=str(tran),
        at=from_ms(row.get("time"), f"income {tran}.time"),
        subject=venue.symbol_of(market_id) or market_id,
        amount=number(row.get("income"), f"income {tran}.income", signed=True),
        source="binance",
    )
