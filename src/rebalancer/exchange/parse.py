"""Turning ccxt's unified structures into domain values, checked at the edge.

ccxt hands back dicts of floats; here each number is converted once (`Decimal(str(x))`) and
checked, so an absurd or missing field fails the cycle with `MalformedResponse` naming the
field, before anything is planned or placed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from rebalancer.domain.market import MarketRules
from rebalancer.exchange.errors import MalformedResponse
from rebalancer.exchange.port import OrderReport, OrderState

TICK_SIZE = 4  # ccxt's precisionMode for "precision is a step", as on Binance
_STATES = {
    "closed": OrderState.FILLED,
    "open": OrderState.OPEN,
    "canceled": OrderState.CANCELED,
    "cancelled": OrderState.CANCELED,
    "rejected": OrderState.REJECTED,
    "expired": OrderState.EXPIRED,
}


def number(value: object, where: str, *, positive: bool = False, signed: bool = False) -> Decimal:
    """A finite decimal from a ccxt number or numeric string; `where` names the field."""
    if value is None or isinstance(value, bool):
        raise MalformedResponse(f"exchange answer has no number at {where}")
    if isinstance(value, float) and not math.isfinite(value):
        raise MalformedResponse(f"exchange answer has {value} at {where}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise MalformedResponse(f"exchange answer has {value!r} at {where}, not a number") from None
    if not result.is_finite():
        raise MalformedResponse(f"exchange answer has {value!r} at {where}")
    if positive and result <= 0:
        raise MalformedResponse(f"exchange answer has {result} at {where}; expected > 0")
    if not positive and not signed and result < 0:
        raise MalformedResponse(f"exchange answer has {result} at {where}; expected >= 0")
    return result


def mapping(value: object, where: str) -> Mapping[str, Any]:
    """`value` if it is a mapping; otherwise the answer is malformed at `where`."""
    if not isinstance(value, Mapping):
        raise MalformedResponse(f"exchange answer has no {where}")
    return value


def optional_number(value: object, where: str) -> Decimal | None:
    return None if value is None else number(value, where)


def market_rules(market: Mapping[str, Any], precision_mode: int) -> MarketRules:
    symbol = str(market.get("symbol"))
    where = f"markets[{symbol}]"
    precision = market.get("precision") or {}
    step = _step(precision.get("amount"), precision_mode, f"{where}.precision.amount")
    raw_tick = precision.get("price")
    tick = None if raw_tick is None else _step(raw_tick, precision_mode, f"{where}.precision.price")
    limits = market.get("limits") or {}
    min_amount = (limits.get("amount") or {}).get("min")
    min_cost = (limits.get("cost") or {}).get("min")
    return MarketRules(
        symbol=symbol,
        amount_step=step,
        min_amount=number(min_amount, f"{where}.limits.amount.min") if min_amount else step,
        min_notional=number(min_cost, f"{where}.limits.cost.min") if min_cost else Decimal(0),
        contract_size=number(
            market.get("contractSize") or 1, f"{where}.contractSize", positive=True
        ),
        taker_fee=number(market.get("taker") or 0, f"{where}.taker"),
        price_step=tick,
    )


def _step(raw: object, precision_mode: int, where: str) -> Decimal:
    """A ccxt precision as a step: the step itself (TICK_SIZE), or 10^-digits."""
    if precision_mode == TICK_SIZE:
        return number(raw, where, positive=True)
    return Decimal(1).scaleb(-int(number(raw, where)))


def is_linear_perp(market: Mapping[str, Any]) -> bool:
    """A linear perpetual swap, whatever its settle coin (listed or not: positions may remain)."""
    return bool(market.get("swap") and market.get("linear"))


def is_quote_linear_perp(market: Mapping[str, Any], quote: str) -> bool:
    return bool(
        is_linear_perp(market)
        and market.get("settle") == quote
        and market.get("quote") == quote
        and market.get("active", True) is not False
    )


def order_report(order: Mapping[str, Any], instrument: str, client_id: str) -> OrderReport:
    """An order report from ccxt's unified order (amounts in contracts).

    The answer must echo `client_id`: one about any other id raises `MalformedResponse`.
    """
    where = f"order {client_id}"
    info = order.get("info") or {}
    if isinstance(info, Mapping) and "code" in info and not order.get("id"):
        return OrderReport(
            client_id,
            instrument,
            OrderState.REJECTED,
            error_code=_int_or_none(info.get("code")),
            error=str(info.get("msg", "rejected")),
        )
    echoed = order.get("clientOrderId")
    if echoed != client_id:
        # Never take another order's answer as ours (a fill we did not make, a state not ours).
        raise MalformedResponse(
            f"exchange answer is about client id {echoed!r}, not {client_id!r}; not taken as ours"
        )
    status = order.get("status")
    state = _STATES.get(str(status), OrderState.UNKNOWN) if status is not None else OrderState.OPEN
    filled = number(order.get("filled") or 0, f"{where}.filled")
    amount = optional_number(order.get("amount"), f"{where}.amount")
    if state is OrderState.OPEN and filled > 0:
        state = OrderState.PARTIALLY_FILLED
    if state is OrderState.CANCELED and filled > 0 and amount is not None and filled < amount:
        state = OrderState.PARTIALLY_FILLED
    average = order.get("average") or order.get("price")
    fee = order.get("fee") or {}
    fee_cost = fee.get("cost") if isinstance(fee, Mapping) else None
    return OrderReport(
        client_id=client_id,
        instrument=instrument,
        state=state,
        exchange_id=str(order["id"]) if order.get("id") else None,
        filled=filled,
        average_price=number(average, f"{where}.average", positive=True) if filled else None,
        fee=optional_number(fee_cost, f"{where}.fee.cost"),
        fee_currency=str(fee.get("currency"))
        if isinstance(fee, Mapping) and fee.get("currency")
        else None,
    )


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None
