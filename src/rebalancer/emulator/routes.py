"""The REST routes the emulator serves: (method, path) -> handler, and whether it is signed.

These are exactly the endpoints ccxt 4.5.x's `binance` class calls for the operations the bot
uses (see the package docstring for the ccxt method -> endpoint list). Handlers take the parsed
parameters and return Binance-shaped JSON or raise `BinanceError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rebalancer.emulator import account_views, carry_views, history, market_data, render, settings
from rebalancer.emulator.errors import BinanceError, bad_param
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.orders import Segment
from rebalancer.emulator.params import (
    decimal_param,
    int_param,
    order_lookup,
    parse_order_request,
    required,
)

Params = Mapping[str, str]
Handler = Callable[[Exchange, Params], object]
MAX_BATCH_ORDERS = 5


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    signed: bool


def _one_or_all(items: list[render.Json], params: Params) -> object:
    """Binance answers an object when `symbol` was given and a list otherwise."""
    if "symbol" not in params:
        return items
    if not items:
        raise BinanceError(-1121, "Invalid symbol.")
    return items[0]


def _time(exchange: Exchange, _: Params) -> object:
    return {"serverTime": exchange.now_ms()}


def _futures_order(exchange: Exchange, params: Params) -> object:
    order = exchange.place_futures_order(parse_order_request(params))
    if params.get("newOrderRespType") == "ACK":
        return render.futures_ack(order)
    return render.futures_order(order, with_time=False)


def _batch_orders(exchange: Exchange, params: Params) -> object:
    try:
        batch = json.loads(required(params, "batchOrders"))
    except json.JSONDecodeError as exc:
        raise BinanceError(-1130, "Data sent for parameter 'batchOrders' is not valid.") from exc
    if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH_ORDERS:
        raise BinanceError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
    results: list[object] = []
    for entry in batch:
        try:
            fields = {
                str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in entry.items()
            }
            results.append(
                render.futures_order(
                    exchange.place_futures_order(parse_order_request(fields)), with_time=False
                )
            )
        except BinanceError as error:
            results.append(error.body())
    return results


def _get_order(segment: Segment) -> Handler:
    def handler(exchange: Exchange, params: Params) -> object:
        order_id, client_id = order_lookup(params)
        order = exchange.get_order(segment, required(params, "symbol"), order_id, client_id)
        return (
            render.futures_order(order) if segment is Segment.FUTURES else render.spot_order(order)
        )

    return handler


def _cancel_order(segment: Segment) -> Handler:
    def handler(exchange: Exchange, params: Params) -> object:
        order_id, client_id = order_lookup(params)
        order = exchange.cancel_order(segment, required(params, "symbol"), order_id, client_id)
        if segment is Segment.FUTURES:
            return render.futures_order(order, with_time=False)
        return {**render.spot_order(order), "origClientOrderId": order.client_order_id}

    return handler


def _open_orders(segment: Segment) -> Handler:
    def handler(exchange: Exchange, params: Params) -> object:
        orders = exchange.open_orders(segment, params.get("symbol"))
        if segment is Segment.FUTURES:
            return [render.futures_order(o) for o in orders]
        return [render.spot_order(o) for o in orders]

    return handler


def _my_trades(segment: Segment) -> Handler:
    def handler(exchange: Exchange, params: Params) -> object:
        trades = exchange.trades(segment, required(params, "symbol"))
        start = int_param(params, "startTime")
        from_id = int_param(params, "fromId")
        trades = [
            t
            for t in trades
            if (start is None or t.time_ms >= start) and (from_id is None or t.trade_id >= from_id)
        ]
        limit = int_param(params, "limit") or 500
        rows = trades[:limit] if from_id is not None or start is not None else trades[-limit:]
        view = render.futures_trade if segment is Segment.FUTURES else render.spot_trade
        return [view(t) for t in rows]

    return handler


def _spot_order(exchange: Exchange, params: Params) -> object:
    order = exchange.place_spot_order(parse_order_request(params))
    trades = [
        t for t in exchange.trades(Segment.SPOT, order.symbol) if t.order_id == order.order_id
    ]
    return render.spot_order(order, trades)


def _leverage(exchange: Exchange, params: Params) -> object:
    symbol = required(params, "symbol")
    leverage = int_param(params, "leverage")
    if leverage is None:
        raise bad_param("leverage")
    settings.set_leverage(exchange, symbol, leverage)
    return {"leverage": leverage, "maxNotionalValue": "1000000000", "symbol": symbol}


def _margin_type(exchange: Exchange, params: Params) -> object:
    settings.set_margin_type(
        exchange, required(params, "symbol"), required(params, "marginType").upper()
    )
    return {"code": 200, "msg": "success"}


def _set_dual(exchange: Exchange, params: Params) -> object:
    settings.set_dual_side_position(
        exchange, required(params, "dualSidePosition").lower() == "true"
    )
    return {"code": 200, "msg": "success"}


def _transfer(exchange: Exchange, params: Params) -> object:
    amount = decimal_param(params, "amount")
    if amount is None:
        raise bad_param("amount")
    tran_id = settings.transfer(
        exchange, required(params, "type"), required(params, "asset"), amount
    )
    return {"tranId": tran_id}


def _locked(handler: Handler) -> Handler:
    def wrapped(exchange: Exchange, params: Params) -> object:
        with exchange.lock:
            return handler(exchange, params)

    return wrapped


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/api/v3/ping"): Route(lambda e, p: {}, signed=False),
    ("GET", "/api/v3/time"): Route(_time, signed=False),
    ("GET", "/api/v3/exchangeInfo"): Route(lambda e, p: market_data.spot_exchange_info(e), False),
    ("GET", "/api/v3/ticker/24hr"): Route(
        lambda e, p: _one_or_all(market_data.tickers(e, p.get("symbol"), spot=True), p), False
    ),
    ("GET", "/api/v3/ticker/price"): Route(
        lambda e, p: _one_or_all(market_data.latest_prices(e, p.get("symbol"), spot=True), p), False
    ),
    ("GET", "/api/v3/klines"): Route(history.klines, signed=False),
    ("GET", "/api/v3/account"): Route(lambda e, p: account_views.spot_account(e), signed=True),
    ("POST", "/api/v3/order"): Route(_spot_order, signed=True),
    ("GET", "/api/v3/order"): Route(_get_order(Segment.SPOT), signed=True),
    ("DELETE", "/api/v3/order"): Route(_cancel_order(Segment.SPOT), signed=True),
    ("GET", "/api/v3/openOrders"): Route(_open_orders(Segment.SPOT), signed=True),
    ("GET", "/api/v3/myTrades"): Route(_my_trades(Segment.SPOT), signed=True),
    ("GET", "/fapi/v1/ping"): Route(lambda e, p: {}, signed=False),
    ("GET", "/fapi/v1/time"): Route(_time, signed=False),
    ("GET", "/fapi/v1/exchangeInfo"): Route(
        lambda e, p: market_data.futures_exchange_info(e), False
    ),
    ("GET", "/fapi/v1/premiumIndex"): Route(
        lambda e, p: _one_or_all(market_data.premium_index(e, p.get("symbol")), p), False
    ),
    ("GET", "/fapi/v1/fundingRate"): Route(history.funding_rate_history, signed=False),
    ("GET", "/fapi/v1/income"): Route(carry_views.income, signed=True),
    ("GET", "/fapi/v1/ticker/24hr"): Route(
        lambda e, p: _one_or_all(market_data.tickers(e, p.get("symbol"), spot=False), p), False
    ),
    ("GET", "/fapi/v1/ticker/price"): Route(
        lambda e, p: _one_or_all(market_data.latest_prices(e, p.get("symbol"), spot=False), p),
        False,
    ),
    ("GET", "/fapi/v2/account"): Route(
        lambda e, p: account_views.futures_account(e, v3=False), signed=True
    ),
    ("GET", "/fapi/v3/account"): Route(
        lambda e, p: account_views.futures_account(e, v3=True), signed=True
    ),
    ("GET", "/fapi/v2/positionRisk"): Route(
        lambda e, p: account_views.position_risk(e, p.get("symbol"), v3=False), signed=True
    ),
    ("GET", "/fapi/v3/positionRisk"): Route(
        lambda e, p: account_views.position_risk(e, p.get("symbol"), v3=True), signed=True
    ),
    ("POST", "/fapi/v1/order"): Route(_futures_order, signed=True),
    ("POST", "/fapi/v1/batchOrders"): Route(_batch_orders, signed=True),
    ("GET", "/fapi/v1/order"): Route(_get_order(Segment.FUTURES), signed=True),
    ("DELETE", "/fapi/v1/order"): Route(_cancel_order(Segment.FUTURES), signed=True),
    ("GET", "/fapi/v1/openOrders"): Route(_open_orders(Segment.FUTURES), signed=True),
    ("GET", "/fapi/v1/userTrades"): Route(_my_trades(Segment.FUTURES), signed=True),
    ("POST", "/fapi/v1/leverage"): Route(_leverage, signed=True),
    ("POST", "/fapi/v1/marginType"): Route(_margin_type, signed=True),
    ("GET", "/fapi/v1/positionSide/dual"): Route(
        lambda e, p: {"dualSidePosition": e.dual_side_position}, signed=True
    ),
    ("POST", "/fapi/v1/positionSide/dual"): Route(_set_dual, signed=True),
    ("GET", "/fapi/v1/multiAssetsMargin"): Route(
        lambda e, p: {"multiAssetsMargin": e.multi_assets_margin}, signed=True
    ),
    ("GET", "/fapi/v1/leverageBracket"): Route(
        lambda e, p: _one_or_all(market_data.leverage_brackets(e, p.get("symbol")), p), True
    ),
    ("GET", "/fapi/v1/symbolConfig"): Route(
        lambda e, p: account_views.symbol_config(e, p.get("symbol")), signed=True
    ),
    ("GET", "/fapi/v1/commissionRate"): Route(
        lambda e, p: account_views.commission_rate(e, required(p, "symbol")), signed=True
    ),
    ("GET", "/sapi/v1/account/apiRestrictions"): Route(
        lambda e, p: account_views.api_restrictions(e), signed=True
    ),
    ("POST", "/sapi/v1/asset/transfer"): Route(_transfer, signed=True),
    ("GET", "/sapi/v1/capital/config/getall"): Route(
        lambda e, p: account_views.capital_config(e), signed=True
    ),
    ("GET", "/sapi/v1/margin/allPairs"): Route(lambda e, p: [], signed=True),
    ("GET", "/sapi/v1/margin/isolated/allPairs"): Route(lambda e, p: [], signed=True),
}

# Reads render several views of one state; hold the lock so a concurrent fill cannot tear them.
ROUTES = {key: Route(_locked(r.handler), r.signed) for key, r in ROUTES.items()}
