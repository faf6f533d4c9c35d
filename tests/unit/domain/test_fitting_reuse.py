"""Fitting reuses a line's sizing from the round before when its share and pins are exactly the
same (the backtest's speed, issue 12): over random cases of every class the planner's tests
draw, a plan made that way is the plan made sizing every line afresh in every round, down to
the representation of every decimal in it."""

from __future__ import annotations

from functools import partial
from unittest import mock

from benchmarks.compare_planner import Case
from hypothesis import given, settings
from hypothesis import strategies as st

from rebalancer.domain import fitting, planner
from rebalancer.domain.fitting import fit
from rebalancer.domain.plan import Plan
from tests.unit.domain.test_planner_class_properties import cases


def _both(case: Case) -> tuple[Plan, Plan]:
    reused = planner.plan(case.snapshot, case.strategy)
    with mock.patch.object(planner, "fit", partial(fit, reuse=False)):
        fresh = planner.plan(case.snapshot, case.strategy)
    return reused, fresh


ANY_CLASS = st.one_of(
    cases(minimums=True, collateral="short"),
    cases(minimums=True, groups=True, fee=True),
    cases(shared=True, minimums=True, fee=True),
    cases(band=True, collateral="short"),
    cases(coarse=True, minimums=True, fee=True),
    cases(groups=True, collateral="ample"),
)


@settings(max_examples=300)
@given(ANY_CLASS)
def test_reused_sizing_gives_the_plan_fresh_sizing_gives(case: Case) -> None:
    reused, fresh = _both(case)
    assert reused == fresh
    assert repr(reused) == repr(fresh)  # Decimal exponents too, not only values


def test_the_cases_do_reuse_sizings() -> None:
    """Some drawn cases size fewer lines with reuse than without: the property is not vacuous."""
    saved: list[int] = []

    @settings(max_examples=60, derandomize=True)
    @given(cases(minimums=True, collateral="short"))
    def probe(case: Case) -> None:
        calls = []
        for reuse in (True, False):
            with (
                mock.patch.object(planner, "fit", partial(fit, reuse=reuse)),
                mock.patch.object(fitting, "line_positions", wraps=fitting.line_positions) as spy,
            ):
                planner.plan(case.snapshot, case.strategy)
            calls.append(spy.call_count)
        assert calls[0] <= calls[1]
        saved.append(calls[1] - calls[0])

    probe()
    assert max(saved) > 0
