"""Trigger policies: calendar, absolute and relative thresholds, or both."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rebalancer.domain.exposure import valuation
from rebalancer.domain.strategy import Band
from rebalancer.domain.triggers import TriggerPolicy, Wake, breaches, decide
from tests.unit.domain.builders import perp, seed_snapshot, seed_strategy, snapshot

D = Decimal


def _value(btc_quantity: str, eth_quantity: str = "1.6") -> object:
    snap = snapshot(
        {"BTC": ("50000", btc_quantity), "ETH": ("2500", eth_quantity)},
        [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")],
        futures_equity="2000",
    )
    return valuation(seed_strategy(), snap)


def test_a_manual_wake_always_rebalances() -> None:
    value = valuation(seed_strategy(), seed_snapshot())
    assert decide(TriggerPolicy.THRESHOLD, Wake.MANUAL, value, Band(D("0.5"))).rebalance


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(TriggerPolicy.CALENDAR, True), (TriggerPolicy.BOTH, True), (TriggerPolicy.THRESHOLD, False)],
)
def test_calendar_wake_ups_follow_the_policy(policy: TriggerPolicy, expected: bool) -> None:
    value = valuation(seed_strategy(), seed_snapshot())
    assert decide(policy, Wake.CALENDAR, value, Band(D("0.05"))).rebalance is expected


def test_drift_checks_rebalance_only_beyond_the_absolute_threshold() -> None:
    band = Band(absolute=D("0.05"))
    # 8.33 points of drift in the seed example: beyond 5.
    fired = decide(TriggerPolicy.BOTH, Wake.DRIFT_CHECK, _value("0.14", "1.2"), band)
    assert fired.rebalance
    assert {b.line for b in fired.breaches} == {"BTC", "ETH"}
    assert "beyond threshold" in fired.reason
    # BTC 6,100 of 12,100: +0.41 points; ETH -0.39.
    quiet = decide(TriggerPolicy.BOTH, Wake.DRIFT_CHECK, _value("0.122"), band)
    assert not quiet.rebalance
    assert quiet.reason == "all drifts within thresholds"


def test_the_relative_threshold_is_measured_against_each_target_weight() -> None:
    value = _value("0.13")  # BTC 6,500 of 12,500: 52% vs 50% (4% relative); ETH 32% vs 33.3%
    assert breaches(value, Band(relative=D("0.03"))) != ()
    assert breaches(value, Band(relative=D("0.05"))) == ()


def test_a_calendar_only_policy_never_fires_on_drift() -> None:
    decision = decide(TriggerPolicy.CALENDAR, Wake.DRIFT_CHECK, _value("0.3"), Band(D("0.01")))
    assert not decision.rebalance
