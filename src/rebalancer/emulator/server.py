"""The HTTP shell: a threaded loopback server that authenticates, meters, logs and fault-injects
requests before handing them to the routes, and the `Emulator` object tests drive.

One thread per connection (`ThreadingHTTPServer`), HTTP/1.1 keep-alive, latency slept outside
the exchange lock so concurrent requests overlap instead of queueing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from rebalancer.config.model import EMULATED_VENUES
from rebalancer.emulator import bybit, bybit_routes, control, okx, okx_routes
from rebalancer.emulator.auth import verify_signed_request
from rebalancer.emulator.errors import BinanceError, order_not_found, unknown_execution
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.faults import BodyKind, Fault, FaultKind, FaultPlan
from rebalancer.emulator.routes import ROUTES
from rebalancer.emulator.state import EmulatorState, default_state
from rebalancer.emulator.unified import unify
from rebalancer.emulator.weights import WeightMeter, request_weight, weight_header

_HTML_BODIES = {
    status: f"<html><head><title>{status} {title}</title></head><body><h1>{status} {title}</h1>"
    "</body></html>"
    for status, title in (
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Temporarily Unavailable"),
        (504, "Gateway Time-out"),
    )
}
_JSON_BODIES = {
    418: (-1003, "Way too many requests; IP(127.0.0.1) banned until 1700000000000."),
    429: (-1003, "Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute."),
    500: (-1001, "Internal error; unable to process your request. Please try again."),
    502: (-1001, "Internal error; unable to process your request. Please try again."),
    503: (-1008, "Service Unavailable."),
    504: (-1007, "Timeout waiting for response from backend server."),
}


VENUES = EMULATED_VENUES


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One served request; `status` 0 means the connection was dropped without an answer."""

    method: str
    path: str
    weight: int
    status: int


class _Reply:
    """What to write back: status, headers, body; or nothing at all (connection dropped)."""

    def __init__(self, status: int, body: str, content_type: str = "application/json") -> None:
        self.status = status
        self.body = body
        self.headers: dict[str, str] = {"Content-Type": content_type}


DROP = _Reply(0, "")


def _json_reply(status: int, payload: object) -> _Reply:
    return _Reply(status, json.dumps(payload, separators=(",", ":")))


