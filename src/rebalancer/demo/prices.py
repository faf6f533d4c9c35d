"""Price paths for the demo: a seeded random walk, or a replay of a closes file.

The walk is geometric with daily volatility close to BTC's and ETH's (about 3.5 % and 4.5 %)
and a correlation of 0.8, so their ratio drifts and the hedges have something to do.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterator
from decimal import Decimal
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


def replay(path: Path, days: int) -> Iterator[dict[str, Decimal]]:
    """Closes from a `date,BTC,ETH,...` file, scaled so the first row is the demo's start."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("BTC") and r.get("ETH")]
    if not rows:
        raise ValueError(f"{path}: no rows with both BTC and ETH closes")
    first = {a: Decimal(rows[0][a]) for a in START}
    for row in rows[: days + 1]:
        yield {a: (START[a] * Decimal(row[a]) / first[a]).quantize(Decimal("0.01")) for a in START}
