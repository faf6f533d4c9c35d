"""Price paths for the demo: a seeded random walk, or a replay of a closes file.

The walk is geometric with daily volatility close to BTC's and ETH's (about 3.5 % and 4.5 %)
and a correlation of 0.8, so their ratio drifts and the hedges have something to do.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

START = {"BTC": Decimal(50000), "ETH": Decimal(2500)}
VOL = {"BTC": 0.035, "ETH": 0.045}
CORRELATION = 0.8


def random_walk(seed: int, days: int) -> Iterator[dict[str, Decimal]]:
    rnd = random.Random(seed)  # noqa: S311 - a reproducible demo path, not a secret
    prices = dict(START)
    yield dict(prices)
    for _ in range(days):
        common, own = rnd.gauss(0, 1), rnd.gauss(0, 1)
        shocks = {"BTC": common, "ETH": CORRELATION * common + math.sqrt(1 - CORRELATION**2) * own}
        for asset, shock in shocks.items():
            move = math.exp(VOL[asset] * shock - VOL[asset] ** 2 / 2)
            prices[asset] = (prices[asset] * Decimal(str(move))).quantize(Decimal("0.01"))
        yield dict(prices)


class PricesFileError(Exception):
    """A closes file the demo cannot replay; `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def replay(path: Path, days: int) -> Iterator[dict[str, Decimal]]:
    """Closes from a `date,BTC,ETH,...` file, scaled so the first row is the demo's start.

    The file is read and checked at once, so a bad one fails before the demo starts."""
    rows = _closes(path)
    first = rows[0]
    scaled = [
        {a: (START[a] * row[a] / first[a]).quantize(Decimal("0.01")) for a in START}
        for row in rows[: days + 1]
    ]
    return iter(scaled)


def _closes(path: Path) -> list[dict[str, Decimal]]:
    source = str(path)
    needed = ", ".join(["date", *START])
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [a for a in START if a not in header]
            if missing:
                has = ", ".join(header) or "nothing"
                raise PricesFileError(
                    source,
                    [f"no {' or '.join(missing)} column (has {has}); the header must be {needed}"],
                )
            rows = [_row(source, number, row) for number, row in enumerate(reader, start=2)]
    except UnicodeDecodeError:
        raise PricesFileError(source, ["is not UTF-8 text; export it as CSV"]) from None
    closes = [row for row in rows if row is not None]
    if not closes:
        raise PricesFileError(source, [f"no row has both BTC and ETH closes ({needed})"])
    return closes


def _row(source: str, number: int, row: dict[str, str | None]) -> dict[str, Decimal] | None:
    texts = {a: (row.get(a) or "").strip() for a in START}
    if not all(texts.values()):
        return None  # a day without both closes is skipped, as before
    closes: dict[str, Decimal] = {}
    for asset, text in texts.items():
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal(0)
        if not value.is_finite() or value <= 0:
            raise PricesFileError(
                source, [f"row {number}: {asset} close {text!r} is not a positive number"]
            )
        closes[asset] = value
    return closes
