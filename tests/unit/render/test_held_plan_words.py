"""A plan held within the cap slack says so: it does not claim to de-lever."""

from __future__ import annotations

from rebalancer.domain.planner import plan
from tests.unit.domain.test_cap_slack import _capped, _strategy
from tests.unit.render.test_collateral_words import _printed


def test_a_held_plan_over_the_cap_says_nothing_is_placed_and_why() -> None:
    snap = _capped("-0.0096", "0.192")  # gross 960, 1 % over the cap of 950
    held = _printed(plan(snap, _strategy("0.05")))
    assert "over the leverage cap: nothing is placed (see the notes)" in held
    assert "note: hedges held: the gross 960.00 is within hedging.cap_slack (0.05)" in held
    delevering = _printed(plan(snap, _strategy("0")))
    assert "over the leverage cap: the plan de-levers first" in delevering
