"""The emulator's Bybit V5 dialect: a unified trading account over the same sim engine.

It serves the endpoints ccxt 4.5.x's `bybit` class calls for the bot (instruments-info spot and
linear, tickers, wallet-balance, position/list, fee-rate, order/create and create-batch,
order/realtime and order/history, set-leverage, switch-mode, user/query-api, account/info,
market/time), signed as Bybit checks it (`X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP`,
`X-BAPI-RECV-WINDOW`, `X-BAPI-SIGN` = HMAC-SHA256 of timestamp + key + window + query or JSON
body), answering `retCode`/`retMsg` with HTTP 200 and a create answer that is an ack only.

The account is unified: the quote lives in one wallet that fees and PnL settle into and that may
go negative (borrowed); spot coins back the perps at a collateral ratio (`HAIRCUTS`, 1 for
stablecoins), so `totalMarginBalance` = sum(coin value x ratio) + unrealised PnL. Order checks
and fills are the sim's (the Binance-coded rejections of `Exchange` are translated here).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from rebalancer.emulator.errors import BinanceError
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.orders import Order, OrderStatus, OrderType, Segment
from rebalancer.emulator.params import OrderRequest
from rebalancer.sim import Side

HAIRCUTS = {"BTC": Decimal("0.95"), "ETH": Decimal("0.95")}
DEFAULT_HAIRCUT = Decimal("0.9")
STABLE = ("USDT", "USDC")
RECV_WINDOW_MS = 5_000
LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
MAX_BATCH = 10

Params = Mapping[str, Any]
Handler = Callable[[Exchange, Params], object]


class BybitError(BinanceError):
    """A Bybit refusal: HTTP 200 with a non-zero `retCode` (the server renders `body()`)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg, status=200)

    def body(self) -> dict[str, object]:
        return {"retCode": self.code, "retMsg": self.msg, "result": {}, "retExtInfo": {}}


# Binance codes of the shared `Exchange` -> what Bybit answers for the same refusal.
_TRANSLATED = {
    -1121: (10001, "params error: symbol invalid"),
    -1111: (10001, "params error: qty precision"),
    -4003: (10001, "params error: qty must be greater than 0"),
    -4004: (10001, "params error: qty below the minimum"),
    -2022: (110017, "current position is zero, cannot fix reduce-only order qty"),
    -2019: (110007, "ab not enough for new order"),
    -4164: (110094, "Order does not meet minimum order value"),
    -4116: (110072, "OrderLinkedID is duplicate"),
    -2013: (110001, "order not exists or too late to cancel"),
}


def translated(error: BinanceError) -> BybitError:
    if isinstance(error, BybitError):
        return error
    code, msg = _TRANSLATED.get(error.code, (10016, f"Internal System Error. {error.msg}"))
    return BybitError(code, msg)


def unify(exchange: Exchange) -> None:
    """Make the emulated account unified: one quote wallet, coins as collateral."""
    account = exchange.account
    quote = account.spot.balance(account.quote).total
    if quote:
        account.transfer_to_futures(quote)
    for spec in account.spot.markets:
        if spec.base not in STABLE:
            account.haircuts[spec.base] = HAIRCUTS.get(spec.base, DEFAULT_HAIRCUT)


# -- signing -------------------------------------------------------------------------------------


def verify(headers: Mapping[str, str], payload: str, secrets: Mapping[str, str], now: int) -> None:
    key = headers.get("x-bapi-api-key")
    secret = secrets.get(key or "")
    if secret is None:
        raise BybitError(10003, "API key is invalid.")
    try:
        stamp = int(headers.get("x-bapi-timestamp", ""))
        window = int(headers.get("x-bapi-recv-window", str(RECV_WINDOW_MS)))
    except ValueError:
        raise BybitError(10002, "invalid request, please check your server timestamp") from None
    signed = f"{stamp}{key}{window}{payload}"
    expected = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers.get("x-bapi-sign", "").lower()):
        raise BybitError(10004, "error sign! origin_string[redacted]")
    if stamp > now + 1_000 or now - stamp > window:
        raise BybitError(10002, "invalid request, please check your server timestamp")


