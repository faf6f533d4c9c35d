"""The cap slack (`Strategy.cap_slack`, opt-in): while the wanted hedges do not fit under the
cap, a gross within the slack of the cap is held, not traded back to it every cycle."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from rebalancer.domain.plan import CapState
from rebalancer.domain.planner import plan
from rebalancer.domain.strategy import Strategy
from tests.unit.domain.builders import perp, snapshot, strategy

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


def test_the_slack_must_keep_the_gross_within_max_leverage() -> None:
    with pytest.raises(ValueError, match="cap_slack"):
        _strategy("0.05", buffer="0")  # the held gross could reach 1.05 x K
    with pytest.raises(ValueError, match="cap_slack"):
        _strategy("-0.01")
    assert _strategy("0.0526", buffer="0.05").cap_slack == D("0.0526")  # 1.0526 x 0.95 < 1


def test_less_than_a_minimum_trade_of_room_under_the_cap_is_held_too() -> None:
    # A wallet of $100: cap 95, gross 46 + 46 = 92 is 3.2 % under it (within 5 % anyway);
    # at a 1 % slack only the rule "room below one minimum trade (10)" holds it.
    snap = _capped("-0.00092", "0.0184", futures_equity="100")
    assert plan(snap, _strategy("0.01")).orders == ()
    assert any("cap_slack" in note for note in plan(snap, _strategy("0.01")).notes)
    snap = _capped("-0.00084", "0.0168", futures_equity="100")  # gross 84: room 11, not below
    assert plan(snap, _strategy("0.01")) == plan(snap, _strategy("0"))
