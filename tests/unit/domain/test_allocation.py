"""Water-filling the leverage budget across hedge lines."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from rebalancer.domain.allocation import allocate, shortfall_level

D = Decimal


def test_everything_fits_under_a_large_budget() -> None:
    assert allocate([D(-1000), D(500)], D(2000)) == (D(-1000), D(500))


def test_lines_give_up_the_same_amount_when_the_budget_is_short() -> None:
    assert allocate([D(-1000), D(1000)], D(1000)) == (D(-500), D(500))


def test_small_lines_are_zeroed_rather_than_reversed() -> None:
    assert allocate([D(-3400), D(500), D(400)], D(1000)) == (D(-1000), D(0), D(0))


def test_no_budget_means_no_hedge() -> None:
    assert allocate([D(-10), D(10)], D(0)) == (D(0), D(0))
    assert shortfall_level([D(-10), D(7)], D(0)) == D(10)


amounts = st.lists(st.integers(-(10**6), 10**6).map(D), min_size=1, max_size=12)


@given(amounts, st.integers(0, 2 * 10**6).map(D))
def test_the_allocation_fits_the_budget_and_keeps_each_sign(
    wanted: list[Decimal], budget: Decimal
) -> None:
    result = allocate(wanted, budget)
    with localcontext(Context(prec=80)):  # the exact sum: 28 digits would round the last one up
        gross = sum((abs(r) for r in result), D(0))
    assert gross <= budget or result == tuple(wanted)
    for w, r in zip(wanted, result, strict=True):
        assert abs(r) <= abs(w)
        assert r * w >= 0


@given(amounts, st.integers(0, 2 * 10**6).map(D))
def test_no_other_allocation_within_the_budget_has_a_smaller_largest_shortfall(
    wanted: list[Decimal], budget: Decimal
) -> None:
    level = shortfall_level(wanted, budget)
    largest = max(abs(w - r) for w, r in zip(wanted, allocate(wanted, budget), strict=True))
    assert largest <= level + D("1e-20")  # sizes are rounded down in the last digit
    # Any allocation whose largest shortfall is below `level` needs more than the budget.
    if level > 0:
        tighter = level * D("0.999")
        needed = sum(max(abs(w) - tighter, D(0)) for w in wanted)
        assert needed > budget


def _reference_allocate(wanted: list[Decimal], budget: Decimal) -> tuple[Decimal, ...]:
    """The allocation as first written (one division per count, a shrink per value): the
    faster one must give it to the representation (journals print the digits)."""
    up = Context(prec=28, rounding=ROUND_CEILING)
    down = Context(prec=28, rounding=ROUND_FLOOR)
    sizes = sorted((abs(w) for w in wanted), reverse=True)
    level = D(0)
    if sum(sizes, D(0)) > budget:
        level = sizes[0]
        if budget > 0:
            prefix = D(0)
            for k, size in enumerate(sizes, start=1):
                prefix += size
                level = up.divide(prefix - budget, D(k))
                if level >= (sizes[k] if k < len(sizes) else D(0)):
                    break
    if level == 0:
        return tuple(wanted)
    shrunk = []
    for w in wanted:
        size = down.subtract(abs(w), level)
        shrunk.append(D(0) if size <= 0 else size if w > 0 else -size)
    return tuple(shrunk)


# Hedges as the planner makes them: cut to 1e-8 (so -0E-8 and zeros of other exponents occur),
# or 28-digit quotients, or round numbers with positive exponents.
hedges = st.one_of(
    st.decimals(-(10**7), 10**7, places=8, allow_nan=False),
    st.integers(-(10**9), 10**9).map(lambda n: D(n) / 7),
    st.integers(-50, 50).map(lambda n: D(n).scaleb(3)),
    st.sampled_from([D("-0E-8"), D("0E-8"), D("0"), D("-0")]),
)


@given(st.lists(hedges, min_size=1, max_size=25), hedges.map(abs))
def test_the_allocation_is_the_reference_one_to_the_representation(
    wanted: list[Decimal], budget: Decimal
) -> None:
    expected = _reference_allocate(wanted, budget)
    assert repr(allocate(wanted, budget)) == repr(expected)
