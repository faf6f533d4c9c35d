"""The health endpoint over real loopback HTTP: 200/503 by the rules, metrics, loopback only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from rebalancer.daemon.health import HealthConfig, HealthServer
from rebalancer.daemon.metrics import DaemonMetrics

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(hours=2)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def metrics(clock: Clock) -> DaemonMetrics:
    return DaemonMetrics(clock)


@pytest.fixture
def http(metrics: DaemonMetrics) -> Iterator[httpx.Client]:
    with (
        HealthServer(metrics, max_cycle_age=MAX_AGE, port=0) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=5) as client,
    ):
        yield client


def test_healthy_after_a_recent_cycle(
    http: httpx.Client, metrics: DaemonMetrics, clock: Clock
) -> None:
    metrics.cycle_finished("completed", T0)
    clock.now = T0 + timedelta(minutes=30)
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "last_successful_cycle_age_seconds": 1800.0,
        "circuit": "closed",
        "halted": False,
        "reasons": [],
    }


def test_unhealthy_when_the_last_success_is_too_old(
    http: httpx.Client, metrics: DaemonMetrics, clock: Clock
) -> None:
    metrics.cycle_finished("completed", T0)
    clock.now = T0 + MAX_AGE + timedelta(seconds=1)
    response = http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["reasons"] == ["last successful cycle 7201s ago (max 7200s)"]


def test_unhealthy_while_the_circuit_is_open(http: httpx.Client, metrics: DaemonMetrics) -> None:
    metrics.cycle_finished("completed", T0)
    metrics.set_circuit(True)
    response = http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["circuit"] == "open"


def test_a_fresh_daemon_is_healthy_until_max_age_passes_without_a_cycle(
    http: httpx.Client, metrics: DaemonMetrics, clock: Clock
) -> None:
    clock.now = T0 + MAX_AGE
    first = http.get("/healthz")
    assert first.status_code == 200
    assert first.json()["last_successful_cycle_age_seconds"] is None
    clock.now = T0 + MAX_AGE + timedelta(seconds=1)
    late = http.get("/healthz")
    assert late.status_code == 503
    assert late.json()["reasons"] == ["no successful cycle in 7201s since start (max 7200s)"]
    metrics.cycle_finished("failed", clock.now)
    assert http.get("/healthz").status_code == 503


def test_halted_is_reported_but_is_not_a_failure(
    http: httpx.Client, metrics: DaemonMetrics
) -> None:
    metrics.set_halted(True)
    response = http.get("/healthz?verbose=1")
    assert response.status_code == 200
    assert response.json()["halted"] is True


def test_metrics_are_served_in_prometheus_text_format(
    http: httpx.Client, metrics: DaemonMetrics, clock: Clock
) -> None:
    metrics.cycle_finished("completed", T0)
    metrics.drift("BTC", 0.05)
    clock.now = T0 + timedelta(seconds=90)
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {
        (s.name, tuple(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert values[("rebalancer_last_successful_cycle_age_seconds", ())] == 90
    assert values[("rebalancer_drift_ratio", (("asset", "BTC"),))] == 0.05
    assert values[("rebalancer_cycles_total", (("state", "completed"),))] == 1


def test_other_paths_are_not_found(http: httpx.Client) -> None:
    assert http.get("/").status_code == 404
    assert http.post("/healthz").status_code == 501


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "localhost", "::1", "::"])  # noqa: S104
def test_only_loopback_is_accepted(metrics: DaemonMetrics, host: str) -> None:
    with pytest.raises(ValueError, match=r"binds to 127\.0\.0\.1 only"):
        HealthServer(metrics, max_cycle_age=MAX_AGE, host=host)
    with pytest.raises(ValidationError, match=r"binds to 127\.0\.0\.1 only"):
        HealthConfig(host=host)


def test_the_server_starts_and_stops_cleanly(metrics: DaemonMetrics) -> None:
    server = HealthServer(metrics, max_cycle_age=MAX_AGE)
    with pytest.raises(RuntimeError, match="call start"):
        _ = server.port
    server.start()
    url = server.url
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    assert httpx.get(f"{url}/healthz", trust_env=False).status_code == 200
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", trust_env=False, timeout=2)


def test_config_is_off_by_default_and_builds_a_server(metrics: DaemonMetrics) -> None:
    config = HealthConfig()
    assert config.enabled is False
    assert config.host == "127.0.0.1"
    server = HealthServer.from_config(HealthConfig(enabled=True, max_cycle_age_seconds=60), metrics)
    assert server.max_cycle_age == timedelta(seconds=60)
    with pytest.raises(ValidationError, match="extra"):
        HealthConfig.model_validate({"bind": "0.0.0.0"})  # noqa: S104 -- refused, the point
