"""Numbers in error messages are readable: a few significant digits, never a float's drift."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rebalancer.config.values import readable


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1.083333333333333333333333333"), "1.08333"),
        (Decimal("1.10000000000000005"), "1.1"),
        (1.1, "1.1"),
        (0.1 + 0.2, "0.3"),
        (Decimal("-0.05"), "-0.05"),
        (Decimal("123456789.5"), "123456790"),
        (Decimal("0.000012345678"), "0.0000123457"),
        (Decimal("1E+2"), "100"),
        (Decimal("-0.000"), "0"),
    ],
)
def test_a_number_is_shown_with_six_significant_digits_and_no_exponent(
    value: Decimal | float, shown: str
) -> None:
    assert readable(value) == shown