class Emulator:
    """A Binance spot + USDⓈ-M REST emulator on 127.0.0.1.

    Use as a context manager or call `start()`/`stop()`; `base_url` is valid once started.
    """

    def __init__(
        self,
        state: EmulatorState | None = None,
        *,
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
        venue: str = "binance",
    ) -> None:
        if venue not in VENUES:
            raise ValueError(f"the emulator speaks {', '.join(VENUES)}, not {venue!r}")
        self.venue = venue
        self.exchange = Exchange(state or default_state(), clock or (lambda: datetime.now(UTC)))
        if venue in ("bybit", "okx"):
            unify(self.exchange)
        self.faults = FaultPlan()
        self.meter = WeightMeter()
        self._port = port
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Emulator:
        handler = type("_BoundHandler", (_Handler,), {"emulator": self})
        server = ThreadingHTTPServer(("127.0.0.1", self._port), handler, bind_and_activate=False)
        # Many clients connect at once under test; the default backlog of 5 would make the
        # kernel drop SYNs and stall connections for a second.
        server.request_queue_size = 256
        server.daemon_threads = True
        server.server_bind()
        server.server_activate()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="binance-emulator"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test controls --------------------------------------------------------------------------

    def set_latency(self, seconds: Decimal) -> None:
        self.faults.set_latency(seconds)

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    def set_mark_price(self, symbol: str, price: Decimal) -> None:
        self.exchange.set_mark_price(symbol, price)

    def set_spot_price(self, symbol: str, price: Decimal) -> None:
        self.exchange.set_spot_price(symbol, price)

    def set_funding_rate(self, symbol: str, rate: Decimal) -> None:
        self.exchange.set_funding_rate(symbol, rate)

    def apply_funding(self, at: datetime | None = None) -> None:
        self.exchange.apply_funding(at)

    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    # -- request pipeline -----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: str) -> _Reply:
        parts = urlsplit(target)
        path = parts.path
        if path.startswith(control.PREFIX):
            status, payload = control.handle(self, method, path, body)
            return _json_reply(status, payload)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.exchange.settle_due()  # the venue pays funding on its own schedule
        if self.venue == "bybit":
            return self._logged(
                method, path, 1, self._dispatch_bybit(method, path, parts.query, headers, body)
            )
        if self.venue == "okx":
            return self._logged(
                method, path, 1, self._dispatch_okx(method, path, parts.query, headers, body)
            )
        params.update(parse_qsl(body, keep_blank_values=True))
        weight = request_weight(method, path, params)
        used = self.meter.add(path, weight, time.monotonic())
        reply = self._dispatch(
            method=method, path=path, query=parts.query, body=body, params=params, headers=headers
        )
        if reply is not DROP:
            reply.headers[weight_header(path)] = str(used)
        return self._logged(method, path, weight, reply)

    def _logged(self, method: str, path: str, weight: int, reply: _Reply) -> _Reply:
        with self._log_lock:
            self._log.append(RequestRecord(method, path, weight, reply.status))
        return reply

    def _dispatch_bybit(
        self, method: str, path: str, query: str, headers: dict[str, str], body: str
    ) -> _Reply:
        """The Bybit V5 dialect: JSON bodies, header signing, retCode answers with HTTP 200."""
        latency = self.faults.latency
        if latency > 0:
            time.sleep(float(latency))
        route = bybit_routes.ROUTES.get((method, path))
        if route is None:
            return _json_reply(404, {"retCode": 10001, "retMsg": f"{method} {path} not found"})
        handler, signed = route
        fault = self.faults.take(method, path)
        asked = dict(parse_qsl(query, keep_blank_values=True)).get("category", "linear")
        if fault is not None and not fault.executed:
            return _bybit_fault(fault, asked)
        try:
            if signed:
                payload = body if method == "POST" else query
                bybit.verify(headers, payload, self.exchange.state.api_keys, self.exchange.now_ms())
            params = bybit.params_of(method, dict(parse_qsl(query, keep_blank_values=True)), body)
            answer = handler(self.exchange, params)
        except BinanceError as error:
            answer = bybit.translated(error).body()
        if fault is not None:
            return _bybit_fault(fault, asked)
        body_out = dict(answer) if isinstance(answer, dict) else {"result": answer}
        return _json_reply(200, {**body_out, "time": self.exchange.now_ms()})

    def _dispatch_okx(
        self, method: str, path: str, query: str, headers: dict[str, str], body: str
    ) -> _Reply:
        """The OKX V5 dialect: JSON bodies, header signing, `code` answers with HTTP 200."""
        latency = self.faults.latency
        if latency > 0:
            time.sleep(float(latency))
        route = okx_routes.ROUTES.get((method, path))
        if route is None:
            return _json_reply(404, {"code": "50000", "msg": f"{method} {path} not found"})
        handler, signed = route
        fault = self.faults.take(method, path)
        if fault is not None and not fault.executed:
            return _okx_fault(fault)
        try:
            if signed:
                target = path + (f"?{query}" if query else "")
                okx.verify(
                    headers,
                    method + target + (body if method == "POST" else ""),
                    self.exchange.state.api_keys,
                    self.exchange.now_ms(),
                )
            params = okx.params_of(method, dict(parse_qsl(query, keep_blank_values=True)), body)
            answer, status = handler(self.exchange, params), 200
        except BinanceError as error:
            refusal = okx.translated(error)
            answer, status = refusal.body(), refusal.status
        if fault is not None:
            return _okx_fault(fault)
        return _json_reply(status, answer)

    def _dispatch(
        self,
        *,
        method: str,
        path: str,
        query: str,
        body: str,
        params: dict[str, str],
        headers: dict[str, str],
    ) -> _Reply:
        latency = self.faults.latency
        if latency > 0:
            time.sleep(float(latency))
        route = ROUTES.get((method, path))
        if route is None:
            return _json_reply(
                404, {"code": -5000, "msg": f"Path {path}, Method {method} is invalid"}
            )
        fault = self.faults.take(method, path)
        if fault is not None and not fault.executed:
            return _fault_reply(fault)
        try:
            if route.signed:
                verify_signed_request(
                    api_key=headers.get("x-mbx-apikey"),
                    raw_query=query,
                    raw_body=body,
                    params=params,
                    secrets=self.exchange.state.api_keys,
                    now_ms=self.exchange.now_ms(),
                )
            payload = route.handler(self.exchange, params)
        except BinanceError as error:
            return _json_reply(error.status, error.body())
        if fault is not None:
            return _fault_reply(fault)
        return _json_reply(200, payload)


