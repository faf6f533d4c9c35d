"""Water-filling the leverage budget across hedge lines."""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

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
