"""Differential check: the planner against an independent optimum of the continuous problem.

Run: .venv/bin/python benchmarks/compare_planner.py --cases 5000 --seed 1

The continuous problem: choose each hedgeable line's hedge h_i (any real number) to minimise
the largest |drift| = |h_i - t_i| / V subject to sum |h_i| <= L K(1 - buffer) - (gross of
positions no line manages). Its optimum is the smallest level z with sum max(|t_i| - z, 0)
within the budget, solved here exactly in fractions from the case's own description (lines,
targets and budget are derived below, not read from the planner).

The planner works in whole exchange steps, skips what minimums refuse and keeps a fee reserve,
so its largest drift may exceed the optimum by what those explain, per case:
- rounding: the largest sum of step x mark over one line's legs, plus the gross that lines
  held back (because their rounded moves would have ended them farther from target) keep
  beyond where those moves would have taken them;
- minimums: twice the notional of moves skipped for an exchange minimum or the minimum trade
  (a leg left where it is takes its notional out of the gross the others share, and may pull
  its own line the wrong way by as much: a stray that cannot be closed);
- fees: the fee reserve kept out of the cap;
- band: in band mode while the band edges fit under the cap, the band's half-width.
A case whose gap exceeds the sum is "unexplained": there should be none.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import CapState, Plan, SkipReason
from rebalancer.domain.planner import plan
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.domain.strategy import Band, Group, Hedge, RebalanceTo, Strategy

D = Decimal
T0 = datetime(2026, 1, 5, tzinfo=UTC)
ROUNDING_REASONS = {r for r in SkipReason if r.name == "NOT_CLOSER"}


@dataclass(frozen=True, slots=True)
class RefLine:
    """A line as the reference sees it: members (asset, beta) and instruments."""

    members: tuple[tuple[str, Decimal], ...]
    instruments: tuple[str, ...]


@dataclass
class Case:
    snapshot: Snapshot
    strategy: Strategy
    lines: list[RefLine]
    classes: set[str] = field(default_factory=set)


def _perp(
    rnd: random.Random,
    symbol: str,
    price: Decimal,
    *,
    fee: Decimal,
    coarse: bool,
    minimums: bool = False,
) -> PerpState:
    # One step is worth 0.1 .. 50 of the quote, or 50 .. 1,000 for a coarse market.
    low, high = (50, 1_000) if coarse else (0.1, 50)
    worth = low * (high / low) ** rnd.random()
    step = D(10) ** math.floor(math.log10(worth / float(price)))
    rules = MarketRules(
        symbol,
        amount_step=step,
        min_amount=step * (rnd.choice((1, 2, 5)) if minimums else 1),
        min_notional=D(rnd.choice((0, 0, 5, 20, 100))),
        taker_fee=fee,
    )
    mark = (price * (1 + D(rnd.randint(-30, 30)) / 10_000)).quantize(D("0.0001"))
    return PerpState(rules, mark)


def random_case(rnd: random.Random) -> Case:  # noqa: PLR0912, PLR0915 - one generator, read at once
    classes: set[str] = set()
    n = rnd.choice((2, 2, 3, 4, 5, 6, 8, 12, 20, 30))
    coarse = rnd.random() < 0.2
    minimums = rnd.random() < 0.4  # minimum amounts above one step, and a minimum trade
    fee = D(rnd.choice(("0", "0", "0.0002", "0.0005", "0.001")))
    if coarse:
        classes.add("coarse steps")
    assets = [f"A{i}" for i in range(n)]
    prices = {a: D(rnd.randint(1, 10_000_000)) / 100 for a in assets}
    spot = {
        a: SpotHolding(a, prices[a], (D(rnd.randint(0, 20_000)) / prices[a]).quantize(D("0.0001")))
        for a in assets
    }
    perps: dict[str, PerpState] = {}
    hedges: dict[str, Hedge] = {}
    groups: list[Group] = []
    free = list(assets)
    rnd.shuffle(free)
    # Groups: pro rata on members' perps, on an index perp, or members proxied on one perp.
    for g in range(rnd.choice((0, 0, 1, 2))):
        size = min(len(free), rnd.randint(2, 4))
        if size < 2:
            break
        members = tuple(free.pop() for _ in range(size))
        kind = rnd.choice(("pro rata", "index", "shared proxy"))
        classes.add(f"group: {kind}")
        index = None
        if kind == "shared proxy":
            symbol = f"GP{g}/USDT:USDT"
            anchor = prices[members[0]]
            perps[symbol] = _perp(rnd, symbol, anchor, fee=fee, coarse=coarse, minimums=minimums)
            for m in members:
                hedges[m] = Hedge(symbol, D(rnd.choice(("1", "1", "0.5", "1.5"))))
        else:
            for m in members:
                hedges[m] = Hedge(f"{m}/USDT:USDT")
                if rnd.random() < 0.9:
                    perps[hedges[m].instrument] = _perp(
                        rnd, hedges[m].instrument, prices[m], fee=fee, coarse=coarse
                    )
            if kind == "index":
                index = f"IX{g}/USDT:USDT"
                if rnd.random() < 0.9:
                    perps[index] = _perp(
                        rnd, index, D(rnd.randint(10, 100_000)), fee=fee, coarse=coarse
                    )
        groups.append(Group(f"g{g}", members, index))
    proxies = [f"P{k}/USDT:USDT" for k in range(2)]
    for a in free:
        roll = rnd.random()
        if roll < 0.15:
            hedges[a] = Hedge(rnd.choice(proxies), D(rnd.choice(("1", "0.8", "1.3"))))
            if hedges[a].instrument not in perps:
                perps[hedges[a].instrument] = _perp(
                    rnd, hedges[a].instrument, prices[a], fee=fee, coarse=coarse
                )
            classes.add("proxies")
        else:
            hedges[a] = Hedge(f"{a}/USDT:USDT")
            if roll < 0.95:
                perps[hedges[a].instrument] = _perp(
                    rnd, hedges[a].instrument, prices[a], fee=fee, coarse=coarse
                )
            else:
                classes.add("unhedgeable")
    if rnd.random() < 0.1:
        symbol = "STRAY/USDT:USDT"
        perps[symbol] = _perp(rnd, symbol, D(100), fee=fee, coarse=False)
        classes.add("unmanaged stray")
    # Positions: none, near some hedge, or random strays (also on index members' perps).
    for symbol, perp in list(perps.items()):
        if rnd.random() < 0.6:
            notional = D(rnd.randint(-15_000, 15_000))
            steps = (notional / perp.mark / perp.rules.base_step).to_integral_value()
            perps[symbol] = PerpState(perp.rules, perp.mark, steps * perp.rules.base_step)
    raw = [rnd.randint(0, 100) for _ in assets]
    cash_raw = rnd.randint(1, 100)
    total = D(sum(raw) + cash_raw)
    weights = {a: D(k) / total for a, k in zip(assets, raw, strict=True)}
    spot_value = sum((h.value for h in spot.values()), D(0))
    collateral = rnd.choice(("short", "short", "ample", "over"))
    gross = sum((abs(p.notional) for p in perps.values()), D(0))
    if collateral == "ample":
        futures = spot_value * 3 + 3 * gross + 10_000
    elif collateral == "over":
        futures = (gross * D(rnd.randint(20, 95)) / 100).quantize(D("0.01"))
        classes.add("over the cap")
    else:
        futures = (spot_value * D(rnd.randint(1, 40)) / 100).quantize(D("0.01")) + 1
    cash = D(rnd.randint(2_000, 20_000))
    band_mode = rnd.random() < 0.25
    classes.add("band mode" if band_mode else "target mode")
    min_trade = D(rnd.choice((10, 25, 100))) if minimums else D(0)
    if minimums:
        classes.add("minimums")
    if fee:
        classes.add("fees")
    strat = Strategy(
        weights=weights,
        hedges=hedges,
        cash_weight=D(cash_raw) / total,
        groups=tuple(groups),
        max_leverage=D(rnd.choice(("1", "1", "0.5"))),
        rebalance_to=RebalanceTo.BAND if band_mode else RebalanceTo.TARGET,
        band=Band(absolute=D(rnd.choice(("0.005", "0.01", "0.03")))) if band_mode else Band(),
        min_trade_notional=min_trade,
        collateral_buffer=D(rnd.choice(("0", "0", "0.05"))),
    )
    snap = Snapshot(T0, "USDT", cash, futures, spot, perps)
    return Case(snap, strat, reference_lines(strat, set(perps)), classes or {"plain"})


def reference_lines(strat: Strategy, listed: set[str]) -> list[RefLine]:
    """Lines per the strategy's rules, written independently of `hedge_lines`."""
    lines: list[RefLine] = []
    grouped: set[str] = set()
    for group in strat.groups:
        grouped.update(group.members)
        members = tuple((m, strat.hedges[m].beta) for m in group.members)
        if group.index is not None and group.index in listed:
            instruments = {group.index} | {
                strat.hedges[m].instrument
                for m in group.members
                if strat.hedges[m].instrument in listed
            }
        else:
            instruments = {strat.hedges[m].instrument for m in group.members} & listed
        lines.append(RefLine(members, tuple(sorted(instruments))))
    by_instrument: dict[str, list[tuple[str, Decimal]]] = {}
    for asset in strat.weights:
        if asset in grouped:
            continue
        hedge = strat.hedges[asset]
        if hedge.instrument in listed:
            by_instrument.setdefault(hedge.instrument, []).append((asset, hedge.beta))
        else:
            lines.append(RefLine(((asset, hedge.beta),), ()))
    lines.extend(RefLine(tuple(m), (i,)) for i, m in by_instrument.items())
    return lines


