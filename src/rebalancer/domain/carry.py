"""Hedge or sell: what each plan line's hedge will cost to carry, beside the spot trade it replaces.

Per line, over a horizon: the funding its legs pay at the current rate and interval (a rate
> 0 is paid by longs and received by shorts, so a short's funding is usually negative: income),
and in a unified account the interest on the quote the account borrows, shared among the
hedges by notional. Beside it, the spot trade that would give the same exposure without a
hedge: selling (for a short hedge) or buying (long) its notional in spot, with its fees, its
slippage, and, for a sale, the gain it would realise against the average cost the user gave.
Figures only, not tax advice: the realised gain is reported, never counted as a cost.

Pure: the plan, the snapshot it was made from and the terms in; figures out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from rebalancer.domain.market import ZERO
from rebalancer.domain.plan import CarryFigures, HedgeOrSell, Plan, PlanLine
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Strategy

HOURS_PER_YEAR = Decimal(365 * 24)
BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class CarryTerms:
    """The rates the projection uses (funding per interval, borrow interest per year)."""

    horizon_hours: Decimal
    funding_rate: Decimal = Decimal("0.0001")  # per interval, where no instrument rate is given
    funding_interval_hours: Decimal = Decimal(8)
    funding_rates: Mapping[str, Decimal] = field(default_factory=dict)  # per instrument
    borrow_rate: Decimal = Decimal("0.10")  # per year, on a unified account's borrowed quote
    spot_fee: Decimal = Decimal("0.001")  # taker fee of a spot trade, a fraction
    slippage_bps: Decimal = Decimal(2)

    def __post_init__(self) -> None:
        if self.horizon_hours <= 0:
            raise ValueError("horizon_hours must be > 0")
        if self.funding_interval_hours <= 0:
            raise ValueError("funding_interval_hours must be > 0")
        if self.borrow_rate < 0 or self.spot_fee < 0 or self.slippage_bps < 0:
            raise ValueError("borrow_rate, spot_fee and slippage_bps must be >= 0")

    def funding(
        self, instrument: str, notional: Decimal, current: Decimal | None = None
    ) -> Decimal:
        """Funding paid over the horizon by a position of this signed notional (< 0: received):
        at the instrument's configured rate, else the venue's `current` rate (the snapshot's),
        else the configured default."""
        rate = self.funding_rates.get(instrument, self.funding_rate if current is None else current)
        return notional * rate * self.horizon_hours / self.funding_interval_hours


def with_carry(
    plan: Plan,
    snapshot: Snapshot,
    strategy: Strategy,
    terms: CarryTerms,
    cost_basis: Mapping[str, Decimal],
) -> Plan:
    """The plan with its hedge-or-sell figures attached (stored and printed with it)."""
    lines = hedge_or_sell(plan, snapshot, strategy, terms, cost_basis)
    return replace(plan, carry=CarryFigures(terms.horizon_hours, lines))


def hedge_or_sell(
    plan: Plan,
    snapshot: Snapshot,
    strategy: Strategy,
    terms: CarryTerms,
    cost_basis: Mapping[str, Decimal],
) -> tuple[HedgeOrSell, ...]:
    """Per hedgeable line of the plan, its carry beside the spot trade it replaces."""
    after = snapshot.positions_after(plan.orders)
    gross = snapshot.gross_at(after)
    interest = snapshot.borrowed * terms.borrow_rate * terms.horizon_hours / HOURS_PER_YEAR
    return tuple(
        _line(
            line,
            snapshot=snapshot,
            strategy=strategy,
            terms=terms,
            cost_basis=cost_basis,
            after=after,
            gross=gross,
            interest=interest,
        )
        for line in plan.lines
        if line.instruments
    )


def _line(
    line: PlanLine,
    *,
    snapshot: Snapshot,
    strategy: Strategy,
    terms: CarryTerms,
    cost_basis: Mapping[str, Decimal],
    after: Mapping[str, Decimal],
    gross: Decimal,
    interest: Decimal,
) -> HedgeOrSell:
    funding = ZERO
    line_gross = ZERO
    for symbol in line.instruments:
        perp = snapshot.perps[symbol]
        funding += terms.funding(symbol, after[symbol] * perp.mark, perp.funding_rate)
        notional = after[symbol] * perp.mark
        line_gross += abs(notional)
    spot = split_over_members(line, line.hedge_after, strategy)
    traded = sum((abs(v) for v in spot.values()), ZERO)
    return HedgeOrSell(
        line=line.name,
        hedge=line.hedge_after,
        added=line.hedge_change,
        funding=funding,
        interest=interest * line_gross / gross if gross else ZERO,
        spot_trade=sum(spot.values(), ZERO),
        fees=traded * terms.spot_fee,
        slippage=traded * terms.slippage_bps / BPS,
        realised_gain=_gain(spot, snapshot, cost_basis),
    )


def split_over_members(line: PlanLine, change: Decimal, strategy: Strategy) -> dict[str, Decimal]:
    """Per member, the spot value whose trade gives the line `change` of exposure.

    Split by beta-weighted target weight (equally when all are zero); a proxy member trades
    the change over its beta.
    """
    members = [(a, strategy.weights[a], strategy.hedges[a].beta) for a in line.assets]
    total = sum((w * b for _, w, b in members), ZERO)
    values = {}
    for asset, weight, beta in members:
        share = weight * beta / total if total else Decimal(1) / len(members)
        values[asset] = change * share / beta
    return values


def _gain(
    spot: Mapping[str, Decimal], snapshot: Snapshot, cost_basis: Mapping[str, Decimal]
) -> Decimal | None:
    """The gain a sale realises at today's price against the average cost (buys realise none)."""
    gain = ZERO
    for asset, value in spot.items():
        if value >= 0:
            continue
        holding = snapshot.spot.get(asset)
        cost = cost_basis.get(asset)
        if holding is None or cost is None:
            return None
        gain += -value / holding.price * (holding.price - cost)
    return gain
