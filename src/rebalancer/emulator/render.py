"""Binance JSON for orders and trades: field names and string-encoded numbers as the venue
returns them, so ccxt's parsers see what they see in production.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from rebalancer.emulator.orders import Order, OrderStatus, Trade
from rebalancer.sim import Side

Json = dict[str, object]
_DISPLAY_QUANTUM = Decimal("1e-8")


def fmt(value: Decimal, places: int | None = None) -> str:
    """A Binance number string: fixed `places` (spot style, "0.00100000") or shortest form."""
    if places is not None:
        return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")
    shortest = value.quantize(_DISPLAY_QUANTUM, rounding=ROUND_HALF_EVEN).normalize()
    return format(shortest, "f") if shortest else "0"


def futures_order(order: Order, *, with_time: bool = True) -> Json:
    body: Json = {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status.value,
        "clientOrderId": order.client_order_id,
        "price": fmt(order.price),
        "avgPrice": fmt(order.avg_price),
        "origQty": fmt(order.qty),
        "executedQty": fmt(order.executed_qty),
        "cumQty": fmt(order.executed_qty),
        "cumQuote": fmt(order.cum_quote),
        "timeInForce": order.time_in_force,
        "type": order.type.value,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side.value,
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.type.value,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "updateTime": order.updated_ms,
    }
    if with_time:
        body["time"] = order.created_ms
    return body


def futures_ack(order: Order) -> Json:
    return {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "clientOrderId": order.client_order_id,
        "updateTime": order.updated_ms,
    }


def spot_order(order: Order, trades: list[Trade] | None = None) -> Json:
    """GET /api/v3/order shape; with `trades` it is the FULL answer of a new order."""
    body: Json = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": fmt(order.price, 8),
        "origQty": fmt(order.qty, 8),
        "executedQty": fmt(order.executed_qty, 8),
        "origQuoteOrderQty": "0.00000000",
        "cummulativeQuoteQty": fmt(order.cum_quote, 8),
        "status": order.status.value,
        "timeInForce": order.time_in_force,
        "type": order.type.value,
        "side": order.side.value,
        "workingTime": order.created_ms,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }
    if trades is None:
        body.update(
            {
                "stopPrice": "0.00000000",
                "icebergQty": "0.00000000",
                "time": order.created_ms,
                "updateTime": order.updated_ms,
                "isWorking": order.status is OrderStatus.NEW,
            }
        )
    else:
        body["transactTime"] = order.updated_ms
        body["fills"] = [
            {
                "price": fmt(t.price, 8),
                "qty": fmt(t.qty, 8),
                "commission": fmt(t.commission, 8),
                "commissionAsset": t.commission_asset,
                "tradeId": t.trade_id,
            }
            for t in trades
        ]
    return body


def futures_trade(trade: Trade) -> Json:
    return {
        "buyer": trade.side is Side.BUY,
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "id": trade.trade_id,
        "maker": trade.maker,
        "orderId": trade.order_id,
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "quoteQty": fmt(trade.quote_qty),
        "realizedPnl": fmt(trade.realized_pnl),
        "side": trade.side.value,
        "positionSide": "BOTH",
        "symbol": trade.symbol,
        "time": trade.time_ms,
    }


def spot_trade(trade: Trade) -> Json:
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": fmt(trade.price, 8),
        "qty": fmt(trade.qty, 8),
        "quoteQty": fmt(trade.quote_qty, 8),
        "commission": fmt(trade.commission, 8),
        "commissionAsset": trade.commission_asset,
        "time": trade.time_ms,
        "isBuyer": trade.side is Side.BUY,
        "isMaker": trade.maker,
        "isBestMatch": True,
    }
