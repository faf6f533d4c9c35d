"""Prometheus metrics of a fleet worker: its jobs, and each portfolio it woke.

Worker-level series (jobs by outcome, job duration, errors by kind) are always there. The
per-portfolio series (drift per line, gross leverage, margin distance, halted, circuit open,
cycles by state) carry a `portfolio` label, one series per portfolio a worker has woken;
`per_portfolio=False` leaves them out, for fleets too large for the metrics backend (bounded
cardinality: the series count no longer grows with the fleet). Each worker owns its registry
and serves it on its own port; Prometheus sums across workers.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

NS = "rebalancer_fleet"


class FleetMetrics:
    def __init__(self, *, per_portfolio: bool = True) -> None:
        self.per_portfolio = per_portfolio
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.jobs = Counter(
            "jobs", "Wake-up jobs by outcome.", ["outcome"], namespace=NS, registry=reg
        )
        self.job_seconds = Histogram(
            "job_seconds",
            "Seconds one wake-up job took.",
            namespace=NS,
            registry=reg,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.errors = Counter("errors", "Errors, by kind.", ["kind"], namespace=NS, registry=reg)
        labels = ["portfolio"]
        self.drift = Gauge(
            "drift_ratio", "Drift per line.", [*labels, "line"], namespace=NS, registry=reg
        )
        self.leverage = Gauge(
            "gross_leverage_ratio", "Gross leverage.", labels, namespace=NS, registry=reg
        )
        self.margin = Gauge(
            "margin_distance_ratio",
            "Adverse move to liquidation.",
            labels,
            namespace=NS,
            registry=reg,
        )
        self.halted = Gauge("halted", "1 while halted.", labels, namespace=NS, registry=reg)
        self.circuit = Gauge(
            "circuit_open", "1 while the circuit is open.", labels, namespace=NS, registry=reg
        )
        self.cycles = Counter(
            "cycles", "Cycles by state.", [*labels, "state"], namespace=NS, registry=reg
        )

    def job_done(self, outcome: str, seconds: float) -> None:
        self.jobs.labels(outcome.split(":", 1)[0]).inc()
        self.job_seconds.observe(seconds)

    def for_portfolio(self, name: str) -> PortfolioMetrics:
        return PortfolioMetrics(self, name)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)


class PortfolioMetrics:
    """The daemon's `Metrics` port for one portfolio's wake-up, onto the worker's registry."""

    def __init__(self, fleet: FleetMetrics, name: str) -> None:
        self._fleet = fleet
        self._name = name
        self._on = fleet.per_portfolio

    def cycle_finished(self, state: str, at: datetime) -> None:
        if self._on:
            self._fleet.cycles.labels(self._name, state).inc()

    def drift(self, asset: str, value: float) -> None:
        if self._on:
            self._fleet.drift.labels(self._name, asset).set(value)

    def gross_leverage(self, value: float) -> None:
        if self._on:
            self._fleet.leverage.labels(self._name).set(value)

    def error(self, kind: str) -> None:
        self._fleet.errors.labels(kind).inc()

    def margin_distance(self, value: float) -> None:
        if self._on:
            self._fleet.margin.labels(self._name).set(value)

    def set_circuit(self, is_open: bool) -> None:
        if self._on:
            self._fleet.circuit.labels(self._name).set(int(is_open))

    def set_halted(self, halted: bool) -> None:
        if self._on:
            self._fleet.halted.labels(self._name).set(int(halted))
