"""Bringing the carry ledger up to date: from the newest entry less an overlap, a window the
venue no longer serves recorded as a gap, and a failed read left to the next wake-up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rebalancer.domain.ledger import CarryEntry, CarryGap, CarryKind, CarryRead, unseen
from rebalancer.exchange.errors import TransientError
from rebalancer.service.carry import FIRST_READ, OVERLAP, CarrySync, sync_carry

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Ledger:
    def __init__(self) -> None:
        self.rows: list[CarryEntry] = []
        self.gaps: list[CarryGap] = []

    def add(self, portfolio: str, entries: Sequence[CarryEntry]) -> int:
        fresh = unseen(entries, [(e.source, e.kind.value, e.key) for e in self.rows])
        self.rows += fresh
        return len(fresh)

    def add_gaps(self, portfolio: str, gaps: Sequence[CarryGap]) -> int:
        self.gaps += gaps
        return len(gaps)

    def newest(self, portfolio: str) -> datetime | None:
        return max((e.at for e in self.rows), default=None)


class Venue:
    """Pays 0.1 at every 8-hour time; keeps `history` of it; may fail."""

    exchange_id = "binance"

    def __init__(self, history: timedelta = timedelta(days=90), fail: bool = False) -> None:
        self.history = history
        self.fail = fail
        self.asked: list[tuple[datetime, datetime]] = []

    async def read_carry(self, since: datetime, until: datetime) -> CarryRead:
        self.asked.append((since, until))
        if self.fail:
            raise TransientError("timed out")
        served = until - self.history
        start = max(since, served)
        first = start.replace(hour=0, minute=0) + timedelta(hours=8)
        times = []
        while first <= until:
            if first >= start:
                times.append(first)
            first += timedelta(hours=8)
        entries = tuple(
            CarryEntry(
                CarryKind.FUNDING,
                f"t{t.isoformat()}",
                t,
                "BTC/USDT:USDT",
                Decimal("0.1"),
                "binance",
            )
            for t in times
        )
        return CarryRead(entries, served)


def sync(
    venue: Venue, ledger: Ledger, now: datetime = NOW, start: datetime | None = None
) -> CarrySync:
    return asyncio.run(sync_carry(venue, ledger, "p", now, start=start))  # type: ignore[arg-type]


def test_an_empty_ledger_reads_a_week_then_only_since_its_newest_entry() -> None:
    venue, ledger = Venue(), Ledger()
    first = sync(venue, ledger)
    assert venue.asked[0] == (NOW - FIRST_READ, NOW)
    assert first.added == len(ledger.rows) > 0
    later = NOW + timedelta(hours=9)
    second = sync(venue, ledger, later)
    newest = max(e.at for e in ledger.rows[: first.added])
    assert venue.asked[1] == (newest - OVERLAP, later)
    assert second.added == 1  # the overlap is read again, counted once
    assert second.gaps == ()


def test_a_window_the_venue_no_longer_serves_is_a_recorded_gap() -> None:
    venue, ledger = Venue(history=timedelta(days=3)), Ledger()
    done = sync(venue, ledger, start=NOW - timedelta(days=10))
    assert [(g.start, g.end) for g in done.gaps] == [
        (NOW - timedelta(days=10), NOW - timedelta(days=3))
    ]
    assert ledger.gaps == list(done.gaps)
    assert "no longer returns" in done.gaps[0].reason


def test_a_failed_read_records_nothing_and_says_why() -> None:
    ledger = Ledger()
    done = sync(Venue(fail=True), ledger)
    assert done.added == 0
    assert done.error is not None
    assert "timed out" in done.error
    assert ledger.rows == []
