"""How the pages show the JSON's numbers: the JSON strings in, short readable text out."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from rebalancer.render.numbers import money as _money
from rebalancer.render.numbers import percent as _percent
from rebalancer.render.numbers import points as _points

DASH = "\u2013"  # an en dash for a missing figure


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def percent(value: object) -> str:
    number = _decimal(value)
    return DASH if number is None else _percent(number)


def points(value: object) -> str:
    number = _decimal(value)
    return DASH if number is None else _points(number).removesuffix("%") + " pp"


def band(value: object) -> str:
    """A band's half width: unsigned weight points."""
    number = _decimal(value)
    return (
        DASH
        if number is None
        else f"\u00b1{_points(number).removeprefix('+').removesuffix('%')} pp"
    )


def money(value: object, signed: bool = False) -> str:
    number = _decimal(value)
    return DASH if number is None else _money(number, signed)


def when(value: object) -> str:
    """'2026-01-05T00:00:01.5Z' -> '2026-01-05 00:00:01 UTC'."""
    if not value:
        return DASH
    text = str(value).replace("T", " ").removesuffix("Z")
    return text.split(".")[0] + " UTC"


FILTERS = {"band": band, "percent": percent, "points": points, "money": money, "when": when}
