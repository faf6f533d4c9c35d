"""Rounding a wanted position to the exchange's step without growing it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rebalancer.domain.market import MarketRules, round_position

D = Decimal


@pytest.mark.parametrize(
    ("current", "wanted", "expected"),
    [
        ("0", "0.0149", "0.014"),
        ("0", "-0.0149", "-0.014"),
        ("0.02", "0.0149", "0.014"),  # a reduction reduces at least as far as wanted
        ("-0.02", "0.0005", "0"),
        ("0.01", "0.01", "0.01"),
    ],
)
def test_round_position_keeps_the_size_at_or_below_the_wanted_size(
    current: str, wanted: str, expected: str
) -> None:
    assert round_position(D(current), D(wanted), D("0.001")) == D(expected)


@given(
    st.integers(-(10**5), 10**5),
    st.integers(-(10**8), 10**8),
    st.sampled_from(["0.001", "0.1", "5"]),
)
def test_rounded_positions_are_reachable_and_no_larger_than_wanted(
    steps: int, wanted_raw: int, step_text: str
) -> None:
    step = D(step_text)
    current = steps * step
    wanted = D(wanted_raw) / 1000
    result = round_position(current, wanted, step)
    assert (result - current) % step == 0
    assert abs(result) <= abs(wanted)
    assert abs(wanted - result) < step


def test_market_rules_reject_a_zero_step() -> None:
    with pytest.raises(ValueError, match="amount_step"):
        MarketRules("BTC/USDT:USDT", amount_step=D(0))
