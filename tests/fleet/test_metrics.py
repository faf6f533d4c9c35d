"""A worker's metrics: per-portfolio series by default, worker totals only when bounded."""

from __future__ import annotations

from datetime import UTC, datetime

from rebalancer.fleet.metrics import FleetMetrics

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _wake(metrics: FleetMetrics, name: str) -> None:
    port = metrics.for_portfolio(name)
    port.drift("BTC", 0.07)
    port.set_halted(False)
    port.cycle_finished("completed", AT)
    port.error("NetworkError")
    metrics.job_done("ran: 2 order(s)", 0.4)


def test_per_portfolio_series_carry_the_portfolio() -> None:
    metrics = FleetMetrics()
    _wake(metrics, "alpha")
    _wake(metrics, "beta")
    text = metrics.render().decode()
    assert 'rebalancer_fleet_drift_ratio{line="BTC",portfolio="alpha"} 0.07' in text
    assert 'rebalancer_fleet_cycles_total{portfolio="beta",state="completed"} 1.0' in text
    assert 'rebalancer_fleet_jobs_total{outcome="ran"} 2.0' in text
    assert 'rebalancer_fleet_errors_total{kind="NetworkError"} 2.0' in text


def test_bounded_metrics_do_not_grow_with_the_fleet() -> None:
    metrics = FleetMetrics(per_portfolio=False)
    for n in range(50):
        _wake(metrics, f"p{n}")
    text = metrics.render().decode()
    assert "portfolio=" not in text
    assert 'rebalancer_fleet_jobs_total{outcome="ran"} 50.0' in text
