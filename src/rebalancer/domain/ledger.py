"""The carry ledger's values: funding payments, borrow-interest charges, and gaps in them.

A `CarryEntry` is one payment the account made or received, keyed by the venue's own id (or,
where a venue gives none, by instrument and time) so that reading the same window twice never
counts a payment twice. A `CarryGap` is a window the ledger cannot vouch for: the venue no
longer returns it, or a funding time passed while a position was open and no payment for it
was found. A gap is reported as such, never filled with zero. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum

DEFAULT_FUNDING_INTERVAL = timedelta(hours=8)
INTERVALS = tuple(timedelta(hours=h) for h in (8, 4, 2, 1))  # the venues' funding intervals
FUNDING_TOLERANCE = timedelta(minutes=5)  # venues stamp a payment a few seconds late
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CarryKind(Enum):
    FUNDING = "funding"  # per perp: signed, negative when the account paid
    INTEREST = "interest"  # per borrowed coin: negative (a charge)


@dataclass(frozen=True, slots=True)
class CarryEntry:
    """One funding payment or interest charge, in the quote currency.

    `subject` is the perp (funding) or the coin (interest); `notional` the position's notional
    (funding) or the borrowed amount (interest) when the venue says; `rate` the rate applied
    (per funding interval, or per charge period for interest); `source` the venue's ccxt id or
    `paper`.
    """

    kind: CarryKind
    key: str
    at: datetime
    subject: str
    amount: Decimal
    source: str
    rate: Decimal | None = None
    notional: Decimal | None = None

    def __post_init__(self) -> None:
        if self.at.utcoffset() != timedelta(0):
            raise ValueError("a carry entry's time must be aware UTC")
        if not self.key:
            raise ValueError("a carry entry needs the venue's id (or instrument and time)")


@dataclass(frozen=True, slots=True)
class CarryRead:
    """Carry entries a venue booked in a window, and the oldest time it still serves."""

    entries: tuple[CarryEntry, ...]
    served_from: datetime | None = None  # None: the venue keeps its whole history


@dataclass(frozen=True, slots=True)
class CarryGap:
    """A window of `subject`'s carry the ledger cannot vouch for, and why."""

    subject: str
    start: datetime
    end: datetime
    reason: str
    source: str = ""


def entry_key(subject: str, at: datetime) -> str:
    """The key of a payment whose venue gives no id of its own: one per subject and time."""
    return f"{subject}@{int((at - _EPOCH).total_seconds() * 1000)}"


def unseen(
    entries: Iterable[CarryEntry], known: Iterable[tuple[str, str, str]]
) -> list[CarryEntry]:
    """`entries` less those already `known` (by source, kind and key) and less repeats."""
    seen = set(known)
    fresh: list[CarryEntry] = []
    for entry in entries:
        ident = (entry.source, entry.kind.value, entry.key)
        if ident not in seen:
            seen.add(ident)
            fresh.append(entry)
    return fresh


def funding_interval(times: Sequence[datetime]) -> timedelta:
    """The instrument's funding interval as its payments show it: the longest of the venues'
    intervals (8, 4, 2 or 1 hours) that divides the shortest spacing seen, so that skipped
    times do not stretch it; the common 8 hours when fewer than two payments are known."""
    ordered = sorted(set(times))
    steps = [b - a for a, b in itertools.pairwise(ordered) if b - a > FUNDING_TOLERANCE]
    if not steps:
        return DEFAULT_FUNDING_INTERVAL
    step = min(steps)
    for interval in INTERVALS:
        rest = step % interval
        if rest <= FUNDING_TOLERANCE or interval - rest <= FUNDING_TOLERANCE:
            return interval
    return INTERVALS[-1]


def missed_between_payments(entries: Sequence[CarryEntry]) -> list[CarryGap]:
    """Funding times skipped between two payments of one perp (the position was open at both,
    so it is taken as open between them): each run of missing times is one gap."""
    gaps: list[CarryGap] = []
    by_subject: dict[str, list[CarryEntry]] = {}
    for entry in entries:
        if entry.kind is CarryKind.FUNDING:
            by_subject.setdefault(entry.subject, []).append(entry)
    for subject, rows in sorted(by_subject.items()):
        rows.sort(key=lambda e: e.at)
        interval = funding_interval([e.at for e in rows])
        for a, b in itertools.pairwise(rows):
            if b.at - a.at > interval + FUNDING_TOLERANCE:
                gaps.append(
                    CarryGap(
                        subject,
                        a.at + interval,
                        b.at - interval,
                        "no funding payment at a funding time while the position was open",
                        a.source,
                    )
                )
    return gaps


def missed_while_open(
    entries: Sequence[CarryEntry],
    held: Mapping[str, Sequence[tuple[datetime, bool]]],
    until: datetime,
) -> list[CarryGap]:
    """Funding times with no payment between two snapshots that both show the position open.

    `held` maps each perp to (snapshot time, position open) in time order; funding times are
    on the instrument's interval grid from midnight UTC (00:00, 08:00, 16:00 for 8 hours).
    Times after `until` (the ledger's last read) are not yet due.
    """
    paid: dict[str, list[datetime]] = {}
    for entry in entries:
        if entry.kind is CarryKind.FUNDING:
            paid.setdefault(entry.subject, []).append(entry.at)
    gaps: list[CarryGap] = []
    for subject, marks in sorted(held.items()):
        times = sorted(paid.get(subject, []))
        interval = funding_interval(times)
        for (t0, open0), (t1, open1) in itertools.pairwise(marks):
            if not (open0 and open1):
                continue
            for due in _grid(t0, min(t1, until), interval):
                if not any(abs(t - due) <= FUNDING_TOLERANCE for t in times):
                    gaps.append(
                        CarryGap(
                            subject, due, due, "no funding payment while the position was open"
                        )
                    )
    return merge_gaps(gaps)


def _grid(start: datetime, end: datetime, interval: timedelta) -> list[datetime]:
    """Funding times in (start, end] on the interval's grid from midnight UTC."""
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    due = day + interval * ((start - day) // interval + 1)
    out: list[datetime] = []
    while due <= end:
        out.append(due)
        due += interval
    return out


def merge_gaps(gaps: Iterable[CarryGap]) -> list[CarryGap]:
    """One gap per subject and reason for each stretch of overlapping or repeated gaps."""
    merged: list[CarryGap] = []
    for gap in sorted(set(gaps), key=lambda g: (g.subject, g.reason, g.start, g.end)):
        last = merged[-1] if merged else None
        if (
            last is not None
            and (last.subject, last.reason) == (gap.subject, gap.reason)
            and gap.start <= last.end + DEFAULT_FUNDING_INTERVAL
        ):
            merged[-1] = CarryGap(
                last.subject, last.start, max(last.end, gap.end), last.reason, last.source
            )
        else:
            merged.append(gap)
    return merged