def _fault_reply(fault: Fault) -> _Reply:
    if fault.kind is FaultKind.RESPONSE_LOST:
        return DROP
    if fault.kind is FaultKind.MALFORMED:
        return _Reply(200, fault.raw_body)
    if fault.kind is FaultKind.TIMEOUT_UNKNOWN:
        error = unknown_execution()
        return _json_reply(error.status, error.body())
    if fault.kind is FaultKind.BINANCE_ERROR:
        return _json_reply(fault.status, {"code": fault.code, "msg": fault.msg})
    if fault.kind is FaultKind.NOT_YET_VISIBLE:
        error = order_not_found()
        return _json_reply(error.status, error.body())
    if fault.body is BodyKind.HTML and fault.status in _HTML_BODIES:
        reply = _Reply(fault.status, _HTML_BODIES[fault.status], "text/html")
    else:
        code, msg = _JSON_BODIES.get(fault.status, (-1000, "An unknown error occurred."))
        reply = _json_reply(fault.status, {"code": code, "msg": msg})
    if fault.status in (418, 429):
        reply.headers["Retry-After"] = str(fault.retry_after)
    return reply


def _bybit_fault(fault: Fault, category: str) -> _Reply:
    """Bybit's answer to an armed fault; a lookup's empty list names the `category` asked for."""
    if fault.kind in (FaultKind.RESPONSE_LOST, FaultKind.MALFORMED):
        return _fault_reply(fault)
    if fault.kind is FaultKind.BINANCE_ERROR:  # a venue error code, whatever the venue
        return _json_reply(200, bybit.BybitError(fault.code, fault.msg).body())
    if fault.kind is FaultKind.TIMEOUT_UNKNOWN:
        return _json_reply(200, bybit.BybitError(10016, "Internal System Error.").body())
    if fault.kind is FaultKind.NOT_YET_VISIBLE:  # Bybit's lookups answer an empty list
        return _json_reply(200, bybit.ok({"category": category, "list": [], "nextPageCursor": ""}))
    if fault.status == 429:
        reply = _json_reply(200, bybit.BybitError(10006, "Too many visits!").body())
        reply.headers["X-Bapi-Limit-Reset-Timestamp"] = "0"
        return reply
    return _fault_reply(fault)


def _okx_fault(fault: Fault) -> _Reply:
    if fault.kind in (FaultKind.RESPONSE_LOST, FaultKind.MALFORMED):
        return _fault_reply(fault)
    if fault.kind is FaultKind.BINANCE_ERROR:  # a venue error code, whatever the venue
        return _json_reply(200, okx.OkxError(fault.code, fault.msg).body())
    if fault.kind is FaultKind.TIMEOUT_UNKNOWN:
        return _json_reply(200, okx.OkxError(50004, "Endpoint request timeout.").body())
    if fault.kind is FaultKind.NOT_YET_VISIBLE:  # OKX's lookup by clOrdId: 51603
        return _json_reply(200, okx.OkxError(51603, "Order does not exist").body())
    if fault.status == 429:
        reply = _json_reply(429, okx.OkxError(50011, "Too Many Requests").body())
        reply.headers["Retry-After"] = str(fault.retry_after)
        return reply
    return _fault_reply(fault)


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"
    server_version = "binance-emulator"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.emulator.handle(self.command, self.path, headers, body)
        if reply is DROP:
            self.close_connection = True
            return
        payload = reply.body.encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve  # noqa: N815 - BaseHTTPRequestHandler dispatches on these names
    do_POST = _serve  # noqa: N815
    do_PUT = _serve  # noqa: N815
    do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default per-request stderr line; the emulator keeps its own log."""
