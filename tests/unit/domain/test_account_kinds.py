"""Account kinds (DESIGN §2): valuation counts every unit once; the cap is on collateral K.

Segregated: K = F, the futures wallet. Unified: K is the exchange's collateral value, and the
quote balance (negative when borrowed) enters V once, not as cash and futures equity both.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rebalancer.domain.margin import margin_health
from rebalancer.domain.plan import CapState
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import AccountKind, Snapshot, SpotHolding
from rebalancer.domain.strategy import Strategy
from rebalancer.snapshot_file import parse_snapshot, snapshot_to_dict
from tests.unit.domain.builders import T0, perp, snapshot, strategy
from tests.unit.domain.test_planner_properties import portfolios

D = Decimal
UNIFIED = AccountKind.UNIFIED
money = st.integers(-10_000_000, 10_000_000).map(lambda n: D(n) / 100)
amounts = st.integers(0, 10_000_000).map(lambda n: D(n) / 100)


def seed_unified(collateral: str) -> Snapshot:
    """DESIGN §2 example 1 in one unified account: the $2,000 of USDT is its quote balance."""
    base = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")],
        futures_equity="0",
        cash="2000",
    )
    return replace(base, kind=UNIFIED, collateral_value=D(collateral))


SEED_TARGETS = {"BTC": "1/2", "ETH": "1/3"}


def test_a_unified_accounts_quote_enters_equity_once() -> None:
    snap = seed_unified("11000")

    assert snap.equity == D(12_000)  # 7,000 BTC + 3,000 ETH + 2,000 USDT, not 14,000
    assert snap.collateral == D(11_000)
    assert snap.borrowed == 0


def test_the_seed_example_gives_the_same_hedges_in_a_unified_account() -> None:
    segregated = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")],
        futures_equity="2000",
    )
    strat = strategy(SEED_TARGETS, cash="1/6")

    both = [plan(s, strat) for s in (segregated, seed_unified("11000"))]

    sides = [[(o.instrument, o.side.value, o.notional) for o in p.orders] for p in both]
    assert sides[0] == sides[1]
    assert sides[0] == [
        ("BTC/USDT:USDT", "sell", D(1000)),
        ("ETH/USDT:USDT", "buy", D(1000)),
    ]


def test_a_unified_cap_is_the_exchanges_collateral_not_the_unsettled_pnl() -> None:
    # No unsettled PnL at all: with F as the cap this account could hedge nothing.
    result = plan(seed_unified("1000"), strategy(SEED_TARGETS, cash="1/6"))

    assert result.cap is CapState.BINDING
    assert D(990) <= result.gross_after <= D(1000)
    assert result.collateral_shortfall == D(1000)


def test_borrowed_quote_is_reported_for_a_unified_account_only() -> None:
    borrowed = replace(seed_unified("9000"), cash=D(-1500))

    assert borrowed.borrowed == D(1500)
    assert borrowed.equity == D(8_500)
    with pytest.raises(ValueError, match="cash must be >= 0"):
        replace(borrowed, kind=AccountKind.SEGREGATED, collateral_value=None)


def test_a_unified_snapshot_without_the_exchanges_collateral_value_is_refused() -> None:
    with pytest.raises(ValueError, match="collateral value"):
        replace(seed_unified("1"), collateral_value=None)
    with pytest.raises(ValueError, match="unified account's figure"):
        Snapshot(T0, "USDT", D(0), D(10), collateral_value=D(10))


@given(
    coins=st.lists(st.tuples(amounts.filter(lambda p: p > 0), amounts), max_size=5),
    quote=amounts,
    to_spot=st.integers(0, 100),
    pnl=money,
    collateral=amounts,
)
def test_the_same_holdings_are_worth_the_same_in_either_kind(
    coins: list[tuple[Decimal, Decimal]],
    quote: Decimal,
    to_spot: int,
    pnl: Decimal,
    collateral: Decimal,
) -> None:
    spot = {f"A{i}": SpotHolding(f"A{i}", p, q) for i, (p, q) in enumerate(coins)}
    cash = (quote * to_spot / 100).quantize(D("0.01"))
    # Segregated: the quote split between the spot wallet and the futures wallet.
    segregated = Snapshot(T0, "USDT", cash, quote - cash + pnl, spot)
    # Unified: the same quote in one balance, the same PnL not yet settled into it.
    unified = Snapshot(T0, "USDT", quote, pnl, spot, kind=UNIFIED, collateral_value=collateral)

    coins_value = sum((p * q for p, q in coins), D(0))
    assert segregated.equity == unified.equity == coins_value + quote + pnl
    assert segregated.collateral == quote - cash + pnl
    assert unified.collateral == collateral


@st.composite
def unified_portfolios(draw: st.DrawFn, *, fee: bool = True) -> tuple[Snapshot, Strategy]:
    """A random portfolio as a unified account: quote maybe borrowed, any collateral value."""
    snap, strat = draw(portfolios(fee=fee))
    collateral = D(draw(st.integers(0, 10_000_000))) / 100
    quote = D(draw(st.integers(-1_000_000, 1_000_000))) / 100
    pnl = D(draw(st.integers(-100_000, 100_000))) / 100
    unified = replace(
        snap, kind=UNIFIED, cash=quote, futures_equity=pnl, collateral_value=collateral
    )
    return unified, strat


@given(st.one_of(portfolios(fee=True), unified_portfolios()))
def test_gross_after_a_plan_stays_within_leverage_times_collateral_in_both_kinds(
    case: tuple[Snapshot, Strategy],
) -> None:
    snap, strat = case
    if snap.equity <= 0:
        return  # nothing to plan for: the planner refuses it
    result = plan(snap, strat)
    fees = sum((o.notional * D("0.0005") for o in result.orders), D(0))
    assert result.gross_after <= strat.max_leverage * (snap.collateral - fees) or (
        result.gross_after <= result.gross_before and result.cap is CapState.OVER
    )


@given(unified_portfolios(fee=False), money)
def test_a_unified_cap_is_collateral_whatever_the_unsettled_pnl(
    case: tuple[Snapshot, Strategy], pnl: Decimal
) -> None:
    snap, strat = case
    other = replace(snap, futures_equity=pnl)
    for each in (snap, other):
        if each.equity > 0:  # (no fees: nothing is reserved from the cap)
            assert plan(each, strat).leverage_budget == strat.max_leverage * snap.collateral


def _hedged(collateral: str, cash: str = "2000") -> Snapshot:
    return replace(
        seed_unified(collateral),
        cash=D(cash),
        perps={
            "BTC/USDT:USDT": perp("BTC/USDT:USDT", "50000", "-0.02"),
            "ETH/USDT:USDT": perp("ETH/USDT:USDT", "2500", "0.4"),
        },
        maintenance_margin=D(50),
    )


def test_margin_health_of_a_unified_account_uses_its_collateral_and_maintenance() -> None:
    health = margin_health(_hedged("11000"), D("0.004"))

    assert health.maintenance == D(50)
    assert health.leverage == D(2000) / D(11000)


def test_a_unified_accounts_health_stresses_its_spot_collateral_with_the_hedges() -> None:
    # $10,000 of coins back the account; a fall of all prices together takes their value
    # (the collateral at most that) while the hedges net to zero: the coins are the risk.
    borrowed = _hedged("3000", cash="-6000")

    health = margin_health(borrowed, D("0.004"))

    assert health.distance == (D(3000) - D(50)) / D(10_000)


def test_a_segregated_accounts_health_ignores_its_spot_wallet() -> None:
    segregated = replace(
        _hedged("3000"), kind=AccountKind.SEGREGATED, collateral_value=None, futures_equity=D(3000)
    )

    health = margin_health(segregated, D("0.004"))

    assert health.distance == (D(3000) - D(50)) / D(2000)  # hedges only, all together


def test_a_unified_snapshot_survives_the_file_and_journal_form() -> None:
    snap = replace(seed_unified("11000"), cash=D(-250), maintenance_margin=D(12))

    again = parse_snapshot(json.dumps(snapshot_to_dict(snap)))

    assert again == snap
    assert again.kind is UNIFIED
    assert "account" not in snapshot_to_dict(
        replace(
            snap,
            kind=AccountKind.SEGREGATED,
            cash=D(0),
            collateral_value=None,
            maintenance_margin=None,
        )
    )
