"""Invariants of the planner over the classes of case issue 15 found (hypothesis).

Unlike test_planner_properties.py, markets here may refuse reductions (minimum amounts above
one step, a minimum trade), steps may be coarse against the portfolio, groups hedge pro rata,
through an index perp with stray member positions, or through one perp their members are all
proxied on, and band mode meets a binding cap. Each case is also checked against the
continuous optimum of benchmarks/compare_planner.py.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from benchmarks.compare_planner import Case, compare, reference_lines
from hypothesis import assume, given
from hypothesis import strategies as st

from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import CapState, Plan
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.domain.strategy import Band, Group, Hedge, RebalanceTo, Strategy
from tests.unit.domain.builders import T0

D = Decimal
FEE = D("0.001")


@st.composite
def markets(
    draw: st.DrawFn, symbol: str, price: Decimal, *, coarse: bool, minimums: bool, fee: bool
) -> PerpState:
    # One step is worth about 0.1 .. 50 of the quote (coarse: 50 .. 1,000).
    exponent = draw(st.integers(1, 3) if coarse else st.integers(-1, 1))
    step = D(10) ** (exponent - max(0, price.adjusted()))
    rules = MarketRules(
        symbol,
        amount_step=step,
        min_amount=step * (draw(st.sampled_from([1, 2, 5, 20])) if minimums else 1),
        min_notional=draw(st.sampled_from([D(0), D(5), D(100)])),
        taker_fee=FEE if fee else D(0),
    )
    notional = draw(st.integers(-8_000, 8_000)) if draw(st.booleans()) else 0
    position = (D(notional) / price / step).to_integral_value() * step
    return PerpState(rules, price, position)


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    minimums: bool = False,
    coarse: bool = False,
    fee: bool = False,
    band: bool = False,
    shared: bool = False,
    groups: bool = False,
    collateral: str = "short",
) -> Case:
    n = draw(st.integers(2, 6))
    assets = [f"A{i}" for i in range(n)]
    prices = {a: D(draw(st.integers(1, 10_000_000))) / 100 for a in assets}
    spot = {
        a: SpotHolding(
            a, prices[a], (D(draw(st.integers(0, 10_000))) / prices[a]).quantize(D("1e-6"))
        )
        for a in assets
    }
    kw = {"coarse": coarse, "minimums": minimums, "fee": fee}
    perps: dict[str, PerpState] = {}
    hedges = {a: Hedge(f"{a}/USDT:USDT") for a in assets}
    group_list: list[Group] = []
    if shared:
        # Two members of a group, and two assets outside any group, each pair on one perp.
        price = prices[assets[0]]
        perps["GP/USDT:USDT"] = draw(markets("GP/USDT:USDT", price, **kw))
        for a in assets[:2]:
            hedges[a] = Hedge("GP/USDT:USDT", draw(st.sampled_from([D(1), D("0.5")])))
        group_list.append(Group("g", tuple(assets[:2])))
        if n >= 4:
            perps["P/USDT:USDT"] = draw(markets("P/USDT:USDT", prices[assets[2]], **kw))
            for a in assets[2:4]:
                hedges[a] = Hedge("P/USDT:USDT", draw(st.sampled_from([D(1), D("1.5")])))
    elif groups:
        index = "IX/USDT:USDT" if draw(st.booleans()) else None
        group_list.append(Group("g", tuple(assets[:2]), index))
        if index:
            perps[index] = draw(markets(index, D(draw(st.integers(10, 100_000))), **kw))
    for a in assets:
        symbol = hedges[a].instrument
        if symbol not in perps and draw(st.integers(0, 9)):
            perps[symbol] = draw(markets(symbol, prices[a], **kw))
    raw = [draw(st.integers(0, 100)) for _ in assets]
    cash_raw = draw(st.integers(1, 100))
    total = D(sum(raw) + cash_raw)
    spot_value = sum((h.value for h in spot.values()), D(0))
    gross = sum((abs(p.notional) for p in perps.values()), D(0))
    cash = D(draw(st.integers(0, 20_000)))
    if collateral == "ample":
        # Wanted gross <= (1 - c) V + S with c >= 1/701: this F covers it at 1x.
        futures = 1_500 * (spot_value + cash) + 3 * gross + 10_000
    else:
        futures = (spot_value * D(draw(st.integers(1, 40))) / 100).quantize(D("0.01")) + 1
    strat = Strategy(
        weights={a: D(k) / total for a, k in zip(assets, raw, strict=True)},
        hedges=hedges,
        cash_weight=D(cash_raw) / total,
        groups=tuple(group_list),
        rebalance_to=RebalanceTo.BAND if band else RebalanceTo.TARGET,
        band=Band(absolute=draw(st.sampled_from([D("0.005"), D("0.02")]))) if band else Band(),
        min_trade_notional=draw(st.sampled_from([D(10), D(50)])) if minimums else D(0),
    )
    snap = Snapshot(T0, "USDT", cash, futures, spot, perps)
    assume(snap.equity > 0)
    return Case(snap, strat, reference_lines(strat, set(perps)))


def applied(snap: Snapshot, result: Plan) -> Snapshot:
    perps = dict(snap.perps)
    for order in result.orders:
        perp = perps[order.instrument]
        perps[order.instrument] = replace(perp, position=perp.position + order.signed_quantity)
    return replace(snap, perps=perps)


def _paid(result: Plan, snap: Snapshot) -> Decimal:
    return sum((o.notional * snap.perps[o.instrument].rules.taker_fee for o in result.orders), D(0))


def assert_sound(case: Case) -> Plan:
    """What holds for every case: the cap after fees, never worse, the optimum's bound."""
    snap, strat = case.snapshot, case.strategy
    result = plan(snap, strat)
    cap = strat.max_leverage * snap.futures_equity
    fees = _paid(result, snap)
    assert result.gross_after <= cap - strat.max_leverage * fees or (
        result.cap is CapState.OVER and result.gross_after <= result.gross_before
    )
    if result.cap is CapState.BINDING:
        hedgeable = [line for line in result.lines if line.instruments]
        before = max((abs(line.drift_before) for line in hedgeable), default=D(0))
        assert max((abs(line.drift_after) for line in hedgeable), default=D(0)) <= before
    assert not compare(case).unexplained
    return result


