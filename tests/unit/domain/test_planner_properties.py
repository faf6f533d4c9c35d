"""Invariants of the planner over random portfolios (hypothesis).

Markets have min_amount == amount_step, as on Binance's and OKX's linear perps, so every
reduction is placeable; positions sit on the exchange's step grid.
"""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import CapState, Plan, Side
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.domain.strategy import Hedge, Strategy
from rebalancer.render.plan_json import plan_to_dict
from tests.unit.domain.builders import T0

D = Decimal
STEPS = [D("0.001"), D("0.01"), D("0.1"), D("1")]


@st.composite
def portfolios(
    draw: st.DrawFn,
    *,
    fee: bool = False,
    collateral: str = "any",
    min_trade: bool = True,
    min_notional: bool = True,
) -> tuple[Snapshot, Strategy]:
    n = draw(st.integers(1, 6))
    assets = [f"A{i}" for i in range(n)]
    spot: dict[str, SpotHolding] = {}
    perps: dict[str, PerpState] = {}
    for asset in assets:
        price = D(draw(st.integers(1, 10_000_000))) / 100
        spot[asset] = SpotHolding(asset, price, D(draw(st.integers(0, 100_000))) / 10)
        if draw(st.integers(0, 9)) == 0:
            continue  # now and then an asset has no perp market
        step = draw(st.sampled_from(STEPS))
        mark = (price * (1 + D(draw(st.integers(-50, 50))) / 10_000)).quantize(D("0.0001"))
        assume(mark > 0)
        symbol = f"{asset}/USDT:USDT"
        rules = MarketRules(
            symbol,
            amount_step=step,
            min_amount=step,
            min_notional=draw(st.sampled_from([D(0), D(5), D(20), D(100)]))
            if min_notional
            else D(0),
            taker_fee=D("0.0005") if fee else D(0),
        )
        position = draw(st.integers(-300, 300)) * step
        perps[symbol] = PerpState(rules, mark, position)
    raw = [draw(st.integers(0, 100)) for _ in assets]
    cash_raw = draw(st.integers(1, 100))
    total = D(sum(raw) + cash_raw)
    weights = {a: D(k) / total for a, k in zip(assets, raw, strict=True)}
    spot_value = sum((h.value for h in spot.values()), D(0))
    if collateral == "ample":
        # Wanted gross <= (1 - c) V + S; with c >= 1/601 this F covers it at 1x.
        gross = sum((abs(p.notional) for p in perps.values()), D(0))
        futures = spot_value * 1_200 + 10_000 + 2 * gross  # existing hedges fit too
    elif collateral == "short":
        futures = (spot_value * D(draw(st.integers(1, 30))) / 100).quantize(D("0.01"))
    else:
        futures = D(draw(st.integers(0, 10_000_000))) / 100
    snap = Snapshot(T0, "USDT", D(0), futures, spot, perps)
    assume(snap.equity > 0)
    strat = Strategy(
        weights=weights,
        hedges={a: Hedge(f"{a}/USDT:USDT") for a in assets},
        cash_weight=D(cash_raw) / total,
        max_leverage=D(1) if collateral == "ample" else draw(st.sampled_from([D(1), D("0.5")])),
        min_trade_notional=draw(st.sampled_from([D(0), D(10), D(50)])) if min_trade else D(0),
    )
    return snap, strat


def applied(snap: Snapshot, result: Plan) -> Snapshot:
    """The snapshot after every order fills at its mark (no fees, prices unchanged)."""
    perps = dict(snap.perps)
    for order in result.orders:
        perp = perps[order.instrument]
        perps[order.instrument] = replace(perp, position=perp.position + order.signed_quantity)
    return replace(snap, perps=perps)


@given(portfolios(fee=True))
def test_gross_notional_after_a_plan_never_exceeds_the_cap(case: tuple[Snapshot, Strategy]) -> None:
    snap, strat = case
    result = plan(snap, strat)
    fees = sum((o.notional * D("0.0005") for o in result.orders), D(0))
    assert result.gross_after <= strat.max_leverage * (snap.futures_equity - fees) or (
        result.gross_after <= result.gross_before and result.cap is CapState.OVER
    )
    assert applied(snap, result).gross_notional == result.gross_after


