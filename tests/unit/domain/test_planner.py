"""Planner behaviour beyond the worked examples: the cap, ordering, rounding, skips, bands."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rebalancer.domain.plan import CapState, LineStatus, Side, SkipReason
from rebalancer.domain.planner import PlanningError, plan
from rebalancer.domain.strategy import Band, RebalanceTo
from tests.unit.domain.builders import perp, seed_snapshot, seed_strategy, snapshot, strategy

D = Decimal


def test_short_collateral_splits_the_budget_to_minimise_the_largest_drift() -> None:
    result = plan(seed_snapshot(futures_equity="1000"), seed_strategy())

    # V = 11,000: BTC wants -1,500 and ETH +666.67, but only 1,000 of gross fits. Both lines
    # give up the same 583.33, the allocation with the smallest largest drift.
    assert result.cap is CapState.BINDING
    btc, eth = result.lines
    assert btc.desired_hedge - btc.allowed_hedge == -(eth.desired_hedge - eth.allowed_hedge)
    assert abs(btc.allowed_hedge) + abs(eth.allowed_hedge) == D(1000)
    assert btc.allowed_hedge.quantize(D("0.01")) == D("-916.67")
    assert result.gross_after <= D(1000)
    assert result.required_collateral.quantize(D("0.01")) == D("2166.67")
    assert result.collateral_shortfall == result.required_collateral - D(1000)
    assert all(line.status is LineStatus.CAPPED for line in result.lines)
    assert result.largest_drift_after < result.largest_drift_before


def test_budget_goes_to_the_line_with_the_largest_drift_first() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.18"), "ETH": ("2500", "1.2"), "SOL": ("100", "10")},
        [
            perp("BTC/USDT:USDT", "50000"),
            perp("ETH/USDT:USDT", "2500"),
            perp("SOL/USDT:USDT", "100"),
        ],
        futures_equity="1000",
    )
    # V = 9,000 + 3,000 + 1,000 + 1,000 = 14,000. Wanted: BTC -3,400, ETH +500, SOL +400.
    strat = strategy({"BTC": "0.4", "ETH": "0.25", "SOL": "0.1"}, cash="0.25")
    result = plan(snap, strat)

    assert result.cap is CapState.BINDING
    by_line = {line.name: line for line in result.lines}
    assert by_line["BTC"].hedge_after == D(-1000)
    assert by_line["ETH"].hedge_after == 0
    assert by_line["SOL"].hedge_after == 0
    assert result.largest_drift_after < result.largest_drift_before


def test_over_the_cap_delevers_with_reductions_first() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "-0.04"), perp("ETH/USDT:USDT", "2500", "0.8")],
        futures_equity="1000",
    )
    result = plan(snap, seed_strategy())

    assert result.cap is CapState.OVER
    assert result.gross_before == D(4000)
    assert result.gross_after <= D(1000)
    assert all(o.reduce_only for o in result.orders)


def test_reductions_are_sent_before_increases() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "-0.03"), perp("ETH/USDT:USDT", "2500", "0.2")],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy())

    assert [(o.instrument, o.reduce_only) for o in result.orders] == [
        ("BTC/USDT:USDT", True),
        ("ETH/USDT:USDT", False),
    ]
    assert [o.leg for o in result.orders] == [0, 1]


def test_a_hedge_that_changes_sign_is_closed_reduce_only_then_reopened() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "0.01"), perp("ETH/USDT:USDT", "2500", "0.4")],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy())

    btc = [o for o in result.orders if o.instrument == "BTC/USDT:USDT"]
    assert [(o.side, o.amount, o.reduce_only) for o in btc] == [
        (Side.SELL, D("0.01"), True),
        (Side.SELL, D("0.02"), False),
    ]
    assert result.orders[0].reduce_only


def test_rounding_goes_towards_zero_and_never_adds_leverage() -> None:
    snap = snapshot(
        {"BTC": ("70000", "0.1"), "ETH": ("3000", "1")},
        [perp("BTC/USDT:USDT", "70000"), perp("ETH/USDT:USDT", "3000")],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy())

    btc = next(o for o in result.orders if o.instrument == "BTC/USDT:USDT")
    # Wanted 1,000 / 70,000 = 0.01428..; the step is 0.001, so 0.014 (never 0.015).
    assert btc.amount == D("0.014")
    assert result.gross_after <= D(2000)


def test_below_the_exchange_minimum_notional_is_skipped_with_its_reason() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.1212"), "ETH": ("2500", "1.608")},
        [
            perp("BTC/USDT:USDT", "50000", min_notional="100"),
            perp("ETH/USDT:USDT", "2500", min_notional="20"),
        ],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy())

    assert result.orders == ()
    # V = 12,080: ETH wants +6.67 (0.002 ETH, $5) where the minimum is $20; BTC's -20 is
    # less than one 0.001 step and rounds to nothing.
    assert [(s.instrument, s.reason) for s in result.skipped] == [
        ("ETH/USDT:USDT", SkipReason.BELOW_MIN_NOTIONAL),
    ]
    by_name = {line.name: line for line in result.lines}
    assert by_name["ETH"].status is LineStatus.SKIPPED
    assert SkipReason.BELOW_MIN_NOTIONAL.value in by_name["ETH"].reasons
    assert by_name["BTC"].status is LineStatus.ON_TARGET


def test_reduce_only_orders_are_exempt_from_the_minimum_notional() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.12"), "ETH": ("2500", "1.6")},
        [
            perp("BTC/USDT:USDT", "50000", "-0.001", min_notional="100"),
            perp("ETH/USDT:USDT", "2500"),
        ],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy())

    assert [(o.instrument, o.notional, o.reduce_only) for o in result.orders] == [
        ("BTC/USDT:USDT", D(50), True)
    ]


def test_the_configured_minimum_trade_skips_small_adjustments() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.1404"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "-0.02"), perp("ETH/USDT:USDT", "2500", "0.4")],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy(min_trade="50"))

    assert result.orders == ()
    assert {s.reason for s in result.skipped} == {SkipReason.BELOW_MIN_TRADE}


def test_an_asset_without_a_perp_is_reported_unhedgeable_not_ignored() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "XYZ": ("1", "3000")},
        [perp("BTC/USDT:USDT", "50000")],
        futures_equity="2000",
    )
    result = plan(snap, strategy({"BTC": "1/2", "XYZ": "1/3"}, cash="1/6"))

    xyz = next(line for line in result.lines if line.name == "XYZ")
    assert xyz.status is LineStatus.UNHEDGEABLE
    assert "no perp market XYZ/USDT:USDT listed" in xyz.reasons
    assert xyz.drift_before == xyz.drift_after == D(-1000) / D(12000)
    assert [o.instrument for o in result.orders] == ["BTC/USDT:USDT"]


def test_a_proxy_hedge_scales_the_order_by_its_beta() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "XYZ": ("1", "3000")},
        [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")],
        futures_equity="4000",
    )
    strat = strategy(
        {"BTC": "0.4", "XYZ": "0.3"}, cash="0.3", proxies={"XYZ": ("ETH/USDT:USDT", "2")}
    )
    result = plan(snap, strat)

    # V = 14,000; XYZ wants 4,200 and holds 3,000: +1,200 of XYZ is +2,400 of ETH at beta 2.
    eth = next(o for o in result.orders if o.instrument == "ETH/USDT:USDT")
    assert eth.side is Side.BUY
    assert eth.notional == D(2400)
    assert result.cap is CapState.WITHIN


def test_band_mode_leaves_lines_inside_the_band_alone() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.124"), "ETH": ("2500", "1.55")},
        [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy(to=RebalanceTo.BAND, band=Band(absolute=D("0.05"))))

    assert result.orders == ()
    assert {line.status for line in result.lines} == {LineStatus.IN_BAND}


def test_band_mode_moves_only_to_the_band_edge() -> None:
    result = plan(
        seed_snapshot(), seed_strategy(to=RebalanceTo.BAND, band=Band(absolute=D("0.05")))
    )

    # Drift is +/-8.33 points of 12,000; the edge is 5 points: each line moves 400 (3.33 pts).
    assert sorted(o.notional for o in result.orders) == [D(400), D(400)]
    assert all(abs(line.drift_after) == D("0.05") for line in result.lines)


def test_a_position_nobody_manages_counts_against_the_cap_and_is_reported() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [
            perp("BTC/USDT:USDT", "50000"),
            perp("ETH/USDT:USDT", "2500"),
            perp("SOL/USDT:USDT", "100", "5"),
        ],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy())

    assert result.cap is CapState.BINDING
    assert result.gross_after <= D(2000)
    assert any("SOL/USDT:USDT" in note for note in result.notes)


def test_fees_are_reserved_out_of_the_cap() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", fee="0.0005"), perp("ETH/USDT:USDT", "2500", fee="0.0005")],
        futures_equity="2000",
    )
    result = plan(snap, seed_strategy())

    fees = sum((o.notional * D("0.0005") for o in result.orders), D(0))
    assert result.gross_after + fees <= D(2000)


def test_no_positive_equity_is_a_planning_error() -> None:
    snap = snapshot({}, [perp("BTC/USDT:USDT", "50000")], futures_equity="0")
    with pytest.raises(PlanningError, match="equity is not positive"):
        plan(snap, strategy({"BTC": "1"}))
