"""An optional loopback HTTP endpoint: `GET /healthz` for liveness, `GET /metrics` for Prometheus.

Off unless configured, and bound to 127.0.0.1 only (any other host is refused): it has no
authentication and reveals the bot's state. The judgement is a pure function, `assess`, over a
`DaemonState`; the server is a stdlib `ThreadingHTTPServer` on a background thread with a
`start`/`stop` (or `with`) life cycle, so it needs nothing from the daemon's event loop.
`/healthz` answers 503 when the circuit breaker is open, the last successful cycle is older than
`max_cycle_age`, or none succeeded within `max_cycle_age` of start-up.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self, cast
from urllib.parse import urlsplit

import structlog

from rebalancer.config.model import LOOPBACK, HealthConfig, check_loopback
from rebalancer.daemon.metrics import DaemonMetrics, DaemonState

_JSON = "application/json"
# What `generate_latest` writes; spelled out because older prometheus-client lacks the constant.
_PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Health:
    healthy: bool
    reasons: tuple[str, ...]
    state: DaemonState

    def as_json(self) -> dict[str, object]:
        age = self.state.last_success_age
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "last_successful_cycle_age_seconds": None if age is None else age.total_seconds(),
            "circuit": "open" if self.state.circuit_open else "closed",
            "halted": self.state.halted,
            "reasons": list(self.reasons),
        }


def assess(state: DaemonState, max_cycle_age: timedelta) -> Health:
    """Healthy unless the circuit is open or successful cycles stopped coming in time."""
    reasons: list[str] = []
    if state.circuit_open:
        reasons.append("circuit breaker is open")
    age = state.last_success_age
    if age is None:
        uptime = state.now - state.started_at
        if uptime > max_cycle_age:
            reasons.append(
                f"no successful cycle in {uptime.total_seconds():.0f}s since start "
                f"(max {max_cycle_age.total_seconds():.0f}s)"
            )
    elif age > max_cycle_age:
        reasons.append(
            f"last successful cycle {age.total_seconds():.0f}s ago "
            f"(max {max_cycle_age.total_seconds():.0f}s)"
        )
    return Health(healthy=not reasons, reasons=tuple(reasons), state=state)


class HealthServer:
    """Serves `/healthz` and `/metrics` on 127.0.0.1:`port` (0 picks a free port)."""

    def __init__(
        self,
        metrics: DaemonMetrics,
        *,
        max_cycle_age: timedelta,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        check_loopback(host)
        if max_cycle_age <= timedelta(0):
            raise ValueError("max_cycle_age must be positive")
        self.metrics = metrics
        self.max_cycle_age = max_cycle_age
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, config: HealthConfig, metrics: DaemonMetrics) -> HealthServer:
        return cls(
            metrics,
            max_cycle_age=timedelta(seconds=config.max_cycle_age_seconds),
            host=config.host,
            port=config.port,
        )

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the health server is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._address[0]}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the health server is already running")
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="health-http",
            daemon=True,
        )
        self._thread.start()
        _log.info("health_endpoint_started", host=self._address[0], port=self.port)

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        _log.info("health_endpoint_stopped")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a GET of `path`."""
        if path == "/healthz":
            health = assess(self.metrics.state(), self.max_cycle_age)
            status = HTTPStatus.OK if health.healthy else HTTPStatus.SERVICE_UNAVAILABLE
            return status, _JSON, json.dumps(health.as_json()).encode()
        if path == "/metrics":
            return HTTPStatus.OK, _PROMETHEUS_TEXT, self.metrics.render()
        return HTTPStatus.NOT_FOUND, _JSON, b'{"error": "not found"}'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: HealthServer) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server_version = "rebalancer"
    sys_version = ""

    def do_GET(self) -> None:
        app = cast(_Server, self.server).app
        try:
            status, content_type, body = app.respond(urlsplit(self.path).path)
        except Exception as exc:  # a bug here must not kill the thread or reach the client
            _log.error("health_request_failed", error=type(exc).__name__)
            status, content_type, body = 500, _JSON, b'{"error": "internal"}'
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # http.server writes every request to stderr; scrapes are routine, so keep them quiet.
        return