def continuous_optimum(case: Case) -> Fraction:
    """The smallest largest |drift| over hedgeable lines the cap allows, exactly."""
    snap, strat = case.snapshot, case.strategy
    equity = Fraction(snap.equity)
    managed = {i for line in case.lines for i in line.instruments}
    unmanaged = sum(
        (abs(Fraction(p.notional)) for s, p in snap.perps.items() if s not in managed), Fraction(0)
    )
    budget = (
        Fraction(strat.max_leverage)
        * Fraction(snap.futures_equity)
        * (1 - Fraction(strat.collateral_buffer))
        - unmanaged
    )
    budget = max(budget, Fraction(0))
    sizes = []
    for line in case.lines:
        if not line.instruments:
            continue
        weight = sum(
            (Fraction(b) * Fraction(strat.weights[a]) for a, b in line.members), Fraction(0)
        )
        spot = sum(
            (Fraction(b) * Fraction(snap.spot[a].value) for a, b in line.members), Fraction(0)
        )
        sizes.append(abs(weight * equity - spot))
    return _level(sizes, budget) / equity


def _level(sizes: list[Fraction], budget: Fraction) -> Fraction:
    """The smallest z >= 0 with sum(max(s - z, 0)) <= budget (closed form over sorted sizes)."""
    ordered = sorted(sizes, reverse=True)
    if sum(ordered, Fraction(0)) <= budget:
        return Fraction(0)
    prefix = Fraction(0)
    for k, size in enumerate(ordered, start=1):
        prefix += size
        z = (prefix - budget) / k
        if z >= (ordered[k] if k < len(ordered) else 0):
            return z
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class Outcome:
    classes: frozenset[str]
    gap: Fraction  # planner's largest hedgeable drift minus the continuous optimum
    rounding: Fraction
    minimums: Fraction
    fees: Fraction
    band: Fraction
    reserve_over_fees: Fraction | None  # the fee reserve as a multiple of L x the fees paid

    @property
    def explained(self) -> Fraction:
        return self.rounding + self.minimums + self.fees + self.band

    @property
    def unexplained(self) -> bool:
        return self.gap > self.explained + Fraction(1, 10**12)


