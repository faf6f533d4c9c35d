"""The emulator's Bybit V5 order endpoints (see `emulator.bybit`): create and create-batch
answer an ack only; realtime lists open orders and history closed ones, by `orderLinkId`.

`category=linear` trades the perps; `order/create` and the lookups also take `category=spot`:
market orders on the unified account's coins, `qty` in the base coin with
`marketUnit=baseCoin` and, as Bybit does, in the quote coin for a market buy that leaves
`marketUnit` out (or says `quoteCoin`). No spot margin (`isLeverage=1` is refused): a buy spends
the quote balance the account holds. The fee is charged in the coin received (base on a buy,
quote on a sale) and reported per coin in `cumFeeDetail`. Spot refusals answer Bybit's spot
codes (170131 balance insufficient, 170136/170137 quantity, 170140 order value, 170141
duplicate `orderLinkId`).

History covers a window of at most seven days, as Bybit's does: the last seven days unless
`startTime`/`endTime` say otherwise (one alone spans seven days from it; both may not span
more, else retCode 10001). An order older than the window is not in the answer, even when
asked for by `orderLinkId`."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rebalancer.emulator.bybit import (
    LINK_ID,
    MAX_BATCH,
    BybitError,
    Handler,
    Params,
    ok,
    text,
    translated,
)
from rebalancer.emulator.errors import BinanceError
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.orders import Order, OrderStatus, OrderType, Segment
from rebalancer.emulator.params import OrderRequest
from rebalancer.sim import Side

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
        request = OrderRequest.market(
            symbol,
            side,
            qty,
            reduce_only=fields.get("reduceOnly") in (True, "true", "True"),
            client_order_id=link_id or None,
        )
        try:
            return exchange.place_futures_order(request)
        except BinanceError as error:
            raise translated(error) from None


# Binance codes of the shared `Exchange`'s spot refusals -> Bybit's spot codes.
_SPOT_CODES = {
    -1121: (170121, "Invalid symbol."),
    -2011: (170213, "Order does not exist."),
}
_SPOT_FILTERS = {  # by message: Binance's -1013 and -2010 each stand for several refusals
    "Account has insufficient balance for requested action.": (170131, "Insufficient balance."),
    "Duplicate order sent.": (170141, "Duplicate clientOrderId."),
    "Filter failure: LOT_SIZE": (170137, "Order quantity has too many decimals."),
    "Filter failure: NOTIONAL": (170140, "Order value exceeded lower limit."),
    "Invalid quantity.": (170136, "Order quantity lower than the minimum."),
}


def _spot_error(error: BinanceError) -> BybitError:
    if isinstance(error, BybitError):
        return error
    code, msg = _SPOT_FILTERS.get(error.msg) or _SPOT_CODES.get(
        error.code, (170149, f"Create order failed. {error.msg}")
    )
    return BybitError(code, msg)


def _place_spot(exchange: Exchange, fields: Params) -> Order:
    symbol = str(fields.get("symbol", ""))
    link_id = str(fields.get("orderLinkId") or "")
    if link_id and not LINK_ID.fullmatch(link_id):
        raise BybitError(170130, "Data sent for parameter 'orderLinkId' is not valid.")
    if str(fields.get("orderType")) != "Market":
        raise BybitError(170116, "the emulator's Bybit dialect serves market orders only")
    if str(fields.get("isLeverage", "0")) not in ("0", ""):
        raise BybitError(170130, "the emulator's Bybit dialect serves no spot margin")
    try:
        side = {"Buy": Side.BUY, "Sell": Side.SELL}[str(fields.get("side"))]
        qty = Decimal(str(fields["qty"]))
    except (KeyError, ArithmeticError):
        raise BybitError(170130, "Data sent for parameter 'side' or 'qty' is not valid.") from None
    unit = str(fields.get("marketUnit") or "")
    if unit not in ("", "baseCoin", "quoteCoin"):
        raise BybitError(170130, "Data sent for parameter 'marketUnit' is not valid.")
    # Bybit's default: a market buy's qty is what to spend in the quote coin.
    in_quote = unit == "quoteCoin" or (unit == "" and side is Side.BUY)
    if qty <= 0:
        raise BybitError(170136, "Order quantity lower than the minimum.")
    with exchange.lock:
        if link_id and exchange.store.find(
            Segment.SPOT, symbol, order_id=None, client_order_id=link_id
        ):
            raise BybitError(170141, "Duplicate clientOrderId.")
        market = OrderRequest.market(
            symbol, side, qty, reduce_only=False, client_order_id=link_id or None
        )
        request = replace(market, qty=None, quote_qty=qty) if in_quote else market
        try:
            return exchange.place_spot_order(request, unit=unit)
        except BinanceError as error:
            raise _spot_error(error) from None


def create_order(exchange: Exchange, params: Params) -> object:
    category = params.get("category")
    if category == "spot":
        order = _place_spot(exchange, params)
    elif category == "linear":
        order = _place(exchange, params)
    else:
        raise BybitError(10001, "the emulator's Bybit dialect trades categories linear and spot")
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
    trades = [
        t
        for t in exchange.store.trades(order.segment, order.symbol)
        if t.order_id == order.order_id
    ]
    fee = sum((t.commission for t in trades), Decimal(0))
    fee_coin = trades[0].commission_asset if trades else exchange.account.quote
    spot = order.segment is Segment.SPOT
    qty = order.requested if spot and order.requested is not None else order.qty
    row: dict[str, object] = {
        "orderId": str(order.order_id),
        "orderLinkId": order.client_order_id,
        "symbol": order.symbol,
        "side": "Buy" if order.side is Side.BUY else "Sell",
        "orderType": "Market" if order.type is OrderType.MARKET else "Limit",
        "price": text(order.price),
        "qty": text(qty),
        "avgPrice": text(order.avg_price),
        "cumExecQty": text(order.executed_qty),
        "cumExecValue": text(order.cum_quote),
        "cumExecFee": text(fee),
        "cumFeeDetail": {fee_coin: text(fee)} if fee else {},
        "leavesQty": text(order.qty - order.executed_qty) if order.status.is_open else "0",
        "orderStatus": _STATUS.get(order.status, "Rejected"),
        "timeInForce": "IOC",
        "reduceOnly": order.reduce_only,
        "positionIdx": 0,
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
    }
    if spot:  # a spot row says what its qty is in, and that nothing was borrowed
        row.update({"marketUnit": order.unit, "isLeverage": "0"})
    return row


HISTORY_WINDOW_MS = 7 * 24 * 3_600_000


def history_window(params: Params, now_ms: int) -> tuple[int, int]:
    """The [start, end] in ms an order history query covers (Bybit's rules, module doc)."""
    try:
        start = int(params["startTime"]) if params.get("startTime") else None
        end = int(params["endTime"]) if params.get("endTime") else None
    except ValueError:
        raise BybitError(10001, "params error: startTime or endTime") from None
    if start is None:
        end = now_ms if end is None else end
        return end - HISTORY_WINDOW_MS, end
    if end is None:
        return start, start + HISTORY_WINDOW_MS
    if not 0 <= end - start <= HISTORY_WINDOW_MS:
        raise BybitError(10001, "The time range between startTime and endTime exceeds 7 days")
    return start, end


def orders_handler(*, open_only: bool) -> Handler:
    def handler(exchange: Exchange, params: Params) -> object:
        category = params.get("category")
        if category not in ("linear", "spot"):
            raise BybitError(10001, "params error: category")
        segment = Segment.SPOT if category == "spot" else Segment.FUTURES
        symbol = params.get("symbol")
        link_id, order_id = params.get("orderLinkId"), params.get("orderId")
        start, end = (0, 2**63) if open_only else history_window(params, exchange.now_ms())
        with exchange.lock:
            orders = [
                o
                for o in exchange.store.all_orders()
                if o.segment is segment
                and o.status.is_open == open_only
                and start <= o.created_ms <= end
                and (not symbol or o.symbol == symbol)
                and (not link_id or o.client_order_id == link_id)
                and (not order_id or str(o.order_id) == order_id)
            ]
            rows = [_order_row(exchange, o) for o in orders]
        return ok({"category": category, "list": rows, "nextPageCursor": ""})

    return handler
