"""The cap slack (`Strategy.cap_slack`, opt-in): while the wanted hedges do not fit under the
cap, a gross within the slack of the cap is held, not traded back to it every cycle; no hold
ever leaves the gross over max_leverage x K, with or without a collateral buffer."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rebalancer.domain.plan import CapState
from rebalancer.domain.planner import plan
from rebalancer.domain.strategy import Strategy
from tests.unit.domain.builders import perp, snapshot, strategy
from tests.unit.domain.test_planner_class_properties import Case, cases

D = Decimal


def _capped(btc: str, eth: str, futures_equity: str = "1000"):  # type: ignore[no-untyped-def]
    """Spot BTC $7,000 + ETH $3,000 and a futures wallet of $1,000 (V = $11,000): the wanted
    hedges (BTC -1,500, ETH +1,400 at 50/40/10) need 2,900 of gross, far over the cap."""
    return snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", btc), perp("ETH/USDT:USDT", "2500", eth)],
        futures_equity,
    )


def _strategy(slack: str, buffer: str = "0.05") -> Strategy:
    s = strategy({"BTC": "0.5", "ETH": "0.4"}, cash="0.1", min_trade="10")
    return replace(s, collateral_buffer=D(buffer), cap_slack=D(slack))


def test_a_gross_a_little_over_the_cap_is_held_within_the_slack() -> None:
    # Cap 0.95 x 1,000 = 950; gross 480 + 480 = 960 is over it by 1 %, within a 5 % slack.
    snap = _capped("-0.0096", "0.192")
    held = plan(snap, _strategy("0.05"))
    assert held.cap is CapState.OVER
    assert held.orders == ()
    assert held.gross_after == held.gross_before == D(960)
    assert any("cap_slack" in note for note in held.notes)
    # Without the slack the same snapshot de-levers: reductions back under the cap.
    delevered = plan(snap, _strategy("0"))
    assert delevered.cap is CapState.OVER
    assert delevered.orders
    assert all(order.reduce_only for order in delevered.orders)
    assert delevered.gross_after <= D(950)


def test_a_gross_a_little_under_the_cap_is_held_within_the_slack() -> None:
    snap = _capped("-0.0092", "0.184")  # gross 460 + 460 = 920: 3.2 % under the cap of 950
    held = plan(snap, _strategy("0.05"))
    assert held.cap is CapState.BINDING
    assert held.orders == ()
    increased = plan(snap, _strategy("0"))
    assert increased.orders
    assert increased.gross_after > D(920)


@pytest.mark.parametrize(
    ("btc", "eth"),
    [("-0.0105", "0.21"), ("-0.0085", "0.17")],  # gross 1,050 (over by 10.5 %), 850 (10.5 % under)
)
def test_outside_the_slack_the_plan_is_the_plan_without_it(btc: str, eth: str) -> None:
    snap = _capped(btc, eth)
    with_slack = plan(snap, _strategy("0.05"))
    assert with_slack == plan(snap, _strategy("0"))
    assert with_slack.orders


def test_hedges_that_fit_are_planned_as_without_the_slack() -> None:
    # Spot near target (V = $10,900): the wanted hedges (BTC -50, ETH -40) fit under 950.
    snap = snapshot(
        {"BTC": ("50000", "0.11"), "ETH": ("2500", "1.76")},
        [perp("BTC/USDT:USDT", "50000", "-0.001"), perp("ETH/USDT:USDT", "2500", "0.02")],
        "1000",
    )
    s = _strategy("0.05")
    result = plan(snap, s)
    assert result.cap is CapState.WITHIN
    assert result == plan(snap, _strategy("0"))


def test_the_slack_is_a_fraction_up_to_a_half() -> None:
    with pytest.raises(ValueError, match="cap_slack"):
        _strategy("-0.01")
    with pytest.raises(ValueError, match="cap_slack"):
        _strategy("0.51")
    assert _strategy("0.5").cap_slack == D("0.5")
    assert _strategy("0.05", buffer="0").cap_slack == D("0.05")  # needs no buffer


def test_without_a_buffer_a_gross_under_the_cap_is_held_and_one_over_it_de_levers() -> None:
    # No buffer: the cap is 1 x 1,000. Gross 960 (4 % under it) is held at a 5 % slack.
    under = _capped("-0.0096", "0.192")
    held = plan(under, _strategy("0.05", buffer="0"))
    assert held.cap is CapState.BINDING
    assert held.orders == ()
    assert any("cap_slack" in note for note in held.notes)
    # Gross 1,010, over the 1x cap by 1 %: never held, de-levered as without the slack.
    over = _capped("-0.0101", "0.202")
    delevered = plan(over, _strategy("0.05", buffer="0"))
    assert delevered.cap is CapState.OVER
    assert delevered.orders
    assert all(order.reduce_only for order in delevered.orders)
    assert delevered.gross_after <= D(1000)
    assert delevered == plan(over, _strategy("0", buffer="0"))


def test_a_slack_wider_than_the_buffer_holds_up_to_the_1x_cap_and_no_further() -> None:
    # Buffer 2 %: the cap is 980; a 10 % slack would reach 1,078, but holds stop at 1 x 1,000.
    s = _strategy("0.1", buffer="0.02")
    assert plan(_capped("-0.0099", "0.198"), s).orders == ()  # gross 990: over 980, under 1,000
    over = _capped("-0.01005", "0.201")  # gross 1,005: over the 1x cap
    delevered = plan(over, s)
    assert delevered.orders
    assert delevered.gross_after <= D(980)
    assert delevered == plan(over, _strategy("0", buffer="0.02"))


def test_less_than_a_minimum_trade_of_room_under_the_cap_is_held_too() -> None:
    # A wallet of $100: cap 95, gross 46 + 46 = 92 is 3.2 % under it (within 5 % anyway);
    # at a 1 % slack only the rule "room below one minimum trade (10)" holds it.
    snap = _capped("-0.00092", "0.0184", futures_equity="100")
    assert plan(snap, _strategy("0.01")).orders == ()
    assert any("cap_slack" in note for note in plan(snap, _strategy("0.01")).notes)
    snap = _capped("-0.00084", "0.0168", futures_equity="100")  # gross 84: room 11, not below
    assert plan(snap, _strategy("0.01")) == plan(snap, _strategy("0"))


@settings(max_examples=150)
@given(
    cases(minimums=True, fee=True),
    st.sampled_from(["0.02", "0.1"]),
    st.sampled_from(["0", "0.05"]),
    st.sampled_from(["0.8", "0.9", "0.97", "0.999", "1", "1.01", "1.04", "1.2"]),
)
def test_the_slack_only_ever_replaces_a_plan_by_a_hold_in_its_zone(
    case: Case, slack: str, buffer: str, ratio: str
) -> None:
    """With any markets (refused reductions, minimums, fees) and a gross placed near the cap:
    the plan with a slack is the plan without it, or it holds every hedge, and only while the
    wanted hedges do not fit and the gross is in the zone, never over max_leverage x K."""
    snap = case.snapshot
    gross = snap.gross_notional
    assume(gross > 0)
    s0 = replace(case.strategy, collateral_buffer=D(buffer), cap_slack=D(0))
    sf = replace(s0, cap_slack=D(slack))
    # The futures equity that puts the gross at `ratio` x the (buffered) cap.
    futures = gross / (D(ratio) * s0.max_leverage * (1 - s0.collateral_buffer))
    snap = replace(snap, futures_equity=futures)
    assume(snap.equity > 0)
    without, with_slack = plan(snap, s0), plan(snap, sf)
    if with_slack == without:
        return
    assert with_slack.orders == ()
    assert with_slack.skipped == ()
    assert any("cap_slack" in note for note in with_slack.notes)
    assert with_slack.cap is not CapState.WITHIN
    cap = s0.max_leverage * snap.collateral * (1 - s0.collateral_buffer)
    assert gross <= s0.max_leverage * snap.collateral  # never held over 1x
    assert gross <= cap * (1 + sf.cap_slack)
    assert gross >= min(cap * (1 - sf.cap_slack), cap - sf.min_trade_notional)
    assert [line.hedge_after for line in with_slack.lines] == [
        line.hedge_before for line in with_slack.lines
    ]
