"""The HTTP control surface under `/__emu/`, for driving an emulator in another process, and a
small client for it.

    GET    /__emu/health                        -> {"ok": true}
    POST   /__emu/latency   {"seconds": "0.05"}
    POST   /__emu/faults    {"kind": "http_status", "status": 429, "count": 2,
                             "path": "/fapi/v1/order", "method": "POST", "body": "html",
                             "retry_after": 3, "code": -1021, "msg": "...", "executed": true}
    DELETE /__emu/faults
    POST   /__emu/prices    {"spot": {"BTCUSDT": "70000"}, "mark": {"BTCUSDT": "70010"}}
    POST   /__emu/funding   {"rates": {"BTCUSDT": "0.0001"}, "apply": true,
                             "at": "2024-01-01T08:00:00+00:00"}
    GET    /__emu/requests                      -> [{"method", "path", "weight", "status"}]
    DELETE /__emu/requests
    GET    /__emu/account                       -> wallet, margin balance, positions

Not part of Binance's API: never signed, never fault-injected, never logged.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rebalancer.emulator.faults import BodyKind, Fault, FaultKind

if TYPE_CHECKING:
    from rebalancer.emulator.server import Emulator

PREFIX = "/__emu/"


def _fault_from_json(doc: dict[str, Any]) -> Fault:
    kind = FaultKind(doc["kind"])
    return Fault(
        kind=kind,
        count=int(doc.get("count", 1)),
        path=doc.get("path"),
        method=doc.get("method"),
        status=int(doc.get("status", 500)),
        body=BodyKind(doc.get("body", "json")),
        retry_after=int(doc.get("retry_after", 1)),
        code=int(doc.get("code", -1000)),
        msg=str(doc.get("msg", "")),
        executed=bool(doc.get("executed", kind is FaultKind.RESPONSE_LOST)),
    )


def _account(emulator: Emulator) -> dict[str, object]:
    account = emulator.exchange.account
    with emulator.exchange.lock:
        return {
            "wallet_balance": str(account.wallet_balance),
            "margin_balance": str(account.margin_balance()),
            "positions": {p.symbol: str(p.size) for p in account.positions()},
            "spot": {b.asset: str(b.total) for b in account.spot.balances()},
        }


def handle(emulator: Emulator, method: str, path: str, body: str) -> tuple[int, object]:
    """Serve one control request; returns (HTTP status, JSON payload)."""
    try:
        doc: dict[str, Any] = json.loads(body) if body else {}
        return _route(emulator, method, path.removeprefix(PREFIX).rstrip("/"), doc)
    except (KeyError, ValueError, TypeError) as exc:
        return 400, {"error": f"{type(exc).__name__}: {exc}"}


def _set_latency(emulator: Emulator, doc: dict[str, Any]) -> object:
    emulator.set_latency(Decimal(str(doc["seconds"])))
    return {"ok": True}


def _add_fault(emulator: Emulator, doc: dict[str, Any]) -> object:
    emulator.inject(_fault_from_json(doc))
    return {"ok": True}


def _clear_faults(emulator: Emulator, doc: dict[str, Any]) -> object:
    emulator.faults.clear()
    return {"ok": True}


def _set_prices(emulator: Emulator, doc: dict[str, Any]) -> object:
    for symbol, price in doc.get("spot", {}).items():
        emulator.set_spot_price(symbol, Decimal(str(price)))
    for symbol, price in doc.get("mark", {}).items():
        emulator.set_mark_price(symbol, Decimal(str(price)))
    return {"ok": True}


def _funding(emulator: Emulator, doc: dict[str, Any]) -> object:
    for symbol, rate in doc.get("rates", {}).items():
        emulator.set_funding_rate(symbol, Decimal(str(rate)))
    if doc.get("apply"):
        emulator.apply_funding(datetime.fromisoformat(doc["at"]) if "at" in doc else None)
    return {"ok": True}


def _requests(emulator: Emulator, doc: dict[str, Any]) -> object:
    return [asdict(r) for r in emulator.requests()]


def _clear_requests(emulator: Emulator, doc: dict[str, Any]) -> object:
    emulator.clear_requests()
    return {"ok": True}


_ROUTES: dict[tuple[str, str], Callable[[Emulator, dict[str, Any]], object]] = {
    ("GET", "health"): lambda emulator, doc: {"ok": True},
    ("POST", "latency"): _set_latency,
    ("POST", "faults"): _add_fault,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "prices"): _set_prices,
    ("POST", "funding"): _funding,
    ("GET", "requests"): _requests,
    ("DELETE", "requests"): _clear_requests,
    ("GET", "account"): lambda emulator, doc: _account(emulator),
}


def _route(emulator: Emulator, method: str, name: str, doc: dict[str, Any]) -> tuple[int, object]:
    action = _ROUTES.get((method, name))
    if action is None:
        return 404, {"error": f"no control endpoint {method} {PREFIX}{name}"}
    return 200, action(emulator, doc)


class EmulatorControl:
    """Client of the control surface of an emulator at `base_url` (loopback only)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        if not base_url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError("the emulator control client only talks to loopback")
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def call(self, method: str, name: str, doc: dict[str, Any] | None = None) -> Any:
        data = json.dumps(doc).encode() if doc is not None else None
        request = urllib.request.Request(  # noqa: S310 - scheme and host checked in __init__
            f"{self._base}{PREFIX}{name}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
            return json.loads(response.read())

    def inject(self, **fault: Any) -> None:
        self.call("POST", "faults", fault)

    def set_latency(self, seconds: str) -> None:
        self.call("POST", "latency", {"seconds": seconds})

    def set_prices(
        self, *, spot: dict[str, str] | None = None, mark: dict[str, str] | None = None
    ) -> None:
        self.call("POST", "prices", {"spot": spot or {}, "mark": mark or {}})

    def requests(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "requests")
        return result
