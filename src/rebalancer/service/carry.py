"""Keeping the carry ledger current: read what the venue booked since the last entry.

The ledger is read at every wake-up (cheaply: from the newest entry, less an hour for
payments a venue books late) and by the `carry` command. Entries are keyed by the venue's own
id, so the overlap is never counted twice. A window the venue no longer returns is recorded as
a gap, never as zero. A failed read is logged and left to the next wake-up: carry is reported,
not traded on, so it never stops a rebalance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from rebalancer.domain.ledger import CarryEntry, CarryGap
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.exchange.port import ExchangeGateway

OVERLAP = timedelta(hours=1)  # read again the last hour: venues book some payments late
FIRST_READ = timedelta(days=7)  # how far back an empty ledger starts, unless told
log = structlog.get_logger(__name__)


class CarryLedger(Protocol):
    """Where carry entries are kept (the SQL ledger; a list in tests)."""

    def add(self, portfolio: str, entries: Sequence[CarryEntry]) -> int: ...

    def add_gaps(self, portfolio: str, gaps: Sequence[CarryGap]) -> int: ...

    def newest(self, portfolio: str) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class CarrySync:
    since: datetime
    until: datetime
    added: int
    gaps: tuple[CarryGap, ...] = ()
    error: str | None = None


async def sync_carry(
    gateway: ExchangeGateway,
    ledger: CarryLedger,
    portfolio: str,
    now: datetime,
    *,
    start: datetime | None = None,
    read_until: datetime | None = None,
) -> CarrySync:
    """Read and record what the venue booked since the ledger's newest entry (or `start`,
    or a week back), at least from `read_until` (the end of this process's last read)."""
    newest = ledger.newest(portfolio)
    candidates = [t for t in (newest, read_until) if t is not None]
    since = max(candidates) - OVERLAP if candidates else (start or now - FIRST_READ)
    try:
        read = await gateway.read_carry(since, now)
    except ExchangeFailure as exc:
        log.warning("carry_read_failed", error=f"{type(exc).__name__}: {exc.message}")
        return CarrySync(since, now, 0, error=f"{type(exc).__name__}: {exc.message}")
    added = ledger.add(portfolio, read.entries)
    gaps: tuple[CarryGap, ...] = ()
    if read.served_from is not None and since < read.served_from:
        gaps = (
            CarryGap(
                "*",
                since,
                read.served_from,
                "the venue no longer returns this window",
                gateway.exchange_id,
            ),
        )
        ledger.add_gaps(portfolio, gaps)
    if added or gaps:
        log.info("carry_recorded", entries=added, gaps=len(gaps))
    return CarrySync(since, now, added, gaps)