@given(portfolios(collateral="ample"))
def test_with_ample_collateral_every_hedgeable_line_ends_within_its_rounding_bound(
    case: tuple[Snapshot, Strategy],
) -> None:
    snap, strat = case
    result = plan(snap, strat)
    assert result.cap is CapState.WITHIN
    for line in result.lines:
        if not line.instruments:
            assert line.drift_after == line.drift_before
            continue
        perp = snap.perps[line.instruments[0]]
        # Towards-zero rounding leaves under one whole step (DESIGN §2); a move the exchange
        # refuses is under its minimum notional; a placeable move may be skipped under the
        # configured minimum trade. A sign flip can combine all three (close skipped for the
        # minimum trade, reopen refused for the minimum notional), so the bound is their sum.
        bound = (
            perp.rules.base_step * perp.mark + perp.rules.min_notional + strat.min_trade_notional
        )
        assert abs(line.drift_after) * result.equity <= bound


@given(portfolios(min_trade=False, min_notional=False))
def test_a_plan_applied_to_its_own_result_plans_nothing(case: tuple[Snapshot, Strategy]) -> None:
    snap, strat = case
    first = plan(snap, strat)
    second = plan(applied(snap, first), strat)
    assert second.orders == ()


@given(portfolios())
def test_plans_applied_in_turn_settle_and_never_oscillate(case: tuple[Snapshot, Strategy]) -> None:
    # With minimums under a binding cap, fitting is greedy: a leg held back for a minimum
    # leaves its gross to others, and the next cycle may find that the room the others could
    # not use now makes the held leg's move placeable. That is progress, not a loop: the
    # positions never repeat and the cycles settle.
    snap, strat = case
    seen = [{s: p.position for s, p in snap.perps.items()}]
    for _ in range(4):
        result = plan(snap, strat)
        if not result.orders:
            return
        snap = applied(snap, result)
        positions = {s: p.position for s, p in snap.perps.items()}
        assert positions not in seen
        seen.append(positions)
    raise AssertionError(f"still trading after {len(seen) - 1} cycles")


@given(portfolios(fee=True), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_listing_order(
    case: tuple[Snapshot, Strategy], rnd: random.Random
) -> None:
    snap, strat = case

    def shuffled(mapping: dict[str, object]) -> dict[str, object]:
        items = list(mapping.items())
        rnd.shuffle(items)
        return dict(items)

    other_snap = replace(snap, spot=shuffled(dict(snap.spot)), perps=shuffled(dict(snap.perps)))  # type: ignore[arg-type]
    other_strat = replace(
        strat, weights=shuffled(dict(strat.weights)), hedges=shuffled(dict(strat.hedges))
    )  # type: ignore[arg-type]
    assert plan_to_dict(plan(other_snap, other_strat)) == plan_to_dict(plan(snap, strat))


@given(portfolios(fee=True))
def test_no_order_breaks_the_exchange_minimums_and_no_spot_is_sold(
    case: tuple[Snapshot, Strategy],
) -> None:
    snap, strat = case
    result = plan(snap, strat)
    for order in result.orders:
        rules = snap.perps[order.instrument].rules  # every order is on a perp market
        assert order.amount >= rules.min_amount
        assert order.amount % rules.amount_step == 0
        if not order.reduce_only:
            assert order.notional >= rules.min_notional
        else:
            assert abs(order.position_after) < abs(order.position_before)
            assert order.position_after * order.position_before >= 0  # never flips
        expected = Side.BUY if order.position_after > order.position_before else Side.SELL
        assert order.side is expected
    assert plan(snap, strat).equity == snap.equity  # planning touches no holding
    reductions = [o.reduce_only for o in result.orders]
    assert reductions == sorted(reductions, reverse=True)  # all reductions come first


@given(portfolios(collateral="short"))
def test_when_the_cap_binds_from_within_it_the_largest_drift_never_grows(
    case: tuple[Snapshot, Strategy],
) -> None:
    snap, strat = case
    result = plan(snap, strat)
    assume(result.cap is CapState.BINDING)
    assert result.largest_drift_after <= result.largest_drift_before
