"""The spot cost basis: per coin average cost, from `[portfolio.cost_basis]` or a CSV of lots.

A lots file has a header `asset,quantity,price` (price per unit in the quote); a coin's
average cost is its lots' total cost over their total quantity. Figures only: used to say
what gain a spot sale would realise, never as tax advice.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

_HEADER = ["asset", "quantity", "price"]


class CostBasisError(ValueError):
    """A lots file that cannot be used; the message is one line naming the row and the fix."""


def read_lots(path: Path) -> dict[str, Decimal]:
    """Average cost per coin from a CSV of lots."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CostBasisError(
            f"{path}: cannot be read ({exc.strerror}); give an existing CSV"
        ) from None
    except UnicodeDecodeError:
        raise CostBasisError(f"{path}: is not UTF-8 text; save it as UTF-8") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip().lower() for c in rows[0]] != _HEADER:
        raise CostBasisError(f"{path}: the first line must be the header {','.join(_HEADER)}")
    quantity: dict[str, Decimal] = {}
    cost: dict[str, Decimal] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        asset, amount, price = _row(path, number, row)
        quantity[asset] = quantity.get(asset, Decimal(0)) + amount
        cost[asset] = cost.get(asset, Decimal(0)) + amount * price
    if not quantity:
        raise CostBasisError(f"{path}: no lots; add one row per lot: asset,quantity,price")
    return {a: cost[a] / q for a, q in quantity.items()}


def _row(path: Path, number: int, row: list[str]) -> tuple[str, Decimal, Decimal]:
    where = f"{path}, line {number}"
    if len(row) != len(_HEADER):
        raise CostBasisError(f"{where}: expected 3 fields (asset,quantity,price), got {len(row)}")
    asset = row[0].strip().upper()
    if not asset:
        raise CostBasisError(f"{where}: the asset is empty; name the coin, e.g. BTC")
    try:
        amount, price = Decimal(row[1].strip()), Decimal(row[2].strip())
    except InvalidOperation:
        raise CostBasisError(
            f"{where}: quantity and price must be numbers, e.g. 0.5,30000"
        ) from None
    if not (amount.is_finite() and price.is_finite()) or amount <= 0 or price < 0:
        raise CostBasisError(f"{where}: quantity must be > 0 and price >= 0")
    return asset, amount, price


def merged(given: Mapping[str, Decimal], lots: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """One average cost per coin: a coin may come from the config or the lots, not both."""
    both = sorted(set(given) & set(lots))
    if both:
        raise CostBasisError(
            f"{both[0]} has a cost basis in both portfolio.cost_basis and the lots file; keep one"
        )
    return {**given, **lots}
