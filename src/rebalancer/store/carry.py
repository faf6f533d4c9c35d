"""The carry ledger in SQL: entries written once per venue key, gaps once per window.

`add` writes only the entries whose (source, kind, key) the portfolio's ledger does not hold
yet, in one transaction, so reading an overlapping window again adds nothing; the unique
constraint backs it should two writers ever race. Reads come back as domain values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, tuple_

from rebalancer.domain.ledger import CarryEntry, CarryGap, CarryKind, unseen
from rebalancer.store.engine import Store
from rebalancer.store.tables import CarryEntryRow, CarryGapRow

_CHUNK = 200  # keys per lookup: well under every database's bound-parameter limit


def _now() -> datetime:
    return datetime.now(UTC)


class SqlCarryLedger:
    def __init__(self, store: Store, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    def add(self, portfolio: str, entries: Sequence[CarryEntry]) -> int:
        """Write the entries not yet in the ledger; return how many were new."""
        if not entries:
            return 0
        with self._store.write() as session:
            known: set[tuple[str, str, str]] = set()
            idents = sorted({(e.source, e.kind.value, e.key) for e in entries})
            for i in range(0, len(idents), _CHUNK):
                chunk = idents[i : i + _CHUNK]
                rows = session.execute(
                    select(CarryEntryRow.source, CarryEntryRow.kind, CarryEntryRow.key).where(
                        CarryEntryRow.portfolio == portfolio,
                        tuple_(CarryEntryRow.source, CarryEntryRow.kind, CarryEntryRow.key).in_(
                            chunk
                        ),
                    )
                )
                known.update((r[0], r[1], r[2]) for r in rows)
            fresh = unseen(entries, known)
            now = self._clock()
            session.add_all(
                CarryEntryRow(
                    portfolio=portfolio,
                    source=e.source,
                    kind=e.kind.value,
                    key=e.key,
                    subject=e.subject,
                    at=e.at,
                    amount=e.amount,
                    rate=e.rate,
                    notional=e.notional,
                    recorded_at=now,
                )
                for e in fresh
            )
            return len(fresh)

    def add_gaps(self, portfolio: str, gaps: Sequence[CarryGap]) -> int:
        """Record gaps not yet recorded (one per source, subject and start)."""
        if not gaps:
            return 0
        with self._store.write() as session:
            rows = session.execute(
                select(CarryGapRow.source, CarryGapRow.subject, CarryGapRow.start).where(
                    CarryGapRow.portfolio == portfolio
                )
            )
            known = {(r[0], r[1], r[2]) for r in rows}
            added = 0
            for gap in gaps:
                ident = (gap.source, gap.subject, gap.start)
                if ident in known:
                    continue
                known.add(ident)
                session.add(
                    CarryGapRow(
                        portfolio=portfolio,
                        source=gap.source,
                        subject=gap.subject,
                        start=gap.start,
                        end=gap.end,
                        reason=gap.reason,
                        recorded_at=self._clock(),
                    )
                )
                added += 1
            return added

    def newest(self, portfolio: str) -> datetime | None:
        """The time of the portfolio's newest entry (where the next read starts)."""
        with self._store.read() as session:
            return session.scalar(
                select(func.max(CarryEntryRow.at)).where(CarryEntryRow.portfolio == portfolio)
            )

    def entries(self, portfolio: str, since: datetime | None = None) -> list[CarryEntry]:
        """The portfolio's entries, oldest first (from `since` when given)."""
        query = select(CarryEntryRow).where(CarryEntryRow.portfolio == portfolio)
        if since is not None:
            query = query.where(CarryEntryRow.at >= since)
        with self._store.read() as session:
            rows = session.scalars(query.order_by(CarryEntryRow.at, CarryEntryRow.id)).all()
            return [
                CarryEntry(
                    kind=CarryKind(r.kind),
                    key=r.key,
                    at=r.at,
                    subject=r.subject,
                    amount=r.amount,
                    source=r.source,
                    rate=r.rate,
                    notional=r.notional,
                )
                for r in rows
            ]

    def gaps(self, portfolio: str, since: datetime | None = None) -> list[CarryGap]:
        query = select(CarryGapRow).where(CarryGapRow.portfolio == portfolio)
        if since is not None:
            query = query.where(CarryGapRow.end >= since)
        with self._store.read() as session:
            rows = session.scalars(query.order_by(CarryGapRow.start, CarryGapRow.id)).all()
            return [CarryGap(r.subject, r.start, r.end, r.reason, r.source) for r in rows]
