"""Parsers for config values that TOML cannot type on its own: weights, durations, decimals."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def to_decimal(value: object) -> Decimal:
    """A number or a string like "0.25" or "1/3" as a Decimal, never through a binary float."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:
                fraction = Fraction(text)
                return Decimal(fraction.numerator) / Decimal(fraction.denominator)
            return Decimal(text)
        except (InvalidOperation, ValueError, ZeroDivisionError):
            raise ValueError(f'{value!r} is not a number (write 0.25 or "1/4")') from None
    raise ValueError(f"expected a number, got {type(value).__name__}")


def readable(value: Decimal | float, digits: int = 6) -> str:
    """A number for a message: `digits` significant digits (all whole ones), no exponent, no
    trailing zeros (1.1, not 1.10000000000000005; 1.08333, not 1.083333333333333333333333333)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        return str(number)
    if number.is_zero():
        return "0"
    # Whole digits are kept: an amount of 123456789.5 reads 123456790, not 1.23457e8.
    exponent = min(number.adjusted() - digits + 1, 0)
    rounded = number.quantize(Decimal(1).scaleb(exponent))
    text = f"{rounded.normalize():f}"
    return "0" if text == "-0" else text


def to_seconds(value: object) -> float:
    """A duration: seconds as a number, or a string such as "30s", "15m", "1h", "1d"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError(f"{value!r} is not a duration (write 30s, 15m, 1h or 1d)")
