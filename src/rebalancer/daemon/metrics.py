"""What the daemon reports about itself, as Prometheus metrics and as state for the health check.

`DaemonMetrics` owns its own `CollectorRegistry` (never the process-global one, so tests and two
daemons in one process do not collide) and is told about cycles, drift, leverage, orders, errors,
margin and the safety controls. Ages are computed at scrape time from an injected clock. The
daemon's event loop writes and the HTTP server's threads read, so shared state sits behind a lock
(prometheus-client's own metrics are already thread-safe).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

Clock = Callable[[], datetime]
# A skipped run still checked the account and found nothing to do: the daemon is alive.
SUCCESSFUL_STATES = frozenset({"completed", "skipped"})
CYCLE_STATES = ("completed", "failed", "skipped")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _label(value: str | Enum) -> str:
    return str(value.value if isinstance(value, Enum) else value).strip()


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} is naive; pass an aware UTC time")
    return at.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DaemonState:
    """What the health check judges, read at one instant."""

    now: datetime
    started_at: datetime
    last_success_at: datetime | None
    circuit_open: bool
    halted: bool

    @property
    def last_success_age(self) -> timedelta | None:
        return None if self.last_success_at is None else self.now - self.last_success_at


class DaemonMetrics:
    """The daemon's gauges and counters, plus the state behind `/healthz`."""

    def __init__(self, clock: Clock = _utcnow, *, namespace: str = "rebalancer") -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._started_at = _aware(clock())
        self._last_success: datetime | None = None
        self._circuit_open = False
        self._halted = False
        self.registry = CollectorRegistry(auto_describe=True)
        self._define(namespace)

    def _define(self, ns: str) -> None:
        reg = self.registry
        age = Gauge(
            "last_successful_cycle_age_seconds",
            "Seconds since the last cycle that completed or was skipped (NaN before the first).",
            namespace=ns,
            registry=reg,
        )
        age.set_function(self._age_seconds)
        self._drift = Gauge(
            "drift_ratio",
            "Current minus target weight, per asset.",
            ["asset"],
            namespace=ns,
            registry=reg,
        )
        self._leverage = Gauge(
            "gross_leverage_ratio",
            "Gross hedge notional over futures equity.",
            namespace=ns,
            registry=reg,
        )
        self._margin = Gauge(
            "margin_distance_ratio",
            "Adverse move, as a fraction, that would liquidate.",
            namespace=ns,
            registry=reg,
        )
        self._circuit = Gauge(
            "circuit_open",
            "1 while the circuit breaker stops trading.",
            namespace=ns,
            registry=reg,
        )
        self._halted_gauge = Gauge(
            "halted", "1 while trading is halted by hand.", namespace=ns, registry=reg
        )
        self._orders = Counter(
            "orders", "Orders placed, by result.", ["result"], namespace=ns, registry=reg
        )
        self._errors = Counter("errors", "Errors, by kind.", ["kind"], namespace=ns, registry=reg)
        self._cycles = Counter(
            "cycles", "Finished cycles, by final state.", ["state"], namespace=ns, registry=reg
        )
        for state in CYCLE_STATES:
            self._cycles.labels(state=state)  # present at 0 so rate() works from the start

    def now(self) -> datetime:
        return _aware(self._clock())

    def state(self) -> DaemonState:
        with self._lock:
            return DaemonState(
                now=self.now(),
                started_at=self._started_at,
                last_success_at=self._last_success,
                circuit_open=self._circuit_open,
                halted=self._halted,
            )

    def cycle_finished(self, state: str | Enum, at: datetime) -> None:
        """Count a finished cycle; a completed or skipped one refreshes the success time."""
        label = _label(state).lower()
        self._cycles.labels(state=label).inc()
        if label in SUCCESSFUL_STATES:
            at = _aware(at)
            with self._lock:
                if self._last_success is None or at > self._last_success:
                    self._last_success = at

    def drift(self, asset: str, value: float | Decimal) -> None:
        self._drift.labels(asset=asset).set(float(value))

    def gross_leverage(self, value: float | Decimal) -> None:
        self._leverage.set(float(value))

    def margin_distance(self, value: float | Decimal) -> None:
        self._margin.set(float(value))

    def order_result(self, result: str | Enum) -> None:
        self._orders.labels(result=_label(result)).inc()

    def error(self, kind: str | Enum) -> None:
        self._errors.labels(kind=_label(kind)).inc()

    def set_circuit(self, is_open: bool) -> None:
        with self._lock:
            self._circuit_open = is_open
        self._circuit.set(1 if is_open else 0)

    def set_halted(self, halted: bool) -> None:
        with self._lock:
            self._halted = halted
        self._halted_gauge.set(1 if halted else 0)

    def render(self) -> bytes:
        """All metrics in the Prometheus text exposition format."""
        return generate_latest(self.registry)

    def _age_seconds(self) -> float:
        age = self.state().last_success_age
        return math.nan if age is None else max(age.total_seconds(), 0.0)