@given(cases(minimums=True, collateral="short"))
def test_refused_reductions_under_a_binding_cap_trim_the_increases(case: Case) -> None:
    assert_sound(case)


@given(cases(minimums=True, groups=True, fee=True))
def test_multi_leg_lines_with_refused_legs_stay_sound(case: Case) -> None:
    assert_sound(case)


@given(cases(shared=True, collateral="ample"))
def test_a_shared_instrument_is_counted_once_and_a_plan_is_stable(case: Case) -> None:
    result = assert_sound(case)
    again = plan(applied(case.snapshot, result), case.strategy)
    assert again.orders == ()
    for line in result.lines:
        held = sum((case.snapshot.perps[i].notional for i in line.instruments), D(0))
        assert line.hedge_before == held


@given(cases(shared=True, minimums=True, fee=True))
def test_shared_instruments_under_a_binding_cap_stay_sound(case: Case) -> None:
    assert_sound(case)


@given(cases(band=True, collateral="short"))
def test_band_mode_under_a_binding_cap_is_minimax(case: Case) -> None:
    result = assert_sound(case)
    if result.cap is CapState.BINDING and not result.skipped:
        # Where the band edges do not fit, band mode allocates exactly as target mode does.
        target = plan(case.snapshot, replace(case.strategy, rebalance_to=RebalanceTo.TARGET))
        assert [line.hedge_after for line in result.lines] == [
            line.hedge_after for line in target.lines
        ]


@given(cases(coarse=True, collateral="ample"))
def test_coarse_steps_never_trade_a_line_farther_from_target(case: Case) -> None:
    result = assert_sound(case)
    assert result.cap is CapState.WITHIN
    for line in result.lines:
        if line.hedge_after != line.hedge_before:
            assert abs(line.drift_after) <= abs(line.drift_before)


@given(cases(minimums=True, groups=True, collateral="ample"))
def test_multi_leg_lines_never_trade_farther_from_target(case: Case) -> None:
    result = assert_sound(case)
    for line in result.lines:
        if line.hedge_after != line.hedge_before:
            assert abs(line.drift_after) <= abs(line.drift_before)


@given(cases(minimums=True, groups=True, collateral="ample"))
def test_orders_start_from_the_real_position_and_chain(case: Case) -> None:
    snap = case.snapshot
    result = assert_sound(case)
    held = {symbol: perp.position for symbol, perp in snap.perps.items()}
    for order in result.orders:
        assert order.position_before == held[order.instrument]
        assert order.position_after == order.position_before + order.signed_quantity
        if order.reduce_only:
            assert order.position_after * order.position_before >= 0
        held[order.instrument] = order.position_after
    assert {s: p.position for s, p in applied(snap, result).perps.items()} == held


@given(cases(groups=True, fee=True, minimums=True))
def test_the_fee_reserve_covers_every_legs_fees(case: Case) -> None:
    result = assert_sound(case)
    reserve = case.strategy.max_leverage * case.snapshot.futures_equity - result.leverage_budget
    assert reserve >= case.strategy.max_leverage * _paid(result, case.snapshot)
