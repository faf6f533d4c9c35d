"""Hedge or sell (carry.py): a line's projected carry beside the spot trade it replaces."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rebalancer.domain.carry import CarryTerms, hedge_or_sell
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Strategy
from tests.unit.domain.builders import seed_snapshot, seed_strategy, strategy
from tests.unit.domain.test_account_kinds import SEED_TARGETS, seed_unified
from tests.unit.domain.test_planner_properties import portfolios

D = Decimal
MONTH = CarryTerms(horizon_hours=D(720))  # 0.01 % per 8 h, 0.1 % spot fee, 2 bps slippage


def test_the_seed_examples_hedges_against_selling_and_buying_spot() -> None:
    snap, strat = seed_snapshot(), seed_strategy()
    figures = hedge_or_sell(plan(snap, strat), snap, strat, MONTH, {"BTC": D(40_000)})

    btc, eth = figures
    # Short BTC 1,000: 90 fundings of 0.01 % received; the sale it replaces sells 0.02 BTC.
    assert (btc.line, btc.hedge, btc.added) == ("BTC", D(-1000), D(-1000))
    assert btc.funding == D(-9)
    assert btc.interest == 0  # a segregated account borrows nothing
    assert btc.spot_trade == D(-1000)
    assert (btc.fees, btc.slippage) == (D(1), D("0.2"))
    assert btc.realised_gain == D(200)  # 0.02 x (50,000 - 40,000)
    assert not btc.carry_exceeds_sale  # the short earns
    # Long ETH 1,000 pays 9; the buy it replaces costs 1.20 and realises nothing.
    assert (eth.funding, eth.spot_trade, eth.realised_gain) == (D(9), D(1000), D(0))
    assert eth.carry_exceeds_sale


def test_a_sale_without_a_cost_basis_has_no_gain_figure() -> None:
    snap, strat = seed_snapshot(), seed_strategy()
    btc, _ = hedge_or_sell(plan(snap, strat), snap, strat, MONTH, {})

    assert btc.realised_gain is None


def test_instrument_rates_override_the_default_and_interest_is_shared_by_notional() -> None:
    snap = replace(seed_unified("11000"), cash=D(-1000))  # 1,000 borrowed
    strat = strategy(SEED_TARGETS, cash="1/6")
    terms = replace(
        MONTH,
        funding_rates={"BTC/USDT:USDT": D("-0.0002")},
        borrow_rate=D("0.0876"),  # 0.001 % per hour: 7.20 on 1,000 over 720 h
    )
    result = plan(snap, strat)
    figures = {f.line: f for f in hedge_or_sell(result, snap, strat, terms, {})}

    btc_hedge, eth_hedge = figures["BTC"].hedge, figures["ETH"].hedge
    gross = abs(btc_hedge) + abs(eth_hedge)
    assert figures["BTC"].funding == btc_hedge * D("-0.0002") * 90
    assert figures["ETH"].funding == eth_hedge * D("0.0001") * 90
    assert figures["BTC"].interest + figures["ETH"].interest == pytest.approx(D("7.2"))
    assert figures["BTC"].interest == D("7.2") * abs(btc_hedge) / gross


def test_the_venues_current_rate_replaces_the_configured_default() -> None:
    snap, strat = seed_snapshot(), seed_strategy()
    btc = "BTC/USDT:USDT"
    perps = {**snap.perps, btc: replace(snap.perps[btc], funding_rate=D("0.0003"))}
    quoted = replace(snap, perps=perps)
    figures = {f.line: f for f in hedge_or_sell(plan(quoted, strat), quoted, strat, MONTH, {})}

    # Short BTC 1,000 at the venue's 0.03 % per 8 h receives 27 over 90 intervals; ETH, whose
    # snapshot gives no rate, keeps the configured 0.01 %.
    assert figures["BTC"].funding == D(-27)
    assert figures["ETH"].funding == D(9)
    configured = replace(MONTH, funding_rates={btc: D("0.0001")})
    pinned = {f.line: f for f in hedge_or_sell(plan(quoted, strat), quoted, strat, configured, {})}
    assert pinned["BTC"].funding == D(-9)  # a rate configured per instrument wins


@pytest.mark.parametrize(
    ("field", "value"),
    [("horizon_hours", "0"), ("funding_interval_hours", "-1"), ("spot_fee", "-0.1")],
)
def test_terms_out_of_range_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        replace(MONTH, **{field: D(value)})


rates = st.integers(-100, 100).map(lambda n: D(n) / 100_000)


@given(portfolios(fee=True), rates, st.integers(1, 2000))
def test_carry_follows_the_rate_the_side_and_the_horizon(
    case: tuple[Snapshot, Strategy], rate: Decimal, hours: int
) -> None:
    snap, strat = case
    assume(snap.equity > 0)
    result = plan(snap, strat)
    terms = CarryTerms(horizon_hours=D(hours), funding_rate=rate)
    longer = replace(terms, horizon_hours=D(2 * hours))
    basis = {a: h.price for a, h in snap.spot.items()}  # bought at today's price: no gain

    figures = hedge_or_sell(result, snap, strat, terms, basis)
    doubled = hedge_or_sell(result, snap, strat, longer, basis)

    assert [f.line for f in figures] == [line.name for line in result.lines if line.instruments]
    for figure, twice in zip(figures, doubled, strict=True):
        assert twice.carry == 2 * figure.carry
        assert figure.funding * figure.hedge * rate >= 0  # longs pay a positive rate
        assert figure.spot_trade == pytest.approx(figure.hedge)  # the sale (or buy) it replaces
        assert figure.spot_cost == pytest.approx(abs(figure.spot_trade) * D("0.0012"))
        assert figure.realised_gain == pytest.approx(D(0))
        assert figure.carry_exceeds_sale == (figure.hedge != 0 and figure.carry > figure.spot_cost)