def compare(case: Case) -> Outcome:
    snap, strat = case.snapshot, case.strategy
    result = plan(snap, strat)
    equity = Fraction(result.equity)
    largest = max(
        (abs(Fraction(line.drift_after)) for line in result.lines if line.instruments),
        default=Fraction(0),
    )
    gap = largest - continuous_optimum(case)
    steps = max(
        (
            sum(
                (
                    Fraction(snap.perps[i].rules.base_step * snap.perps[i].mark)
                    for i in line.instruments
                ),
                Fraction(0),
            )
            for line in result.lines
        ),
        default=Fraction(0),
    )
    held = _held_gross(result, snap)
    minimums = sum(
        (Fraction(s.notional) for s in result.skipped if s.reason not in ROUNDING_REASONS),
        Fraction(0),
    )
    cap = strat.max_leverage * snap.futures_equity * (1 - strat.collateral_buffer)
    reserve = Fraction(cap - result.leverage_budget)
    band = Fraction(0)
    if strat.rebalance_to is RebalanceTo.BAND and result.cap is not CapState.BINDING:
        band = Fraction(strat.band.absolute or 0)
    paid = _fees(result, snap)
    return Outcome(
        classes=frozenset(case.classes),
        gap=gap,
        rounding=(steps + held) / equity,
        minimums=2 * minimums / equity,
        fees=reserve / equity,
        band=band,
        reserve_over_fees=reserve / (Fraction(strat.max_leverage) * paid) if paid else None,
    )


