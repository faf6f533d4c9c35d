"""What the overlay has cost and will cost: the carry report, a pure function of its inputs.

Per hedge: funding paid and received (from the ledger), trading fees (from the journal's
orders), the basis (mark / spot - 1 of the hedge's asset) now and its range over the journaled
snapshots, the net carry annualised on the hedge's notional now, and a projection at the
current funding rate. In total: the same sums, borrow interest per coin, the borrow rate the
recent charges imply and the interest it projects on what is borrowed now. Gaps the ledger
cannot vouch for are listed with the figures: a gap is never a zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from rebalancer.domain.ledger import (
    CarryEntry,
    CarryGap,
    CarryKind,
    funding_interval,
    merge_gaps,
    missed_between_payments,
    missed_while_open,
)
from rebalancer.domain.snapshot import Snapshot

ZERO = Decimal(0)
YEAR = timedelta(days=365)
RECENT_CHARGES = 24  # interest charges the implied borrow rate is read from
MIN_PERIOD = timedelta(days=1)  # a shorter period annualises noise into absurd rates


@dataclass(frozen=True, slots=True)
class HedgeCarry:
    instrument: str
    funding_paid: Decimal  # <= 0
    funding_received: Decimal  # >= 0
    fees: Decimal  # >= 0, a cost
    payments: int
    notional: Decimal  # signed h x m now (0: closed)
    funding_rate: Decimal | None  # now, per funding interval
    interval: timedelta
    basis_now: Decimal | None
    basis_low: Decimal | None
    basis_high: Decimal | None

    @property
    def funding(self) -> Decimal:
        return self.funding_paid + self.funding_received

    @property
    def net(self) -> Decimal:
        """Funding less fees: what the hedge earned (negative: cost)."""
        return self.funding - self.fees

    def projected_year(self) -> Decimal | None:
        """A year of funding at the current rate on the current notional (longs pay a
        positive rate, shorts receive it)."""
        if self.funding_rate is None:
            return None
        return -self.notional * self.funding_rate * Decimal(YEAR / self.interval)


@dataclass(frozen=True, slots=True)
class CarryReport:
    quote: str
    since: datetime
    until: datetime
    hedges: tuple[HedgeCarry, ...]
    interest: Mapping[str, Decimal]  # per coin, <= 0
    borrowed: Decimal  # now
    equity: Decimal | None  # now
    borrow_rate: Decimal | None  # a year, implied by recent charges
    gaps: tuple[CarryGap, ...]
    cumulative: tuple[tuple[datetime, Decimal], ...]  # funding + interest, in time order
    positions_known: bool = True  # False: no snapshot at all, so nothing to project on

    @property
    def funding_paid(self) -> Decimal:
        return sum((h.funding_paid for h in self.hedges), ZERO)

    @property
    def funding_received(self) -> Decimal:
        return sum((h.funding_received for h in self.hedges), ZERO)

    @property
    def fees(self) -> Decimal:
        return sum((h.fees for h in self.hedges), ZERO)

    @property
    def interest_total(self) -> Decimal:
        return sum(self.interest.values(), ZERO)

    @property
    def net(self) -> Decimal:
        return self.funding_paid + self.funding_received + self.interest_total - self.fees

    @property
    def notional(self) -> Decimal:
        return sum((abs(h.notional) for h in self.hedges), ZERO)

    def annualised(self, net: Decimal, notional: Decimal) -> Decimal | None:
        """`net` over the report's period as a yearly rate on `notional` (None: no hedge, or
        a period shorter than a day)."""
        span = self.until - self.since
        if notional <= 0 or span < MIN_PERIOD:
            return None
        return net / notional * Decimal(YEAR / span)

    @property
    def hedges_net(self) -> Decimal:
        """Funding less fees over every hedge (interest apart)."""
        return sum((h.net for h in self.hedges), ZERO)

    def projected_funding_year(self) -> Decimal | None:
        if not self.positions_known:
            return None
        parts = [h.projected_year() for h in self.hedges if h.notional]
        if any(p is None for p in parts):
            return None
        return sum((p for p in parts if p is not None), ZERO)

    def projected_interest_year(self) -> Decimal | None:
        return None if self.borrow_rate is None else -self.borrowed * self.borrow_rate

    def projected_year(self) -> Decimal | None:
        """Funding and interest for a year at current rates (None: a rate is not known)."""
        funding = self.projected_funding_year()
        interest = self.projected_interest_year()
        if funding is None or (self.borrowed > 0 and interest is None):
            return None
        return funding + (interest or ZERO)

    @property
    def borrow_share(self) -> Decimal | None:
        """Borrowed quote / equity now (a unified account's)."""
        if self.equity is None or self.equity <= 0:
            return None
        return self.borrowed / self.equity


def basis(snapshot: Snapshot, instrument: str) -> Decimal | None:
    """mark / spot - 1 of the perp's base asset in one snapshot (None: not both there)."""
    perp = snapshot.perps.get(instrument)
    spot = snapshot.spot.get(instrument.split("/", maxsplit=1)[0])
    if perp is None or spot is None:
        return None
    return perp.mark / spot.price - 1


def carry_report(
    *,
    quote: str,
    since: datetime,
    until: datetime,
    entries: Sequence[CarryEntry],
    recorded_gaps: Sequence[CarryGap],
    snapshots: Sequence[Snapshot],
    fees: Mapping[str, Decimal],
    now: Snapshot | None,
) -> CarryReport:
    """The report over [since, until] (`snapshots` in time order; `now` the latest read)."""
    entries = [e for e in entries if since <= e.at <= until]
    funding: dict[str, list[CarryEntry]] = {}
    interest: dict[str, Decimal] = {}
    for entry in entries:
        if entry.kind is CarryKind.FUNDING:
            funding.setdefault(entry.subject, []).append(entry)
        else:
            interest[entry.subject] = interest.get(entry.subject, ZERO) + entry.amount
    latest = now or (snapshots[-1] if snapshots else None)
    held = {s for snap in snapshots for s, p in snap.perps.items() if p.position}
    if latest is not None:
        held |= {s for s, p in latest.perps.items() if p.position}
    instruments = sorted(set(funding) | set(fees) | held)
    hedges = tuple(
        _hedge(i, funding.get(i, []), fees.get(i, ZERO), snapshots, latest) for i in instruments
    )
    return CarryReport(
        quote=quote,
        since=since,
        until=until,
        hedges=hedges,
        interest=interest,
        borrowed=latest.borrowed if latest is not None else ZERO,
        equity=latest.equity if latest is not None else None,
        borrow_rate=implied_borrow_rate(entries),
        gaps=tuple(_gaps(entries, recorded_gaps, snapshots, since, until)),
        cumulative=_cumulative(entries),
        positions_known=latest is not None,
    )


def _hedge(
    instrument: str,
    payments: Sequence[CarryEntry],
    fees: Decimal,
    snapshots: Sequence[Snapshot],
    latest: Snapshot | None,
) -> HedgeCarry:
    bases = [b for s in snapshots if (b := basis(s, instrument)) is not None]
    perp = latest.perps.get(instrument) if latest is not None else None
    now = basis(latest, instrument) if latest is not None else None
    if now is not None:
        bases.append(now)
    return HedgeCarry(
        instrument=instrument,
        funding_paid=sum((p.amount for p in payments if p.amount < 0), ZERO),
        funding_received=sum((p.amount for p in payments if p.amount > 0), ZERO),
        fees=fees,
        payments=len(payments),
        notional=perp.notional if perp is not None else ZERO,
        funding_rate=perp.funding_rate if perp is not None else None,
        interval=funding_interval([p.at for p in payments]),
        basis_now=now,
        basis_low=min(bases) if bases else None,
        basis_high=max(bases) if bases else None,
    )


def implied_borrow_rate(entries: Sequence[CarryEntry]) -> Decimal | None:
    """The yearly rate the recent interest charges imply, over the last `RECENT_CHARGES`:
    each charge's share of what was borrowed (charged / borrowed where the venue says what
    was borrowed, else the rate it applied), per charge period, times the periods in a year."""
    charges = sorted(
        (e for e in entries if e.kind is CarryKind.INTEREST and (e.notional or e.rate)),
        key=lambda e: e.at,
    )[-RECENT_CHARGES:]
    if not charges:
        return None
    period = funding_interval([e.at for e in charges]) if len(charges) > 1 else timedelta(hours=1)
    shares = [-e.amount / e.notional if e.notional else abs(e.rate or ZERO) for e in charges]
    return sum(shares, ZERO) / len(shares) * Decimal(YEAR / period)


def _gaps(
    entries: Sequence[CarryEntry],
    recorded: Sequence[CarryGap],
    snapshots: Sequence[Snapshot],
    since: datetime,
    until: datetime,
) -> list[CarryGap]:
    held: dict[str, list[tuple[datetime, bool]]] = {}
    for snap in snapshots:
        for symbol, perp in snap.perps.items():
            held.setdefault(symbol, []).append((snap.taken_at, perp.position != 0))
    found = [
        *missed_between_payments(entries),
        *missed_while_open(entries, held, until),
        *(g for g in recorded if g.end >= since and g.start <= until),
    ]
    return merge_gaps(found)


def _cumulative(entries: Sequence[CarryEntry]) -> tuple[tuple[datetime, Decimal], ...]:
    total = ZERO
    points: list[tuple[datetime, Decimal]] = []
    for entry in sorted(entries, key=lambda e: e.at):
        total += entry.amount
        points.append((entry.at, total))
    return tuple(points)
