"""Allocating a scarce gross notional across hedge lines (the 1x cap of DESIGN §2).

When the wanted hedges do not fit under the cap, each line's hedge is pulled towards zero by
the same amount (water-filling). That allocation minimises the largest shortfall from the
wanted hedges, and so the largest remaining drift; lines whose wanted hedge is smaller than
the common shortfall end up unhedged rather than reversed.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

from rebalancer.domain.market import ZERO

# Decimal division rounds; rounding the level up and the sizes down keeps the total within
# the budget to the last digit.
_UP = Context(prec=28, rounding=ROUND_CEILING)
_DOWN = Context(prec=28, rounding=ROUND_FLOOR)


_COUNTS = tuple(Decimal(k) for k in range(1, 257))  # the divisors k of the level, made once


def shortfall_level(wanted: Sequence[Decimal], budget: Decimal) -> Decimal:
    """The smallest level L >= 0 with sum(max(|w| - L, 0)) <= budget."""
    return _level([abs(w) for w in wanted], budget)


def _level(magnitudes: list[Decimal], budget: Decimal) -> Decimal:
    sizes = sorted(magnitudes, reverse=True)
    if sum(sizes, ZERO) <= budget:
        return ZERO
    if budget <= 0:
        return sizes[0]
    divide = _UP.divide
    count = len(sizes)
    prefix = ZERO
    for k, size in enumerate(sizes, start=1):
        prefix += size
        if prefix <= budget:
            # The level would be <= 0 while a later size is > 0 (the sizes sum past the
            # budget): this k never qualifies, so its division is not made.
            continue
        level = divide(prefix - budget, _COUNTS[k - 1] if k <= len(_COUNTS) else Decimal(k))
        following = sizes[k] if k < count else ZERO
        if level >= following:
            return level
    raise AssertionError("unreachable: the last level always qualifies")  # pragma: no cover


def allocate(wanted: Sequence[Decimal], budget: Decimal) -> tuple[Decimal, ...]:
    """Shrink each wanted hedge towards zero by a common level so the gross fits the budget."""
    return allocate_sized(wanted, [abs(w) for w in wanted], budget)


def allocate_sized(
    wanted: Sequence[Decimal], magnitudes: list[Decimal], budget: Decimal
) -> tuple[Decimal, ...]:
    """`allocate`, given each wanted hedge's magnitude."""
    level = _level(magnitudes, budget)
    if level == 0:
        return tuple(wanted)
    subtract = _DOWN.subtract
    # A magnitude at most the level is exactly when the rounded difference would be <= 0.
    return tuple(
        [
            ZERO if m <= level else subtract(m, level) if w > 0 else -subtract(m, level)
            for w, m in zip(wanted, magnitudes, strict=True)
        ]
    )
