"""The emulator's OKX V5 dialect: a multi-currency margin account (level 3) over the same sim.

It serves the endpoints ccxt 4.5.x's `okx` class calls for the bot (public instruments SPOT and
SWAP, mark-price, funding-rate, market tickers, public time, asset currencies, account config,
balance, positions, trade-fee, leverage-info and set-leverage, trade order, batch-orders, order
lookup by `clOrdId`, fills, the account's bills and their archive), signed as OKX checks it
(`OK-ACCESS-KEY`, `OK-ACCESS-PASSPHRASE`, `OK-ACCESS-TIMESTAMP` in ISO 8601, `OK-ACCESS-SIGN` =
base64 HMAC-SHA256 of timestamp + method + path with query + body), answering
`{"code": "0", "msg": "", "data": [...]}` with per-item `sCode`/`sMsg` for orders.

Swap amounts are contracts: `CT_VAL` base units each (BTC 0.01, ETH 0.1, otherwise the sim's
step), lot size = the sim's step / `ctVal`, so the sim sees base units as on the other dialects.
The account is unified (`unified.unify`): coins back the perps at a haircut, `adjEq` = coins x
haircut + USDT + unrealised PnL, the USDT `cashBal` goes negative when borrowed (`liab`).
Spot market orders (a SPOT `instId` on `trade/order`, `tdMode=cash`, `okx_orders`) trade the
account's coins: a sale credits the USDT balance, a buy spends it (never below zero).
This module holds what the dialect shares (ids, errors, signing, answers); the endpoints live
in `okx_account`, `okx_orders` and `okx_bills`, the route table in `okx_routes`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from rebalancer.emulator.errors import BinanceError
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.state import DEFAULT_API_PASSPHRASE
from rebalancer.sim import PerpSpec, SpotSpec

CT_VAL = {"BTC": Decimal("0.01"), "ETH": Decimal("0.1")}
CL_ORD_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
MAX_BATCH = 20
TIMESTAMP_WINDOW_MS = 30_000

Params = Mapping[str, Any]
Handler = Callable[[Exchange, Any], object]


class OkxError(BinanceError):
    """An OKX refusal: `code` non-zero, HTTP 200 unless `status` says otherwise."""

    def __init__(self, code: int, msg: str, *, status: int = 200) -> None:
        super().__init__(code, msg, status=status)

    def body(self) -> dict[str, object]:
        return {"code": str(self.code), "msg": self.msg, "data": []}


# Binance codes of the shared `Exchange` -> what OKX answers for the same refusal.
_TRANSLATED = {
    -1121: (51001, "Instrument ID does not exist"),
    -1111: (51121, "Order quantity must be a multiple of the lot size"),
    -4003: (51000, "Parameter sz error"),
    -4004: (51020, "Order amount should be greater than the min available amount"),
    -2022: (51169, "Order failed because you don't have any positions to reduce"),
    -2019: (51008, "Order failed. Insufficient USDT margin in account"),
    -4164: (51020, "Order amount should be greater than the min available amount"),
    -4116: (51016, "Duplicated clOrdId"),
    -2013: (51603, "Order does not exist"),
}


def translated(error: BinanceError) -> OkxError:
    if isinstance(error, OkxError):
        return error
    code, msg = _TRANSLATED.get(error.code, (50026, f"System error. {error.msg}"))
    return OkxError(code, msg)


# -- instruments -------------------------------------------------------------------------------


def spot_id(spec: SpotSpec) -> str:
    return f"{spec.base}-{spec.quote}"


def swap_id(spec: PerpSpec) -> str:
    return f"{spec.base}-{spec.quote}-SWAP"


def ct_val(spec: PerpSpec) -> Decimal:
    return CT_VAL.get(spec.base, spec.step_size)


def lot(spec: PerpSpec) -> Decimal:
    return spec.step_size / ct_val(spec)


def swap_spec(exchange: Exchange, inst_id: str) -> PerpSpec:
    for spec in exchange.account.perps:
        if swap_id(spec) == inst_id:
            return spec
    raise OkxError(51001, f"Instrument ID {inst_id} does not exist")


def swap_of(exchange: Exchange, symbol: str) -> PerpSpec:
    spec = exchange.account.perp_spec(symbol)
    if spec is None:
        raise OkxError(51001, f"Instrument ID {symbol} does not exist")
    return spec


# -- signing -------------------------------------------------------------------------------------


def verify(
    headers: Mapping[str, str],
    prehash_tail: str,
    secrets: Mapping[str, str],
    now_ms: int,
) -> None:
    """`prehash_tail` is method + request path (with query) + body."""
    key = headers.get("ok-access-key")
    secret = secrets.get(key or "")
    if secret is None:
        raise OkxError(50111, "Invalid OK-ACCESS-KEY", status=401)
    if headers.get("ok-access-passphrase") != DEFAULT_API_PASSPHRASE:
        raise OkxError(50105, "Invalid OK-ACCESS-PASSPHRASE", status=401)
    stamp = headers.get("ok-access-timestamp", "")
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise OkxError(50112, "Invalid OK-ACCESS-TIMESTAMP", status=401) from None
    signed = (stamp + prehash_tail).encode()
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest())
    if not hmac.compare_digest(expected.decode(), headers.get("ok-access-sign", "")):
        raise OkxError(50113, "Invalid Sign", status=401)
    if abs(now_ms - int(moment.timestamp() * 1000)) > TIMESTAMP_WINDOW_MS:
        raise OkxError(50102, "Timestamp request expired", status=401)


def params_of(method: str, query: Mapping[str, str], body: str) -> Any:
    """The query for GET; the decoded JSON body (an object, or a list for batches) for POST."""
    if method != "POST":
        return dict(query)
    if not body:
        return {}
    try:
        decoded = json.loads(body)
    except json.JSONDecodeError:
        raise OkxError(50002, "JSON syntax error") from None
    if not isinstance(decoded, dict | list):
        raise OkxError(50002, "JSON syntax error")
    return decoded


def ok(data: list[Any], code: str = "0", msg: str = "") -> dict[str, object]:
    return {"code": code, "msg": msg, "data": data}


def text(value: Decimal) -> str:
    """A decimal as OKX writes numbers: a plain string, no exponent."""
    return format(value.normalize(), "f") if value else "0"