def _held_gross(result: Plan, snap: Snapshot) -> Fraction:
    """Gross kept by legs whose moves were held back as no closer to target than no trade."""
    change: dict[str, Decimal] = {}
    for skip in result.skipped:
        if skip.reason in ROUNDING_REASONS:
            change[skip.instrument] = change.get(skip.instrument, D(0)) + skip.base_quantity
    kept = Fraction(0)
    for symbol, quantity in change.items():
        perp = snap.perps[symbol]
        kept += max(
            Fraction(0), Fraction((abs(perp.position) - abs(perp.position + quantity)) * perp.mark)
        )
    return kept


def _fees(result: Plan, snap: Snapshot) -> Fraction:
    return sum(
        (Fraction(o.notional * snap.perps[o.instrument].rules.taker_fee) for o in result.orders),
        Fraction(0),
    )


def outcomes(cases: int, seed: int) -> Iterator[Outcome]:
    rnd = random.Random(seed)
    for _ in range(cases):
        yield compare(random_case(rnd))


def _pts(value: Fraction) -> str:
    return f"{float(value) * 100:.4f}"


def report(results: list[Outcome]) -> str:
    rows = ["all", *sorted({c for r in results for c in r.classes})]
    head = (
        f"{'class':<22}{'cases':>7}{'median gap':>11}{'worst gap':>11}{'rounding':>10}"
        f"{'minimums':>10}{'fees':>9}{'band':>8}{'explained':>11}{'max gap-expl':>14}"
        f"{'unexplained':>13}"
    )
    lines = [
        "weight points (% of V); rounding .. explained at each class's worst-gap case;",
        "max gap-expl over the whole class (<= 0: every gap explained)",
        head,
    ]
    for row in rows:
        chosen = [r for r in results if row == "all" or row in r.classes]
        worst = max(chosen, key=lambda r: r.gap)
        lines.append(
            f"{row:<22}{len(chosen):>7}{_pts(sorted(r.gap for r in chosen)[len(chosen) // 2]):>11}"
            f"{_pts(worst.gap):>11}{_pts(worst.rounding):>10}"
            f"{_pts(worst.minimums):>10}{_pts(worst.fees):>9}{_pts(worst.band):>8}"
            f"{_pts(worst.explained):>11}{_pts(max(r.gap - r.explained for r in chosen)):>14}"
            f"{sum(r.unexplained for r in chosen):>13}"
        )
    tight = max(results, key=lambda r: r.gap - r.explained)
    ratios = sorted(r.reserve_over_fees for r in results if r.reserve_over_fees is not None)
    lines.append(
        f"largest (gap - explained): {_pts(tight.gap - tight.explained)} pts, at a gap of "
        f"{_pts(tight.gap)} (<= 0: every gap explained)"
    )
    plain_worst = max((r.gap for r in results if not (r.minimums or r.band)), default=Fraction(0))
    lines.append(f"worst gap where nothing was skipped and no band applies: {_pts(plain_worst)}")
    if ratios:
        mid = ratios[len(ratios) // 2]
        lines.append(
            f"fee reserve / fees paid over {len(ratios)} cases with fees: median "
            f"{float(mid):.3f}, max {float(ratios[-1]):.3f}, min {float(ratios[0]):.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = list(outcomes(args.cases, args.seed))
    print(report(results))
    bad = sum(r.unexplained for r in results)
    if bad:
        raise SystemExit(f"{bad} case(s) with a gap rounding, minimums and fees do not explain")


if __name__ == "__main__":
    main()
