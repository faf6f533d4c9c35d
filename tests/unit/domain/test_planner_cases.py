"""Planner cases found by a differential check against the continuous optimum (issue 15, D1..D8).

Each test is the minimal case of one defect: amounts in the quote, marks of 1 and steps of 1
unless said, no fees unless said.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rebalancer.domain.plan import CapState, Plan, Side, SkipReason
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import PerpState
from rebalancer.domain.strategy import Band, Group, RebalanceTo
from tests.unit.domain.builders import perp, snapshot, strategy

D = Decimal


def _unit(symbol: str, position: str = "0", **kwargs: str) -> PerpState:
    return perp(symbol, "1", position, step="1", **kwargs)


def _line(result: Plan, name: str) -> object:
    return next(line for line in result.lines if line.name == name)


@pytest.mark.parametrize(
    ("min_trade", "b_min_amount"), [("25", "1"), ("0", "25")], ids=["min_trade", "min_amount"]
)
def test_d1_a_refused_reduction_trims_the_increases_instead_of_dropping_them(
    min_trade: str, b_min_amount: str
) -> None:
    # V = 100,000, cap 10,000. A wants +5,510 from 0; B wants 4,510 and holds 4,520. The
    # water-filled 5,500 / 4,500 needs B's -20, which is below the minimum: B stays at 4,520
    # and A gets the 5,480 that is left, not nothing.
    snap = snapshot(
        {"C": ("1", "85000")},
        [_unit("A/USDT:USDT"), _unit("B/USDT:USDT", "4520", min_amount=b_min_amount)],
        futures_equity="10000",
        cash="5000",
    )
    strat = strategy(
        {"A": "0.0551", "B": "0.0451", "C": "0.85"}, cash="0.0498", min_trade=min_trade
    )
    result = plan(snap, strat)

    assert result.cap is CapState.BINDING
    assert [(o.instrument, o.side, o.amount) for o in result.orders] == [
        ("A/USDT:USDT", Side.BUY, D(5480))
    ]
    assert result.gross_after == D(10000)
    reason = SkipReason.BELOW_MIN_TRADE if min_trade != "0" else SkipReason.BELOW_MIN_AMOUNT
    assert [(s.instrument, s.reason) for s in result.skipped] == [("B/USDT:USDT", reason)]
    assert _line(result, "A").drift_after == D("-0.0003")  # type: ignore[attr-defined]


def test_d2_group_members_proxied_on_one_perp_count_its_position_once() -> None:
    def case(position: str) -> Plan:
        snap = snapshot(
            {"UNI": ("10", "1000"), "AAVE": ("100", "100")},
            [perp("ETH/USDT:USDT", "2000", position)],
            futures_equity="20000",
        )
        strat = strategy(
            {"UNI": "0.2", "AAVE": "0.2"},
            cash="0.6",
            proxies={"UNI": ("ETH/USDT:USDT", "1"), "AAVE": ("ETH/USDT:USDT", "1")},
            groups=(Group("defi", ("UNI", "AAVE")),),
        )
        return plan(snap, strat)

    # V = 40,000: the group wants 16,000 and holds 20,000 of spot, so the hedge is -2 ETH.
    on_target = case("-2")
    assert on_target.orders == ()
    (line,) = on_target.lines
    assert line.hedge_before == D(-4000)
    assert line.drift_before == 0

    flipped = case("2")
    assert sum((o.signed_quantity for o in flipped.orders), D(0)) == D(-4)
    assert flipped.lines[0].hedge_after == D(-4000)


def test_d5_band_mode_under_a_binding_cap_minimises_the_largest_drift() -> None:
    # V = 100,000, cap 8,000, band 1 pt. A sits in its band at 5,800 of 6,000; B at 0 of 6,000.
    snap = snapshot(
        {},
        [_unit("A/USDT:USDT", "5800"), _unit("B/USDT:USDT")],
        futures_equity="8000",
        cash="92000",
    )
    strat = strategy(
        {"A": "0.06", "B": "0.06"}, cash="0.88", to=RebalanceTo.BAND, band=Band(absolute=D("0.01"))
    )
    result = plan(snap, strat)

    assert result.cap is CapState.BINDING
    assert [line.hedge_after for line in result.lines] == [D(4000), D(4000)]
    assert [line.drift_after for line in result.lines] == [D("-0.02"), D("-0.02")]


def test_d8_a_hedgeable_line_is_not_made_worse_behind_an_unhedgeable_one() -> None:
    # As D1, with A an index group G whose member M holds a helpful +1,000 stray, and an
    # unhedgeable U at +10 pts holding the largest drift. G must not go from -4.51 to -5.51.
    snap = snapshot(
        {"U": ("1", "30000")},
        [
            _unit("GIX/USDT:USDT"),
            _unit("M/USDT:USDT", "1000"),
            _unit("B/USDT:USDT", "4520"),
        ],
        futures_equity="10000",
        cash="60000",
    )
    strat = strategy(
        {"M": "0.0551", "B": "0.0451", "U": "0.2"},
        cash="0.6998",
        groups=(Group("G", ("M",), index="GIX/USDT:USDT"),),
        min_trade="25",
    )
    result = plan(snap, strat)

    g = _line(result, "G")
    assert g.drift_before == D("-0.0451")  # type: ignore[attr-defined]
    assert abs(g.drift_after) < abs(g.drift_before)  # type: ignore[attr-defined]
    assert ("GIX/USDT:USDT", Side.BUY) in [(o.instrument, o.side) for o in result.orders]
    assert result.gross_after <= D(10000)


def test_d3_rounding_never_trades_a_line_farther_from_target_than_no_trade() -> None:
    # V = 10,070; the target hedge is -70; the position is -0.001 BTC = -100 (-0.30 pt). One
    # step is 100: buying it back ends at +0.70 pt, farther from target than staying.
    snap = snapshot(
        {"BTC": ("100000", "0.0707")},
        [perp("BTC/USDT:USDT", "100000", "-0.001")],
        futures_equity="3000",
    )
    result = plan(snap, strategy({"BTC": "7000/10070"}, cash="3070/10070"))

    assert result.orders == ()
    (line,) = result.lines
    assert line.hedge_after == line.hedge_before == D(-100)


def test_d6_a_flip_whose_close_is_refused_is_one_order_from_the_real_position() -> None:
    # -0.004 BTC held, minimum amount 0.005, target +0.020: the close alone is refused, one
    # buy of 0.024 is not.
    snap = snapshot(
        {"BTC": ("50000", "0.1")},
        [perp("BTC/USDT:USDT", "50000", "-0.004", min_amount="0.005")],
        futures_equity="2000",
        cash="5000",
    )
    result = plan(snap, strategy({"BTC": "0.5"}, cash="0.5"))

    assert [
        (o.side, o.amount, o.reduce_only, o.position_before, o.position_after)
        for o in result.orders
    ] == [(Side.BUY, D("0.024"), False, D("-0.004"), D("0.020"))]
    assert result.lines[0].hedge_after == D(1000)


def test_d7_a_multi_leg_line_is_not_traded_farther_from_target() -> None:
    # Pro-rata group (A, B), 1,000 each. A holds 1,040 and its -40 is under its minimum amount
    # of 50; B holds 990. B must carry the group to 2,000 (-30), not buy its own +10.
    snap = snapshot(
        {},
        [_unit("A/USDT:USDT", "1040", min_amount="50"), _unit("B/USDT:USDT", "990")],
        futures_equity="10000",
        cash="90000",
    )
    strat = strategy({"A": "0.01", "B": "0.01"}, cash="0.98", groups=(Group("AB", ("A", "B")),))
    result = plan(snap, strat)

    assert [(o.instrument, o.side, o.amount) for o in result.orders] == [
        ("B/USDT:USDT", Side.SELL, D(30))
    ]
    (line,) = result.lines
    assert line.hedge_after == D(2000)
    assert [(s.instrument, s.reason) for s in result.skipped] == [
        ("A/USDT:USDT", SkipReason.BELOW_MIN_AMOUNT)
    ]


def _fees(result: Plan, rate: Decimal) -> Decimal:
    return sum((o.notional * rate for o in result.orders), D(0))


def test_d4_the_fee_reserve_counts_every_legs_traded_notional() -> None:
    # An index group with strays +5,000 and -5,000 on its member perps (net 0) wants +10,000:
    # closing both strays trades 10,000 on top of the index, and pays fees on all of it.
    snap = snapshot(
        {},
        [
            _unit("IX/USDT:USDT", fee="0.001"),
            _unit("M1/USDT:USDT", "5000", fee="0.001"),
            _unit("M2/USDT:USDT", "-5000", fee="0.001"),
        ],
        futures_equity="10000",
        cash="90000",
    )
    strat = strategy(
        {"M1": "0.05", "M2": "0.05"},
        cash="0.9",
        groups=(Group("G", ("M1", "M2"), index="IX/USDT:USDT"),),
    )
    result = plan(snap, strat)

    fees = _fees(result, D("0.001"))
    assert fees > D(19)
    assert result.gross_after <= D(10000) - fees  # the cap holds after paying the fees
    assert result.gross_after >= D(9970)  # and the reserve is not wasteful


def test_d4_the_fee_reserve_is_close_to_the_fees_the_plan_pays() -> None:
    # Cap-bound hedges already near their allocation trade little: the reserve must not set
    # aside the fees of closing them (old reserve: 0.05 % of ~2,000 = 1.0, 30x the fees).
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [
            perp("BTC/USDT:USDT", "50000", "-0.019", fee="0.0005"),
            perp("ETH/USDT:USDT", "2500", "0.38", fee="0.0005"),
        ],
        futures_equity="1950",
    )
    result = plan(snap, strategy({"BTC": "1/2", "ETH": "1/3"}, cash="1/6"))

    assert result.cap is CapState.BINDING
    fees = _fees(result, D("0.0005"))
    reserve = D(1950) - result.leverage_budget
    assert result.gross_after <= D(1950) - fees
    assert reserve <= 2 * fees + D("0.1")


def test_a_skip_keeps_its_own_reason() -> None:
    # D8 without the unhedgeable line: on today's planner the never-worse guard fired and
    # wrote "no allocation improves" over B's minimum-trade skip, hiding the real cause.
    snap = snapshot(
        {},
        [
            _unit("GIX/USDT:USDT"),
            _unit("M/USDT:USDT", "1000"),
            _unit("B/USDT:USDT", "4520"),
        ],
        futures_equity="10000",
        cash="90000",
    )
    strat = strategy(
        {"M": "0.0551", "B": "0.0451"},
        cash="0.8998",
        groups=(Group("G", ("M",), index="GIX/USDT:USDT"),),
        min_trade="25",
    )
    result = plan(snap, strat)

    assert [(s.instrument, s.reason) for s in result.skipped] == [
        ("B/USDT:USDT", SkipReason.BELOW_MIN_TRADE)
    ]
    assert result.largest_drift_after < result.largest_drift_before


def test_over_the_cap_rounding_towards_zero_still_delevers() -> None:
    # The D3 rule must not hold back a reduction that brings the account under its cap:
    # -0.001 BTC = -100 with a cap of 70; the allowed -70 rounds to 0, farther from -70 than
    # -100 is, but staying would leave the account over the cap.
    snap = snapshot(
        {"BTC": ("100000", "0.01")},
        [perp("BTC/USDT:USDT", "100000", "-0.001")],
        futures_equity="70",
    )
    result = plan(snap, strategy({"BTC": "500/1070"}, cash="570/1070"))

    assert result.cap is CapState.OVER
    assert [(o.side, o.amount, o.reduce_only) for o in result.orders] == [
        (Side.BUY, D("0.001"), True)
    ]
    assert result.gross_after == 0


def test_d5_band_mode_keeps_every_line_in_its_band_when_the_cap_allows_it() -> None:
    # Cap 10,000: A in band at 5,800 of 6,000, B out at 4,000. The edges (5,800 + 5,000) do
    # not fit, yet 5,000 / 5,000 keeps both lines exactly on their band edge.
    snap = snapshot(
        {},
        [_unit("A/USDT:USDT", "5800"), _unit("B/USDT:USDT", "4000")],
        futures_equity="10000",
        cash="90000",
    )
    strat = strategy(
        {"A": "0.06", "B": "0.06"}, cash="0.88", to=RebalanceTo.BAND, band=Band(absolute=D("0.01"))
    )
    result = plan(snap, strat)

    assert result.cap is CapState.BINDING
    assert all(abs(line.drift_after) <= D("0.01") for line in result.lines)
    assert result.gross_after <= D(10000)


def test_over_the_cap_a_flip_under_the_minimum_trade_still_closes() -> None:
    # +0.02 BTC (+1,000) against a cap of 500 and a target of -100: the line's trades are
    # under the minimum trade of 2,000, but de-levering reductions are exempt, so the close
    # goes and only the reopening is held back.
    snap = snapshot(
        {"BTC": ("50000", "0.1")},
        [perp("BTC/USDT:USDT", "50000", "0.02")],
        futures_equity="500",
    )
    result = plan(snap, strategy({"BTC": "4900/5500"}, cash="600/5500", min_trade="2000"))

    assert result.cap is CapState.OVER
    assert [(o.side, o.amount, o.reduce_only) for o in result.orders] == [
        (Side.SELL, D("0.02"), True)
    ]
    assert [(s.base_quantity, s.reason) for s in result.skipped] == [
        (D("-0.002"), SkipReason.BELOW_MIN_TRADE)
    ]


def test_over_the_cap_a_line_resplit_that_frees_gross_goes_ahead() -> None:
    # Pro-rata group (A, B) holding -300 and +600 (net 300 on target, gross 900) against a cap
    # of 400. Steps of 100 put each leg at 100: the line ends 100 short of target, but the
    # gross falls to 200, under the cap. Holding it back as "no closer" would stay over it.
    snap = snapshot(
        {},
        [
            perp("A/USDT:USDT", "1", "-300", step="100"),
            perp("B/USDT:USDT", "1", "600", step="100"),
        ],
        futures_equity="400",
        cash="99600",
    )
    strat = strategy(
        {"A": "0.0015", "B": "0.0015"}, cash="0.997", groups=(Group("AB", ("A", "B")),)
    )
    result = plan(snap, strat)

    assert result.cap is CapState.OVER
    assert result.gross_after == D(200)
    assert result.lines[0].hedge_after == D(200)
