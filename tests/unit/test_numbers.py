"""Prices at the market's tick, fees as exchanges account them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rebalancer.render.numbers import fee, price

D = Decimal


@pytest.mark.parametrize(
    ("value", "step", "shown"),
    [
        (D("49093.609314"), D("0.1"), "49,093.6"),
        (D("2465.553012"), D("0.01"), "2,465.55"),
        (D("50000"), D("0.10"), "50,000.0"),
        (D("0.2912345"), D("0.0001"), "0.2912"),
        (D("123.4"), D("5"), "123"),
        (D("49093.609314"), None, "49,093.61"),  # tick unknown: cents
        (D("0.000123456789"), None, "0.000123457"),  # below 1: six significant digits
    ],
)
def test_a_price_is_shown_at_its_tick(value: Decimal, step: Decimal | None, shown: str) -> None:
    assert price(value, step) == shown


def test_a_fee_has_at_most_eight_decimals_and_no_trailing_zeros() -> None:
    assert fee(D("0.466389288483")) == "0.46638929"
    assert fee(D("0.20000000")) == "0.2"
