"""`hedging.max_borrow`: a plan never raises a unified account's stressed borrowing past it.

Borrowing is B(G) = max(0, stress x gross + fees - quote): the quote the account would borrow
if every hedge moved against it by the stress move once the plan's fees were paid (planner.py).
The limit shrinks the plan's increases; it never forces de-levering.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rebalancer.domain.plan import CapState, Plan
from rebalancer.domain.planner import plan, stressed_borrowing
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Strategy
from rebalancer.render.plan_json import plan_to_dict
from tests.unit.domain.builders import perp, snapshot, strategy
from tests.unit.domain.test_account_kinds import SEED_TARGETS, seed_unified, unified_portfolios
from tests.unit.domain.test_planner_properties import portfolios

D = Decimal


def _limited(max_borrow: str, stress: str = "1", **kwargs: object) -> Strategy:
    base = strategy(SEED_TARGETS, cash="1/6", **kwargs)  # type: ignore[arg-type]
    return replace(base, max_borrow=D(max_borrow), borrow_stress=D(stress))


def _fees(result: Plan, snap: Snapshot) -> Decimal:
    return sum((o.notional * snap.perps[o.instrument].rules.taker_fee for o in result.orders), D(0))


def test_without_a_limit_the_seed_example_hedges_in_full_and_reports_its_borrowing() -> None:
    snap = replace(seed_unified("11000"), cash=D(500))
    result = plan(snap, replace(strategy(SEED_TARGETS, cash="1/6"), borrow_stress=D("0.5")))

    # V = 10,500: short BTC 7,000 - 5,250 = 1,750, long ETH 3,500 - 3,000 = 500.
    assert result.gross_after == D(2250)
    borrowing = result.borrowing
    assert borrowing is not None
    assert borrowing.borrowed == 0
    assert borrowing.limit is None
    assert not borrowing.binding
    assert borrowing.stressed_before == 0
    assert borrowing.stressed_after == D(625)  # 0.5 x 2,250 - 500 of quote
    assert plan_to_dict(result)["borrowing"]["stressed_after"] == "625"


def test_a_binding_limit_shrinks_the_increases_to_the_borrowing_room() -> None:
    # Quote 500, no borrowing allowed, stress 100 %: the hedges may end at 500 gross.
    snap = replace(seed_unified("11000"), cash=D(500))
    result = plan(snap, _limited("0"))

    assert result.gross_after <= D(500)
    assert result.gross_after >= D(490)  # the room is used, not dropped
    assert result.cap is CapState.BINDING
    borrowing = result.borrowing
    assert borrowing is not None
    assert borrowing.binding
    assert borrowing.stressed_after == 0
    btc = result.lines[0]
    assert btc.reasons[0].startswith("borrowing limit (hedging.max_borrow): hedge limited to")
    # The room went where it makes the largest drift smallest: BTC's (1,750 over target).
    assert [(o.instrument, o.side.value) for o in result.orders] == [("BTC/USDT:USDT", "sell")]


def test_the_limit_is_a_share_of_equity() -> None:
    snap = replace(seed_unified("11000"), cash=D(500))  # V = 10,500
    result = plan(snap, _limited("0.1"))  # 1,050 may be borrowed: 1,550 of gross at 100 %

    assert D(1540) <= result.gross_after <= D(1550)
    assert result.borrowing is not None
    assert result.borrowing.limit == D(1050)


def test_fees_count_as_borrowing_so_the_room_is_net_of_them() -> None:
    base = replace(seed_unified("11000"), cash=D(500))
    perps = {
        s: replace(p, rules=replace(p.rules, taker_fee=D("0.001"))) for s, p in base.perps.items()
    }
    snap = replace(base, perps=perps)
    result = plan(snap, _limited("0"))

    fees = _fees(result, snap)
    assert fees > 0
    assert result.gross_after + fees <= D(500)


def test_an_account_past_the_limit_may_reduce_but_never_increases_its_gross() -> None:
    # Borrowed 3,000 already with a 5,000 BTC short (target: 3,500): past a limit of 1 %.
    snap = replace(
        seed_unified("11000"),
        cash=D(-3000),
        perps={
            "BTC/USDT:USDT": perp("BTC/USDT:USDT", "50000", "-0.1"),
            "ETH/USDT:USDT": perp("ETH/USDT:USDT", "2500", "0"),
        },
    )
    result = plan(snap, _limited("0.01"))

    assert result.cap is not CapState.OVER  # the limit never forces de-levering
    assert result.gross_after <= result.gross_before
    # The BTC short is cut to target first; the gross it frees shorts ETH (667 over target).
    sides = [(o.instrument, o.side.value, o.reduce_only) for o in result.orders]
    assert sides == [("BTC/USDT:USDT", "buy", True), ("ETH/USDT:USDT", "sell", False)]
    borrowing = result.borrowing
    assert borrowing is not None
    assert borrowing.stressed_after <= borrowing.stressed_before


def test_a_segregated_account_borrows_nothing_and_ignores_the_limit() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")],
        futures_equity="2000",
    )
    result = plan(snap, _limited("0"))

    assert result.borrowing is None
    assert result.gross_after == D(2000)
    assert plan_to_dict(result)["borrowing"] is None


@pytest.mark.parametrize(("field", "value"), [("max_borrow", "-0.1"), ("borrow_stress", "0")])
def test_the_strategy_refuses_limits_out_of_range(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        replace(strategy(SEED_TARGETS, cash="1/6"), **{field: D(value)})


@st.composite
def limited(draw: st.DrawFn) -> tuple[Snapshot, Strategy]:
    snap, strat = draw(unified_portfolios(fee=True))
    assume(snap.equity > 0)
    max_borrow = D(draw(st.integers(0, 100))) / 100
    stress = D(draw(st.integers(1, 100))) / 100
    return snap, replace(strat, max_borrow=max_borrow, borrow_stress=stress)


@given(limited())
def test_a_plan_never_raises_stressed_borrowing_past_the_limit_or_above_now(
    case: tuple[Snapshot, Strategy],
) -> None:
    snap, strat = case
    result = plan(snap, strat)
    stress = strat.borrow_stress
    assert strat.max_borrow is not None
    limit = strat.max_borrow * snap.equity
    before = stressed_borrowing(snap, stress, snap.gross_notional, D(0))
    after = stressed_borrowing(snap, stress, result.gross_after, _fees(result, snap))
    if result.cap is not CapState.OVER:
        assert after <= max(limit, before)
    else:  # de-levering under the leverage cap only ever lowers the gross
        assert result.gross_after <= result.gross_before
    borrowing = result.borrowing
    assert borrowing is not None
    assert (borrowing.stressed_before, borrowing.stressed_after) == (before, after)


@given(limited())
def test_under_the_limit_the_other_rules_still_hold(case: tuple[Snapshot, Strategy]) -> None:
    snap, strat = case
    result = plan(snap, strat)
    fees = _fees(result, snap)
    # The leverage cap, the exchange's steps and minimums, reductions first.
    assert result.gross_after <= strat.max_leverage * (snap.collateral - fees) or (
        result.gross_after <= result.gross_before and result.cap is CapState.OVER
    )
    for order in result.orders:
        rules = snap.perps[order.instrument].rules
        assert order.amount % rules.amount_step == 0
        assert order.amount >= rules.min_amount
    reductions = [o.reduce_only for o in result.orders]
    assert reductions == sorted(reductions, reverse=True)
    if result.borrowing is not None and result.borrowing.binding:
        assert result.cap is CapState.BINDING
        assert result.largest_drift_after <= result.largest_drift_before


@given(unified_portfolios(fee=True), st.integers(1, 100))
def test_a_limit_that_cannot_bind_changes_nothing(
    case: tuple[Snapshot, Strategy], stress_pct: int
) -> None:
    snap, strat = case
    assume(snap.equity > 0)
    stress = D(stress_pct) / 100
    free = replace(strat, borrow_stress=stress)
    # More than any plan could borrow: every leg at the larger of the cap and the gross now,
    # after twice the largest fees any plan pays (the fee rounds reserve 1 % above the fees),
    # plus a unit for the rounding of the share.
    cap = max(D(0), strat.max_leverage * snap.collateral)
    gross = snap.gross_notional
    fees = 2 * D("0.0005") * (gross + max(cap, gross))
    worst = stressed_borrowing(snap, stress, max(cap, gross), fees) + 1
    assume(worst <= snap.equity)
    bounded = replace(free, max_borrow=worst / snap.equity)

    unlimited, limited_plan = plan(snap, free), plan(snap, bounded)
    assert limited_plan.orders == unlimited.orders
    assert limited_plan.borrowing is not None
    assert not limited_plan.borrowing.binding


@given(portfolios(fee=True))
def test_the_limit_never_touches_a_segregated_plan(case: tuple[Snapshot, Strategy]) -> None:
    snap, strat = case
    assume(snap.equity > 0)
    assert plan(snap, replace(strat, max_borrow=D(0))).orders == plan(snap, strat).orders
