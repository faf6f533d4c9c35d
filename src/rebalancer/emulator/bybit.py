"""The emulator's Bybit V5 dialect: a unified trading account over the same sim engine.

It serves the endpoints ccxt 4.5.x's `bybit` class calls for the bot (instruments-info spot and
linear, tickers, wallet-balance, position/list, fee-rate, order/create and create-batch,
order/realtime and order/history, set-leverage, switch-mode, user/query-api, account/info,
market/time), signed as Bybit checks it (`X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP`,
`X-BAPI-RECV-WINDOW`, `X-BAPI-SIGN` = HMAC-SHA256 of timestamp + key + window + query or JSON
body), answering `retCode`/`retMsg` with HTTP 200 and a create answer that is an ack only.

The account is unified: the quote lives in one wallet that fees and PnL settle into and that may
go negative (borrowed); spot coins back the perps at a collateral ratio (`unified.HAIRCUTS`, 1
for stablecoins), so `totalMarginBalance` = sum(coin value x ratio) + unrealised PnL. Order checks
and fills are the sim's (the Binance-coded rejections of `Exchange` are translated here).
Spot market orders (`order/create` with `category=spot`, `bybit_orders`) trade the account's
coins: a sale credits the one quote balance, a buy spends it (never below zero).
This module holds what the dialect shares (errors, signing, answers); the endpoints live in
`bybit_account` and `bybit_orders`, the route table in `bybit_routes`.
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


def text(value: Decimal) -> str:
    """A decimal as Bybit writes numbers: a plain string, no exponent."""
    return format(value.normalize(), "f") if value else "0"
