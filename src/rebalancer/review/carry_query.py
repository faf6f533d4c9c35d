"""The journal's side of the carry report: ledger entries and gaps, the snapshots the basis
and the open positions are read from, and the fees paid per instrument."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from rebalancer.domain.snapshot import Snapshot
from rebalancer.review.carry import CarryReport, carry_report
from rebalancer.review.queries import parsed_snapshot
from rebalancer.store import SqlCarryLedger
from rebalancer.store.engine import Store
from rebalancer.store.tables import OrderRow, RunRow, SnapshotRow

_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
MAX_SNAPSHOTS = 20_000  # the newest ones, for the basis range and the open positions


def journaled_snapshots(store: Store, portfolio: str, since: datetime) -> list[Snapshot]:
    """The portfolio's journaled snapshots taken at or after `since`, oldest first."""
    query = (
        select(SnapshotRow)
        .join(RunRow, RunRow.run_id == SnapshotRow.run_id)
        .where(RunRow.portfolio == portfolio, SnapshotRow.taken_at >= since)
        .order_by(SnapshotRow.taken_at.desc())
        .limit(MAX_SNAPSHOTS)
    )
    with store.read() as session:
        rows = session.scalars(query).all()
        return [parsed_snapshot(r) for r in reversed(rows)]


def fees_by_instrument(
    store: Store, portfolio: str, since: datetime, quote: str
) -> dict[str, Decimal]:
    """Trading fees in the quote per perp, of orders created at or after `since`."""
    query = (
        select(OrderRow.instrument, OrderRow.fee, OrderRow.fee_currency)
        .join(RunRow, RunRow.run_id == OrderRow.run_id)
        .where(RunRow.portfolio == portfolio, OrderRow.created_at >= since)
    )
    fees: dict[str, Decimal] = {}
    with store.read() as session:
        for instrument, fee, currency in session.execute(query):
            if fee is not None and currency in (None, quote):
                fees[instrument] = fees.get(instrument, Decimal(0)) + fee
    return fees


def journal_carry(
    store: Store,
    portfolio: str,
    *,
    quote: str,
    since: datetime | None,
    until: datetime,
    now: Snapshot | None = None,
) -> CarryReport:
    """The carry report from the journal, `now` being a fresh read of the account if any.

    Without `since` it starts at the ledger's first entry (or the first journaled snapshot).
    """
    ledger = SqlCarryLedger(store)
    entries = ledger.entries(portfolio, since)
    snaps = journaled_snapshots(
        store, portfolio, since or datetime.min.replace(tzinfo=until.tzinfo)
    )
    if since is None:
        firsts = [
            t
            for t in (entries[0].at if entries else None, snaps[0].taken_at if snaps else None)
            if t
        ]
        since = min(firsts) if firsts else until
    return carry_report(
        quote=quote,
        since=since,
        until=until,
        entries=entries,
        recorded_gaps=ledger.gaps(portfolio, since),
        snapshots=snaps,
        fees=fees_by_instrument(store, portfolio, since, quote),
        now=now,
    )
