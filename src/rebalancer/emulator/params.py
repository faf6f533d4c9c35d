"""Request parameters: Binance's string parameters turned into typed values at the edge.

Missing or malformed parameters raise the `BinanceError` Binance sends (-1102 / -1100 / -1117 /
-1116), so handlers only ever see well-typed requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rebalancer.emulator.errors import BinanceError, bad_param
from rebalancer.emulator.orders import OrderType
from rebalancer.sim import Side


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise bad_param(name)
    return value


def decimal_param(params: Mapping[str, str], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from exc
    if not value.is_finite():
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")
    return value


def int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from exc


def bool_param(params: Mapping[str, str], name: str) -> bool:
    return params.get(name, "false").lower() == "true"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal | None
    quote_qty: Decimal | None
    price: Decimal | None
    time_in_force: str
    reduce_only: bool
    client_order_id: str | None
    position_side: str | None
    response_type: str | None

    @classmethod
    def market(
        cls,
        symbol: str,
        side: Side,
        qty: Decimal,
        *,
        reduce_only: bool,
        client_order_id: str | None,
    ) -> OrderRequest:
        """An immediate-or-cancel market order, as the Bybit and OKX dialects place them."""
        return cls(
            symbol=symbol,
            side=side,
            type=OrderType.MARKET,
            qty=qty,
            quote_qty=None,
            price=None,
            time_in_force="IOC",
            reduce_only=reduce_only,
            client_order_id=client_order_id,
            position_side=None,
            response_type=None,
        )


def parse_order_request(params: Mapping[str, str]) -> OrderRequest:
    symbol = required(params, "symbol")
    try:
        side = Side(required(params, "side"))
    except ValueError as exc:
        raise BinanceError(-1117, "Invalid side.") from exc
    try:
        order_type = OrderType(required(params, "type"))
    except ValueError as exc:
        raise BinanceError(-1116, "Invalid orderType.") from exc
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=order_type,
        qty=decimal_param(params, "quantity"),
        quote_qty=decimal_param(params, "quoteOrderQty"),
        price=decimal_param(params, "price"),
        time_in_force=params.get("timeInForce", "GTC"),
        reduce_only=bool_param(params, "reduceOnly"),
        client_order_id=params.get("newClientOrderId"),
        position_side=params.get("positionSide"),
        response_type=params.get("newOrderRespType"),
    )


def order_lookup(params: Mapping[str, str]) -> tuple[int | None, str | None]:
    """(orderId, origClientOrderId); Binance wants at least one of them."""
    order_id = int_param(params, "orderId")
    client_id = params.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise BinanceError(
            -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
        )
    return order_id, client_id