def params_of(method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(query)
    if method == "POST" and body:
        try:
            decoded = json.loads(body)
        except json.JSONDecodeError:
            raise BybitError(10001, "request body is not valid JSON") from None
        if not isinstance(decoded, dict):
            raise BybitError(10001, "request body is not a JSON object")
        params.update(decoded)
    return params


def ok(result: object, ext: object = None) -> dict[str, object]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": ext or {}}


# -- market data ---------------------------------------------------------------------------------


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _category(params: Params) -> str:
    category = str(params.get("category", ""))
    if category not in ("spot", "linear"):
        raise BybitError(10001, f"params error: category {category!r} not served")
    return category


def instruments(exchange: Exchange, params: Params) -> object:
    category = _category(params)
    if params.get("status") == "PreLaunch":
        return ok({"category": category, "list": []})
    account = exchange.account
    rows: list[dict[str, object]] = []
    if category == "spot":
        for spot in account.spot.markets:
            rows.append(
                {
                    "symbol": spot.symbol,
                    "baseCoin": spot.base,
                    "quoteCoin": spot.quote,
                    "innovation": "0",
                    "status": "Trading",
                    "marginTrading": "utaOnly",
                    "lotSizeFilter": {
                        "basePrecision": _s(spot.step_size),
                        "quotePrecision": "0.0000001",
                        "minOrderQty": _s(spot.min_qty),
                        "maxOrderQty": "10000",
                        "minOrderAmt": _s(spot.min_notional),
                        "maxOrderAmt": "10000000",
                    },
                    "priceFilter": {"tickSize": _s(spot.tick_size)},
                }
            )
    else:
        for perp in account.perps:
            rows.append(
                {
                    "symbol": perp.symbol,
                    "contractType": "LinearPerpetual",
                    "status": "Trading",
                    "baseCoin": perp.base,
                    "quoteCoin": perp.quote,
                    "settleCoin": perp.quote,
                    "launchTime": "1585526400000",
                    "priceScale": "2",
                    "leverageFilter": {
                        "minLeverage": "1",
                        "maxLeverage": f"{perp.max_leverage}.00",
                        "leverageStep": "0.01",
                    },
                    "priceFilter": {
                        "minPrice": _s(perp.tick_size),
                        "maxPrice": "1999999.80",
                        "tickSize": _s(perp.tick_size),
                    },
                    "lotSizeFilter": {
                        "maxOrderQty": "1190.000",
                        "minOrderQty": _s(perp.min_qty),
                        "qtyStep": _s(perp.step_size),
                        "postOnlyMaxOrderQty": "1190.000",
                        "maxMktOrderQty": "500.000",
                        "minNotionalValue": _s(perp.min_notional),
                    },
                    "unifiedMarginTrade": True,
                    "fundingInterval": 480,
                }
            )
    return ok({"category": category, "list": rows})


def tickers(exchange: Exchange, params: Params) -> object:
    category = _category(params)
    account = exchange.account
    wanted = params.get("symbol")
    rows: list[dict[str, object]] = []
    if category == "spot":
        for spot in account.spot.markets:
            price = account.spot.price(spot.symbol)
            if price is None or (wanted and wanted != spot.symbol):
                continue
            rows.append({"symbol": spot.symbol, "lastPrice": _s(price), **_book(price)})
    else:
        for perp in account.perps:
            mark = account.mark(perp.symbol)
            if mark is None or (wanted and wanted != perp.symbol):
                continue
            rate = exchange.funding_rates.get(perp.symbol, Decimal(0))
            rows.append(
                {
                    "symbol": perp.symbol,
                    "lastPrice": _s(mark),
                    "markPrice": _s(mark),
                    "indexPrice": _s(mark),
                    "fundingRate": _s(rate),
                    "nextFundingTime": str(exchange.next_funding_ms()),
                    **_book(mark),
                }
            )
    return ok({"category": category, "list": rows})


def _book(price: Decimal) -> dict[str, str]:
    return {
        "bid1Price": _s(price),
        "bid1Size": "1",
        "ask1Price": _s(price),
        "ask1Size": "1",
        "volume24h": "0",
        "turnover24h": "0",
    }


# -- account -------------------------------------------------------------------------------------


def wallet_balance(exchange: Exchange, params: Params) -> object:
    if params.get("accountType") != "UNIFIED":
        raise BybitError(10001, "accountType only support UNIFIED.")
    account = exchange.account
    quote = account.quote
    upl = account.unrealized_pnl()
    coins: list[dict[str, object]] = []
    total_wallet = Decimal(0)
    for balance in account.spot.balances():
        if balance.asset == quote or not balance.total:
            continue
        price = account.spot.price(f"{balance.asset}{quote}") or Decimal(0)
        value = balance.total * price
        total_wallet += value
        coins.append(_coin(balance.asset, balance.total, value, Decimal(0), Decimal(0)))
    cash = account.wallet_balance + account.spot.balance(quote).total
    total_wallet += cash
    coins.append(_coin(quote, cash, cash, upl, max(-cash, Decimal(0))))
    margin_balance = account.margin_balance()
    im, mm = account.initial_margin(), account.maintenance_margin()
    return ok(
        {
            "list": [
                {
                    "accountType": "UNIFIED",
                    "totalEquity": _s(total_wallet + upl),
                    "totalWalletBalance": _s(total_wallet),
                    "totalMarginBalance": _s(margin_balance),
                    "totalAvailableBalance": _s(max(margin_balance - im, Decimal(0))),
                    "totalPerpUPL": _s(upl),
                    "totalInitialMargin": _s(im),
                    "totalMaintenanceMargin": _s(mm),
                    "accountIMRate": _s(_ratio(im, margin_balance)),
                    "accountMMRate": _s(_ratio(mm, margin_balance)),
                    "accountLTV": "0",
                    "coin": coins,
                }
            ]
        }
    )


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(Decimal("0.0001")) if whole > 0 else Decimal(0)


def _coin(
    coin: str, wallet: Decimal, value: Decimal, upl: Decimal, borrowed: Decimal
) -> dict[str, object]:
    return {
        "coin": coin,
        "walletBalance": _s(wallet),
        "equity": _s(wallet + upl),
        "usdValue": _s(value + upl),
        "unrealisedPnl": _s(upl),
        "borrowAmount": _s(borrowed),
        "locked": "0",
        "collateralSwitch": True,
        "marginCollateral": True,
    }


def position_list(exchange: Exchange, params: Params) -> object:
    if _category(params) != "linear":
        raise BybitError(10001, "params error: category")
    symbol, settle = params.get("symbol"), params.get("settleCoin")
    if not symbol and not settle:
        raise BybitError(10001, "params error: symbol or settleCoin is required")
    account = exchange.account
    rows: list[dict[str, str]] = []
    for spec in account.perps:
        if (symbol and spec.symbol != symbol) or (settle and spec.quote != settle):
            continue
        position = account.position(spec.symbol)
        if not position.size and not symbol:
            continue  # Bybit lists open positions unless a symbol is named
        mark = account.mark(spec.symbol) or Decimal(0)
        size = position.size
        entry = position.cost / size if size else Decimal(0)
        rows.append(
            {
                "symbol": spec.symbol,
                "positionIdx": "0",
                "side": "Buy" if size > 0 else "Sell" if size < 0 else "",
                "size": _s(abs(size)),
                "avgPrice": _s(entry),
                "markPrice": _s(mark),
                "positionValue": _s(abs(position.cost)),
                "unrealisedPnl": _s(size * mark - position.cost),
                "leverage": str(account.leverage(spec.symbol)),
                "tradeMode": "0",
                "positionStatus": "Normal",
                "createdTime": "1700000000000",
                "updatedTime": str(exchange.now_ms()),
            }
        )
    return ok({"category": "linear", "list": rows})


def fee_rate(exchange: Exchange, params: Params) -> object:
    symbols = (
        [params["symbol"]] if params.get("symbol") else [p.symbol for p in exchange.account.perps]
    )
    fees = exchange.account.fees
    return ok(
        {
            "list": [
                {
                    "symbol": s,
                    "takerFeeRate": _s(fees.taker_rate),
                    "makerFeeRate": _s(fees.maker_rate),
                }
                for s in symbols
            ]
        }
    )


def query_api(exchange: Exchange, params: Params) -> object:
    withdraw = exchange.state.api_restrictions.get("enableWithdrawals", False)
    return ok(
        {
            "id": "1",
            "note": "emulator",
            "apiKey": "redacted",
            "readOnly": 0,
            "secret": "",
            "permissions": {
                "ContractTrade": ["Order", "Position"],
                "Spot": ["SpotTrade"],
                "Wallet": ["AccountTransfer", *(["Withdraw"] if withdraw else [])],
                "Options": [],
                "Derivatives": [],
                "Exchange": [],
                "NFT": [],
            },
            "ips": ["*"],
            "type": 1,
            "unified": 0,
            "uta": 1,
        }
    )


def coin_info(exchange: Exchange, params: Params) -> object:
    """Coins and their chains (ccxt's load_markets reads them once with keys)."""
    account = exchange.account
    coins = sorted({m.base for m in account.spot.markets} | {account.quote})
    rows = [
        {
            "name": c,
            "coin": c,
            "remainAmount": "1000000",
            "chains": [
                {
                    "chainType": c,
                    "chain": c,
                    "confirmation": "1",
                    "withdrawFee": "0",
                    "depositMin": "0",
                    "withdrawMin": "0",
                    "minAccuracy": "8",
                    "chainDeposit": "1",
                    "chainWithdraw": "1",
                    "withdrawPercentageFee": "0",
                }
            ],
        }
        for c in coins
    ]
    return ok({"rows": rows})


def account_info(exchange: Exchange, params: Params) -> object:
    return ok(
        {
            "unifiedMarginStatus": 5,
            "marginMode": "REGULAR_MARGIN",
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
            "updatedTime": str(exchange.now_ms()),
        }
    )


def set_leverage(exchange: Exchange, params: Params) -> object:
    symbol = str(params.get("symbol", ""))
    try:
        buy, sell = (
            int(Decimal(str(params["buyLeverage"]))),
            int(Decimal(str(params["sellLeverage"]))),
        )
    except (KeyError, ArithmeticError, ValueError):
        raise BybitError(10001, "params error: buyLeverage and sellLeverage") from None
    account = exchange.account
    if account.perp_spec(symbol) is None:
        raise BybitError(10001, "params error: symbol invalid")
    if buy != sell:
        raise BybitError(10001, "buy leverage must equal sell leverage in one-way mode")
    if account.leverage(symbol) == buy:
        raise BybitError(110043, "Set leverage not modified")
    rejection = account.set_leverage(symbol, buy)
    if rejection is not None:
        raise BybitError(10001, rejection.detail)
    return ok({})


def switch_mode(exchange: Exchange, params: Params) -> object:
    hedged = str(params.get("mode")) == "3"
    if exchange.dual_side_position == hedged:
        raise BybitError(110025, "Position mode is not modified")
    if exchange.account.positions():
        raise BybitError(110024, "You have existing positions, so position mode cannot be switched")
    exchange.dual_side_position = hedged
    return ok({})


# -- orders --------------------------------------------------------------------------------------


def _place(exchange: Exchange, fields: Params) -> Order:
    symbol = str(fields.get("symbol", ""))
    link_id = str(fields.get("orderLinkId") or "")
    if link_id and not LINK_ID.fullmatch(link_id):
        raise BybitError(10001, "params error: orderLinkId")
    if str(fields.get("positionIdx", "0")) != ("0" if not exchange.dual_side_position else "1"):
        raise BybitError(10001, "position idx not match position mode")
    if str(fields.get("orderType")) != "Market":
        raise BybitError(10001, "the emulator's Bybit dialect serves market orders only")
    try:
        side = {"Buy": Side.BUY, "Sell": Side.SELL}[str(fields.get("side"))]
        qty = Decimal(str(fields["qty"]))
    except (KeyError, ArithmeticError):
        raise BybitError(10001, "params error: side or qty") from None
    with exchange.lock:
        if link_id and exchange.store.find(
            Segment.FUTURES, symbol, order_id=None, client_order_id=link_id
        ):
            raise BybitError(110072, "OrderLinkedID is duplicate")
        request = OrderRequest(
            symbol=symbol,
            side=side,
            type=OrderType.MARKET,
            qty=qty,
            quote_qty=None,
            price=None,
            time_in_force="IOC",
            reduce_only=fields.get("reduceOnly") in (True, "true", "True"),
            client_order_id=link_id or None,
            position_side=None,
            response_type=None,
        )
        try:
            return exchange.place_futures_order(request)
        except BinanceError as error:
            raise translated(error) from None


def create_order(exchange: Exchange, params: Params) -> object:
    if params.get("category") != "linear":
        raise BybitError(10001, "the emulator's Bybit dialect trades category linear only")
    order = _place(exchange, params)
    return ok({"orderId": str(order.order_id), "orderLinkId": order.client_order_id})


def create_batch(exchange: Exchange, params: Params) -> object:
    if params.get("category") != "linear":
        raise BybitError(10001, "the emulator's Bybit dialect trades category linear only")
    batch = params.get("request")
    if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH:
        raise BybitError(10001, "params error: request must hold 1 to 10 orders")
    items: list[dict[str, str]] = []
    codes: list[dict[str, object]] = []
    for entry in batch:
        try:
            order = _place(exchange, entry if isinstance(entry, dict) else {})
        except BybitError as error:
            items.append({"category": "linear", "symbol": "", "orderId": "", "orderLinkId": ""})
            codes.append({"code": error.code, "msg": error.msg})
            continue
        items.append(
            {
                "category": "linear",
                "symbol": order.symbol,
                "orderId": str(order.order_id),
                "orderLinkId": order.client_order_id,
                "createAt": str(order.created_ms),
            }
        )
        codes.append({"code": 0, "msg": "OK"})
    return ok({"list": items}, {"list": codes})


_STATUS = {
    OrderStatus.NEW: "New",
    OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELED: "Cancelled",
    OrderStatus.EXPIRED: "Cancelled",
}


def _order_row(exchange: Exchange, order: Order) -> dict[str, object]:
    fee = sum(
        (
            t.commission
            for t in exchange.store.trades(Segment.FUTURES, order.symbol)
            if t.order_id == order.order_id
        ),
        Decimal(0),
    )
    return {
        "orderId": str(order.order_id),
        "orderLinkId": order.client_order_id,
        "symbol": order.symbol,
        "side": "Buy" if order.side is Side.BUY else "Sell",
        "orderType": "Market" if order.type is OrderType.MARKET else "Limit",
        "price": _s(order.price),
        "qty": _s(order.qty),
        "avgPrice": _s(order.avg_price),
        "cumExecQty": _s(order.executed_qty),
        "cumExecValue": _s(order.cum_quote),
        "cumExecFee": _s(fee),
        "cumFeeDetail": {exchange.account.quote: _s(fee)} if fee else {},
        "leavesQty": _s(order.qty - order.executed_qty) if order.status.is_open else "0",
        "orderStatus": _STATUS.get(order.status, "Rejected"),
        "timeInForce": "IOC",
        "reduceOnly": order.reduce_only,
        "positionIdx": 0,
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
    }


def _orders(*, open_only: bool) -> Handler:
    def handler(exchange: Exchange, params: Params) -> object:
        if params.get("category") != "linear":
            raise BybitError(10001, "params error: category")
        symbol = params.get("symbol")
        link_id, order_id = params.get("orderLinkId"), params.get("orderId")
        with exchange.lock:
            orders = [
                o
                for o in exchange.store.all_orders()
                if o.segment is Segment.FUTURES
                and o.status.is_open == open_only
                and (not symbol or o.symbol == symbol)
                and (not link_id or o.client_order_id == link_id)
                and (not order_id or str(o.order_id) == order_id)
            ]
            rows = [_order_row(exchange, o) for o in orders]
        return ok({"category": "linear", "list": rows, "nextPageCursor": ""})

    return handler


ROUTES: dict[tuple[str, str], tuple[Handler, bool]] = {
    ("GET", "/v5/market/time"): (
        lambda e, p: ok(
            {"timeSecond": str(e.now_ms() // 1000), "timeNano": str(e.now_ms() * 10**6)}
        ),
        False,
    ),
    ("GET", "/v5/market/instruments-info"): (instruments, False),
    ("GET", "/v5/market/tickers"): (tickers, False),
    ("GET", "/v5/account/wallet-balance"): (wallet_balance, True),
    ("GET", "/v5/position/list"): (position_list, True),
    ("GET", "/v5/account/fee-rate"): (fee_rate, True),
    ("GET", "/v5/account/info"): (account_info, True),
    ("GET", "/v5/asset/coin/query-info"): (coin_info, True),
    ("GET", "/v5/user/query-api"): (query_api, True),
    ("POST", "/v5/order/create"): (create_order, True),
    ("POST", "/v5/order/create-batch"): (create_batch, True),
    ("GET", "/v5/order/realtime"): (_orders(open_only=True), True),
    ("GET", "/v5/order/history"): (_orders(open_only=False), True),
    ("POST", "/v5/position/set-leverage"): (set_leverage, True),
    ("POST", "/v5/position/switch-mode"): (switch_mode, True),
}
