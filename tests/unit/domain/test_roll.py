"""The roll decision (roll.py): it rolls a hedged line exactly when one of its conditions holds."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from rebalancer.domain.carry import CarryTerms, hedge_or_sell
from rebalancer.domain.plan import CapState, Plan
from rebalancer.domain.planner import plan
from rebalancer.domain.roll import (
    RollDecision,
    RollReason,
    RollRules,
    decide_roll,
    spot_to_target,
)
from rebalancer.domain.snapshot import AccountKind, Snapshot
from rebalancer.domain.strategy import Strategy
from tests.unit.domain.builders import perp, seed_snapshot, seed_strategy, snapshot
from tests.unit.domain.test_account_kinds import unified_portfolios
from tests.unit.domain.test_planner_properties import portfolios

D = Decimal
MONTH = CarryTerms(horizon_hours=D(720))
ON = RollRules(enabled=True, on_carry=False)


def hedged(futures_equity: str) -> Snapshot:
    """The seed example with its hedges already open, half of them."""
    return snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "-0.01"), perp("ETH/USDT:USDT", "2500", "0.2")],
        futures_equity,
    )


def decide(snap: Snapshot, rules: RollRules, terms: CarryTerms = MONTH) -> RollDecision:
    strat = seed_strategy()
    result = plan(snap, strat)
    return decide_roll(result, snap, strat, hedge_or_sell(result, snap, strat, terms, {}), rules)


def test_the_policy_is_off_by_default() -> None:
    assert not decide(hedged("100"), RollRules()).acts


def test_a_binding_cap_rolls_every_hedged_line_to_target_in_spot() -> None:
    decision = decide(hedged("100"), ON)  # 100 of collateral for 1,000 of hedge: binds

    assert decision.account_reasons == (RollReason.CAP,)
    btc, eth = decision.lines
    # V = 10,100: BTC target 5,050 of 7,000 held -> sell 1,950; ETH 3,366.67 of 3,000 -> buy.
    assert btc.line == "BTC"
    assert btc.hedge == D(-500)
    assert btc.spot["BTC"] == D(-1950)
    assert eth.spot["ETH"] > 0
    assert decision.sales == {"BTC": D(1950)}


def test_within_the_cap_and_every_limit_nothing_rolls() -> None:
    rules = replace(ON, collateral_floor=D("0.5"), max_borrow=D("0.1"))
    assert not decide(hedged("5000"), rules).acts


def test_collateral_below_its_floor_rolls() -> None:
    rules = replace(ON, on_cap=False, collateral_floor=D("3"))  # 1,000 needs 3,000 of collateral
    decision = decide(hedged("2500"), rules)

    assert decision.account_reasons == (RollReason.COLLATERAL,)
    assert [r.line for r in decision.lines] == ["BTC", "ETH"]


def test_carry_above_the_spot_cost_rolls_that_line_only() -> None:
    # Funding at 0.05 % per 8 h: the long ETH hedge (1,000 after the plan) pays 45 a month,
    # the spot buy it replaces costs 1.20; the short BTC hedge earns its funding.
    terms = replace(MONTH, funding_rate=D("0.0005"))
    decision = decide(hedged("2000"), replace(ON, on_carry=True), terms)

    assert decision.account_reasons == ()
    (eth,) = decision.lines
    assert (eth.line, eth.reasons) == ("ETH", (RollReason.CARRY,))
    assert eth.spot["ETH"] > 0  # a long hedge rolls into a spot buy
    assert decision.sales == {}


def borrowing_over_its_limit() -> tuple[Snapshot, Strategy]:
    """The seed example in a unified account, its hedges open and its quote 500 below zero:
    500 borrowed of 9,500 equity, over a max_borrow of 1%; collateral far above the hedges."""
    held = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000", "-0.045"), perp("ETH/USDT:USDT", "2500", "0.066")],
        futures_equity="0",
    )
    snap = replace(held, cash=D(-500), kind=AccountKind.UNIFIED, collateral_value=D(9000))
    return snap, replace(seed_strategy(), max_borrow=D("0.01"))


def test_borrowing_over_max_borrow_rolls_as_borrowing_and_not_as_the_cap() -> None:
    snap, strat = borrowing_over_its_limit()
    result = plan(snap, strat)
    # The borrowing limit holds the plan's increases back; the leverage cap is far off.
    assert result.cap is CapState.BINDING
    assert result.borrowing is not None
    assert result.borrowing.binding
    assert result.collateral_shortfall == 0

    def reasons(rules: RollRules) -> list[tuple[str, tuple[RollReason, ...]]]:
        decision = decide_roll(result, snap, strat, (), rules)
        return [(r.line, r.reasons) for r in decision.lines]

    borrowing = (RollReason.BORROWING,)
    assert reasons(replace(ON, max_borrow=D("0.01"))) == [("BTC", borrowing), ("ETH", borrowing)]
    assert reasons(ON) == []  # roll_on ["cap"]: the cap does not bind
    assert reasons(replace(ON, on_cap=False, max_borrow=D("0.1"))) == []  # 5.26% < 10%


def test_a_line_without_a_hedge_has_nothing_to_roll() -> None:
    assert not decide(seed_snapshot("0"), ON).acts  # the cap binds, but no hedge is open


def _leverage_cap_binds(result: Plan) -> bool:
    """Over the cap, or bound by it: not when only the borrowing limit held the plan back (the
    leverage cap binds too when a full rebalance needs more collateral than there is)."""
    if result.cap is CapState.WITHIN:
        return False
    borrowing_only = result.borrowing is not None and result.borrowing.binding
    return result.cap is CapState.OVER or not borrowing_only or result.collateral_shortfall > 0


@st.composite
def rules(draw: st.DrawFn) -> RollRules:
    return RollRules(
        enabled=draw(st.booleans()),
        on_cap=draw(st.booleans()),
        collateral_floor=draw(st.none() | st.integers(0, 200).map(lambda n: D(n) / 100)),
        max_borrow=draw(st.none() | st.integers(0, 100).map(lambda n: D(n) / 100)),
        on_carry=draw(st.booleans()),
    )


@given(
    st.one_of(portfolios(fee=True), unified_portfolios()),
    rules(),
    st.integers(-100, 100),
)
def test_a_line_rolls_exactly_when_a_condition_holds(
    case: tuple[Snapshot, Strategy], rule: RollRules, rate_bp: int
) -> None:
    snap, strat = case
    assume(snap.equity > 0)
    result = plan(snap, strat)
    terms = replace(MONTH, funding_rate=D(rate_bp) / 100_000)
    figures = {f.line: f for f in hedge_or_sell(result, snap, strat, terms, {})}
    decision = decide_roll(result, snap, strat, tuple(figures.values()), rule)

    gross = sum((abs(p.position) * p.mark for p in snap.perps.values()), D(0))
    # Unified: the quote balance with the perps' unsettled PnL, below zero (segregated: none).
    unified = snap.kind is AccountKind.UNIFIED
    borrowed = max(-(snap.cash + snap.futures_equity), D(0)) if unified else D(0)
    account = rule.enabled and (
        (rule.on_cap and _leverage_cap_binds(result))
        or (rule.collateral_floor is not None and snap.collateral < rule.collateral_floor * gross)
        or (rule.max_borrow is not None and borrowed > rule.max_borrow * snap.equity)
    )
    rolled = {r.line: r for r in decision.lines}
    for line in result.lines:
        held = bool(line.instruments) and line.hedge_before != 0
        figure = figures.get(line.name)
        costly = figure is not None and figure.hedge != 0 and figure.carry > figure.spot_cost
        expected = held and (account or (rule.enabled and rule.on_carry and costly))
        assert (line.name in rolled) == expected
        if expected:
            roll = rolled[line.name]
            assert roll.hedge == line.hedge_before
            assert (RollReason.CARRY in roll.reasons) == (rule.on_carry and costly)
            # Without the hedge, the spot trade puts the line exactly on target.
            moved = sum((v * strat.hedges[a].beta for a, v in roll.spot.items()), D(0))
            assert moved == line.target_hedge


def test_spot_to_target_splits_a_group_by_weight() -> None:
    snap, strat = seed_snapshot(), seed_strategy()
    line = plan(snap, strat).lines[0]
    assert spot_to_target(line, strat) == {"BTC": line.target_hedge}
