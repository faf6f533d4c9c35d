"""Daemon metrics: Prometheus text from a private registry, ages from an injected clock."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from rebalancer.daemon.metrics import DaemonMetrics
from rebalancer.domain.lifecycle import OrderStatus, RunState

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def samples(metrics: DaemonMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_every_reading_is_exported_with_its_labels() -> None:
    metrics = DaemonMetrics(Clock())
    metrics.drift("BTC", Decimal("0.031"))
    metrics.drift("ETH", -0.02)
    metrics.gross_leverage(0.75)
    metrics.margin_distance(Decimal("0.42"))
    metrics.order_result(OrderStatus.FILLED)
    metrics.order_result("filled")
    metrics.order_result("rejected")
    metrics.error("RateLimited")
    metrics.set_circuit(True)
    metrics.set_halted(True)
    got = samples(metrics)
    assert got[("rebalancer_drift_ratio", (("asset", "BTC"),))] == 0.031
    assert got[("rebalancer_drift_ratio", (("asset", "ETH"),))] == -0.02
    assert got[("rebalancer_gross_leverage_ratio", ())] == 0.75
    assert got[("rebalancer_margin_distance_ratio", ())] == 0.42
    assert got[("rebalancer_orders_total", (("result", "filled"),))] == 2
    assert got[("rebalancer_orders_total", (("result", "rejected"),))] == 1
    assert got[("rebalancer_errors_total", (("kind", "RateLimited"),))] == 1
    assert got[("rebalancer_circuit_open", ())] == 1
    assert got[("rebalancer_halted", ())] == 1


def test_cycle_counters_start_at_zero_for_every_final_state() -> None:
    got = samples(DaemonMetrics(Clock()))
    for state in ("completed", "failed", "skipped"):
        assert got[("rebalancer_cycles_total", (("state", state),))] == 0


def test_cycles_are_counted_by_state() -> None:
    metrics = DaemonMetrics(Clock())
    metrics.cycle_finished(RunState.COMPLETED, T0)
    metrics.cycle_finished("failed", T0)
    metrics.cycle_finished("failed", T0)
    got = samples(metrics)
    assert got[("rebalancer_cycles_total", (("state", "completed"),))] == 1
    assert got[("rebalancer_cycles_total", (("state", "failed"),))] == 2


def test_age_is_unknown_until_a_cycle_succeeds_then_follows_the_clock() -> None:
    clock = Clock()
    metrics = DaemonMetrics(clock)
    age = ("rebalancer_last_successful_cycle_age_seconds", ())
    assert math.isnan(samples(metrics)[age])
    metrics.cycle_finished("failed", T0)
    assert math.isnan(samples(metrics)[age])
    metrics.cycle_finished("completed", T0)
    clock.now = T0 + timedelta(minutes=5)
    assert samples(metrics)[age] == 300


@pytest.mark.parametrize("state", ["completed", "skipped", RunState.SKIPPED])
def test_completed_and_skipped_cycles_count_as_success(state: str | RunState) -> None:
    metrics = DaemonMetrics(Clock())
    metrics.cycle_finished(state, T0 + timedelta(seconds=1))
    assert metrics.state().last_success_at == T0 + timedelta(seconds=1)


def test_an_older_report_does_not_move_the_success_time_back() -> None:
    metrics = DaemonMetrics(Clock())
    metrics.cycle_finished("completed", T0 + timedelta(hours=1))
    metrics.cycle_finished("completed", T0)
    assert metrics.state().last_success_at == T0 + timedelta(hours=1)


def test_state_reports_the_safety_controls() -> None:
    metrics = DaemonMetrics(Clock())
    metrics.set_circuit(True)
    metrics.set_halted(True)
    metrics.set_circuit(False)
    state = metrics.state()
    assert (state.circuit_open, state.halted, state.started_at) == (False, True, T0)


def test_a_naive_time_is_refused() -> None:
    metrics = DaemonMetrics(Clock())
    with pytest.raises(ValueError, match="naive"):
        metrics.cycle_finished("completed", datetime(2025, 1, 1))  # noqa: DTZ001 -- the point


def test_each_instance_has_its_own_registry() -> None:
    first, second = DaemonMetrics(Clock()), DaemonMetrics(Clock())
    first.error("Boom")
    assert ("rebalancer_errors_total", (("kind", "Boom"),)) not in samples(second)
    assert REGISTRY.get_sample_value("rebalancer_errors_total", {"kind": "Boom"}) is None
