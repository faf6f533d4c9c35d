"""Gaps in the carry ledger: a funding time with no payment while a position was open is
reported, as is each run of them; a paid or closed-position time never is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rebalancer.domain.ledger import (
    CarryEntry,
    CarryKind,
    funding_interval,
    missed_between_payments,
    missed_while_open,
    unseen,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)  # a funding time (midnight)
EIGHT = timedelta(hours=8)
BTC = "BTC/USDT:USDT"


def paid(i: int, subject: str = BTC, *, late: timedelta = timedelta(0)) -> CarryEntry:
    return CarryEntry(
        CarryKind.FUNDING, f"{subject}-{i}", T0 + i * EIGHT + late, subject, Decimal("-0.1"), "x"
    )


def test_a_skipped_funding_time_between_two_payments_is_one_gap() -> None:
    gaps = missed_between_payments([paid(0), paid(1), paid(3), paid(4)])
    assert [(g.subject, g.start, g.end) for g in gaps] == [(BTC, T0 + 2 * EIGHT, T0 + 2 * EIGHT)]


def test_payments_stamped_seconds_late_are_no_gap() -> None:
    entries = [paid(i, late=timedelta(seconds=i * 7)) for i in range(5)]
    assert missed_between_payments(entries) == []


def test_the_interval_is_read_from_the_payments() -> None:
    hourly = [
        CarryEntry(CarryKind.FUNDING, f"k{i}", T0 + timedelta(hours=i), BTC, Decimal(0), "x")
        for i in (0, 1, 2, 4)
    ]
    assert funding_interval([e.at for e in hourly]) == timedelta(hours=1)
    gaps = missed_between_payments(hourly)
    assert [(g.start, g.end) for g in gaps] == [(T0 + timedelta(hours=3),) * 2]


@given(st.sets(st.integers(1, 28), max_size=20))
def test_every_missing_time_is_inside_a_gap_and_no_paid_time_is(missing: set[int]) -> None:
    entries = [paid(i) for i in range(30) if i not in missing]  # 0 and 29 always paid
    gaps = missed_between_payments(entries)

    def covered(i: int) -> bool:
        return any(g.start <= T0 + i * EIGHT <= g.end for g in gaps)

    assert all(covered(i) for i in missing)
    assert not any(covered(i) for i in range(30) if i not in missing)


def test_a_funding_time_while_open_at_both_snapshots_without_payment_is_a_gap() -> None:
    held = {BTC: [(T0 + timedelta(hours=1), True), (T0 + timedelta(hours=20), True)]}
    # Funding times 08:00 and 16:00 fall between; only 08:00 was paid.
    gaps = missed_while_open([paid(1)], held, until=T0 + timedelta(days=1))
    assert [(g.start, g.end) for g in gaps] == [(T0 + 2 * EIGHT, T0 + 2 * EIGHT)]
    assert "position was open" in gaps[0].reason


def test_no_gap_where_the_position_was_closed_at_either_snapshot_or_time_not_due() -> None:
    until = T0 + timedelta(days=1)
    closed = {BTC: [(T0 + timedelta(hours=1), True), (T0 + timedelta(hours=20), False)]}
    assert missed_while_open([], closed, until) == []
    early = {BTC: [(T0 + timedelta(hours=1), True), (T0 + timedelta(hours=20), True)]}
    assert missed_while_open([], early, until=T0 + timedelta(hours=7)) == []


def test_unseen_drops_known_and_repeated_entries() -> None:
    a, b = paid(0), paid(1)
    assert unseen([a, b, a], [("x", "funding", a.key)]) == [b]
