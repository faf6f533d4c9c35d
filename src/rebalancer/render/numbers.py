"""Number formatting shared by tables and JSON: one place decides how money and drift look."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

_CENT = Decimal("0.01")
_JSON_MONEY = Decimal("1e-8")
_JSON_WEIGHT = Decimal("1e-10")
_FEE = Decimal("1e-8")  # exchanges account commissions to 8 decimals (Binance, Bybit, OKX)
_FALLBACK_DIGITS = 6


def money(value: Decimal, signed: bool = False) -> str:
    """Quote-currency amount for a table: thousands separators, two decimals."""
    q = value.quantize(_CENT, ROUND_HALF_EVEN)
    return f"{q:+,.2f}" if signed else f"{q:,.2f}"


def points(weight: Decimal) -> str:
    """A weight or drift as percentage points for a table (no "-0.00")."""
    q = (weight * 100).quantize(_CENT, ROUND_HALF_EVEN)
    return f"{q + 0:+.2f}%" if q else "+0.00%"


def percent(weight: Decimal) -> str:
    return f"{weight * 100:.2f}%"


def quantity(value: Decimal) -> str:
    """A base or contract amount, without trailing zeros or exponent notation."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def json_money(value: Decimal) -> str:
    return quantity(value.quantize(_JSON_MONEY, ROUND_HALF_EVEN))


def json_weight(value: Decimal) -> str:
    return quantity(value.quantize(_JSON_WEIGHT, ROUND_HALF_EVEN))


def price(value: Decimal, step: Decimal | None) -> str:
    """A price at the market's precision: the decimals of its tick (an average of several
    fills is rounded to it). Without a known tick: cents from 1 up, else 6 significant digits."""
    if step is not None:
        exponent = step.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    elif abs(value) >= 1:
        places = 2
    else:
        places = max(_FALLBACK_DIGITS - 1 - value.adjusted(), 0) if value else 0
    q = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)
    return f"{q:,.{places}f}"


def fee(value: Decimal) -> str:
    """A commission as the exchange accounts it: 8 decimals at most, no trailing zeros."""
    return quantity(value.quantize(_FEE, ROUND_HALF_EVEN))
