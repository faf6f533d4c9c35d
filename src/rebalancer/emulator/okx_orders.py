"""The emulator's OKX V5 order endpoints (see `emulator.okx`): order and batch-orders answer
per item `sCode`/`sMsg` (overall code 0, 1 when every item failed, 2 when some did); an order
is read back by `ordId` or `clOrdId`, and fills by instrument or order.

A SPOT `instId` (`BTC-USDT`) places a spot market order on the account's coins: `tdMode=cash`
only (spot margin is not emulated), `sz` in the base currency when `tgtCcy=base_ccy` and, as OKX
does, in the quote currency for a market buy that leaves `tgtCcy` out (or says `quote_ccy`);
`sz` on the spot lot grid. The fee is charged in the currency received (base on a buy, quote on a
sale), written negative in `fee` with its `feeCcy`. Refusals answer OKX's codes (51008
insufficient balance, 51020 below the minimum, 51121 off the lot grid, 51016 duplicate
`clOrdId`)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from rebalancer.emulator.errors import BinanceError
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.okx import (
    CL_ORD_ID,
    MAX_BATCH,
    OkxError,
    Params,
    ct_val,
    lot,
    ok,
    spot_id,
    swap_id,
    swap_of,
    swap_spec,
    text,
    translated,
)
from rebalancer.emulator.orders import Order, OrderStatus, Segment
from rebalancer.emulator.params import OrderRequest
from rebalancer.sim import Side, SpotSpec


def _spot_spec(exchange: Exchange, inst_id: str) -> SpotSpec | None:
    return next((s for s in exchange.account.spot.markets if spot_id(s) == inst_id), None)


def _place_spot(exchange: Exchange, spec: SpotSpec, fields: Params) -> Order:
    cl_ord_id = str(fields.get("clOrdId") or "")
    if cl_ord_id and not CL_ORD_ID.fullmatch(cl_ord_id):
        raise OkxError(51000, "Parameter clOrdId error")
    if fields.get("tdMode") != "cash":
        raise OkxError(51000, "Parameter tdMode error: the emulator serves spot in cash mode only")
    if fields.get("ordType") != "market":
        raise OkxError(51000, "Parameter ordType error: the emulator serves market orders only")
    try:
        side = {"buy": Side.BUY, "sell": Side.SELL}[str(fields.get("side"))]
        size = Decimal(str(fields["sz"]))
    except (KeyError, InvalidOperation):
        raise OkxError(51000, "Parameter side or sz error") from None
    target = str(fields.get("tgtCcy") or "")
    if target not in ("", "base_ccy", "quote_ccy"):
        raise OkxError(51000, "Parameter tgtCcy error")
    in_quote = target == "quote_ccy" or (target == "" and side is Side.BUY)
    if size <= 0:
        raise OkxError(51000, "Parameter sz error")
    if not in_quote and size % spec.step_size:
        raise OkxError(
            51121, f"Order quantity must be a multiple of the lot size {text(spec.step_size)}"
        )
    with exchange.lock:
        if cl_ord_id and exchange.store.find(
            Segment.SPOT, spec.symbol, order_id=None, client_order_id=cl_ord_id
        ):
            raise OkxError(51016, "Duplicated clOrdId")
        market = OrderRequest.market(
            spec.symbol, side, size, reduce_only=False, client_order_id=cl_ord_id or None
        )
        request = replace(market, qty=None, quote_qty=size) if in_quote else market
        try:
            return exchange.place_spot_order(request, unit=target)
        except BinanceError as error:
            raise _spot_error(error, spec, side) from None


def _spot_error(error: BinanceError, spec: SpotSpec, side: Side) -> OkxError:
    if isinstance(error, OkxError):
        return error
    if "insufficient balance" in error.msg:
        paid = spec.quote if side is Side.BUY else spec.base
        return OkxError(51008, f"Order failed. Insufficient {paid} balance in account")
    if error.code == -1013:
        return OkxError(51020, "Order amount should be greater than the min available amount")
    return translated(error)


def _place(exchange: Exchange, fields: Params) -> Order:
    spot = _spot_spec(exchange, str(fields.get("instId", "")))
    if spot is not None:
        return _place_spot(exchange, spot, fields)
    spec = swap_spec(exchange, str(fields.get("instId", "")))
    cl_ord_id = str(fields.get("clOrdId") or "")
    if cl_ord_id and not CL_ORD_ID.fullmatch(cl_ord_id):
        raise OkxError(51000, "Parameter clOrdId error")
    if fields.get("tdMode") not in ("cross", "isolated"):
        raise OkxError(51000, "Parameter tdMode error")
    pos_side = fields.get("posSide")
    if exchange.dual_side_position and pos_side not in ("long", "short"):
        raise OkxError(51000, "Parameter posSide error")
    if not exchange.dual_side_position and pos_side not in (None, "", "net"):
        raise OkxError(51000, "Parameter posSide error")
    if fields.get("ordType") != "market":
        raise OkxError(51000, "Parameter ordType error: the emulator serves market orders only")
    try:
        side = {"buy": Side.BUY, "sell": Side.SELL}[str(fields.get("side"))]
        contracts = Decimal(str(fields["sz"]))
    except (KeyError, InvalidOperation):
        raise OkxError(51000, "Parameter side or sz error") from None
    if contracts <= 0 or contracts % lot(spec):
        raise OkxError(51121, f"Order quantity must be a multiple of the lot size {lot(spec)}")
    with exchange.lock:
        if cl_ord_id and exchange.store.find(
            Segment.FUTURES, spec.symbol, order_id=None, client_order_id=cl_ord_id
        ):
            raise OkxError(51016, "Duplicated clOrdId")
        request = OrderRequest.market(
            spec.symbol,
            side,
            contracts * ct_val(spec),
            reduce_only=fields.get("reduceOnly") in (True, "true", "True"),
            client_order_id=cl_ord_id or None,
        )
        try:
            return exchange.place_futures_order(request)
        except BinanceError as error:
            raise translated(error) from None


def _item(exchange: Exchange, fields: object) -> dict[str, str]:
    entry = fields if isinstance(fields, dict) else {}
    try:
        order = _place(exchange, entry)
    except OkxError as error:
        return {
            "clOrdId": str(entry.get("clOrdId", "")),
            "ordId": "",
            "tag": "",
            "ts": str(exchange.now_ms()),
            "sCode": str(error.code),
            "sMsg": error.msg,
        }
    return {
        "clOrdId": order.client_order_id,
        "ordId": str(order.order_id),
        "tag": "",
        "ts": str(order.created_ms),
        "sCode": "0",
        "sMsg": "Order placed",
    }


def _answer(items: list[dict[str, str]]) -> dict[str, object]:
    failed = sum(1 for i in items if i["sCode"] != "0")
    if not failed:
        return ok(items)
    if failed == len(items):
        return ok(items, "1", "All operations failed")
    return ok(items, "2", "Bulk operation partially succeeded")


def create_order(exchange: Exchange, params: Any) -> object:
    if not isinstance(params, dict):
        raise OkxError(50002, "JSON syntax error")
    return _answer([_item(exchange, params)])


def batch_orders(exchange: Exchange, params: Any) -> object:
    if not isinstance(params, list) or not 1 <= len(params) <= MAX_BATCH:
        raise OkxError(51000, f"Parameter error: a batch holds 1 to {MAX_BATCH} orders")
    return _answer([_item(exchange, entry) for entry in params])


_STATE = {
    OrderStatus.NEW: "live",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.EXPIRED: "canceled",
}


def _fee(exchange: Exchange, order: Order) -> Decimal:
    trades = exchange.store.trades(Segment.FUTURES, order.symbol)
    return sum((t.commission for t in trades if t.order_id == order.order_id), Decimal(0))


def _order_row(exchange: Exchange, order: Order) -> dict[str, object]:
    spec = swap_of(exchange, order.symbol)
    size = ct_val(spec)
    avg = text(order.avg_price) if order.executed_qty else ""
    return {
        "instType": "SWAP",
        "instId": swap_id(spec),
        "ordId": str(order.order_id),
        "clOrdId": order.client_order_id,
        "tag": "",
        "px": "",
        "sz": text(order.qty / size),
        "ordType": "market",
        "side": "buy" if order.side is Side.BUY else "sell",
        "posSide": "net",
        "tdMode": "cross",
        "accFillSz": text(order.executed_qty / size),
        "fillPx": avg,
        "fillSz": text(order.executed_qty / size),
        "avgPx": avg,
        "state": _STATE.get(order.status, "canceled"),
        "lever": str(exchange.account.leverage(order.symbol)),
        "fee": text(-_fee(exchange, order)),  # OKX writes a fee paid as negative
        "feeCcy": exchange.account.quote,
        "rebate": "0",
        "rebateCcy": exchange.account.quote,
        "pnl": "0",
        "category": "normal",
        "reduceOnly": "true" if order.reduce_only else "false",
        "cTime": str(order.created_ms),
        "uTime": str(order.updated_ms),
        "fillTime": str(order.updated_ms) if order.executed_qty else "",
    }


def _spot_row(exchange: Exchange, spec: SpotSpec, order: Order) -> dict[str, object]:
    trades = [
        t for t in exchange.store.trades(Segment.SPOT, spec.symbol) if t.order_id == order.order_id
    ]
    fee = sum((t.commission for t in trades), Decimal(0))
    received = spec.base if order.side is Side.BUY else spec.quote
    avg = text(order.avg_price) if order.executed_qty else ""
    size = order.requested if order.requested is not None else order.qty
    return {
        "instType": "SPOT",
        "instId": spot_id(spec),
        "ordId": str(order.order_id),
        "clOrdId": order.client_order_id,
        "tag": "",
        "px": "",
        "sz": text(size),
        "tgtCcy": order.unit,
        "ordType": "market",
        "side": "buy" if order.side is Side.BUY else "sell",
        "posSide": "",
        "tdMode": "cash",
        "ccy": "",
        "accFillSz": text(order.executed_qty),
        "fillPx": avg,
        "fillSz": text(order.executed_qty),
        "avgPx": avg,
        "state": _STATE.get(order.status, "canceled"),
        "lever": "",
        "fee": text(-fee),  # OKX writes a fee paid as negative, in the currency received
        "feeCcy": trades[0].commission_asset if trades else received,
        "rebate": "0",
        "rebateCcy": spec.quote if order.side is Side.BUY else spec.base,
        "pnl": "0",
        "category": "normal",
        "reduceOnly": "false",
        "cTime": str(order.created_ms),
        "uTime": str(order.updated_ms),
        "fillTime": str(order.updated_ms) if order.executed_qty else "",
    }


def get_order(exchange: Exchange, params: Params) -> object:
    inst_id = str(params.get("instId", ""))
    spot = _spot_spec(exchange, inst_id)
    symbol = spot.symbol if spot is not None else swap_spec(exchange, inst_id).symbol
    ord_id, cl_ord_id = params.get("ordId"), params.get("clOrdId")
    if not ord_id and not cl_ord_id:
        raise OkxError(51000, "Parameter ordId or clOrdId error")
    with exchange.lock:
        order = exchange.store.find(
            Segment.SPOT if spot is not None else Segment.FUTURES,
            symbol,
            order_id=int(ord_id) if ord_id and str(ord_id).isdigit() else None,
            client_order_id=cl_ord_id or None,
        )
        if order is None or (ord_id and str(order.order_id) != str(ord_id)):
            raise OkxError(51603, "Order does not exist")
        if spot is not None:
            return ok([_spot_row(exchange, spot, order)])
        return ok([_order_row(exchange, order)])


def fills(exchange: Exchange, params: Params) -> object:
    inst_id, ord_id = params.get("instId"), params.get("ordId")
    rows: list[dict[str, object]] = []
    with exchange.lock:
        for spec in exchange.account.perps:
            if inst_id and swap_id(spec) != inst_id:
                continue
            size = ct_val(spec)
            for trade in exchange.store.trades(Segment.FUTURES, spec.symbol):
                if ord_id and str(trade.order_id) != str(ord_id):
                    continue
                rows.append(
                    {
                        "instType": "SWAP",
                        "instId": swap_id(spec),
                        "tradeId": str(trade.trade_id),
                        "ordId": str(trade.order_id),
                        "clOrdId": _client_id(exchange, spec.symbol, trade.order_id),
                        "billId": str(trade.trade_id),
                        "tag": "",
                        "fillPx": text(trade.price),
                        "fillSz": text(trade.qty / size),
                        "side": "buy" if trade.side is Side.BUY else "sell",
                        "posSide": "net",
                        "execType": "M" if trade.maker else "T",
                        "feeCcy": trade.commission_asset,
                        "fee": text(-trade.commission),
                        "ts": str(trade.time_ms),
                        "fillTime": str(trade.time_ms),
                    }
                )
    return ok(rows)


def _client_id(exchange: Exchange, symbol: str, order_id: int) -> str:
    order = exchange.store.find(Segment.FUTURES, symbol, order_id=order_id, client_order_id=None)
    return order.client_order_id if order is not None else ""
