"""The controls port in SQL: one row per portfolio, upserted in its own transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rebalancer.service.controls import Controls
from rebalancer.store.engine import Store
from rebalancer.store.tables import ControlsRow, PaperAccountRow


def _now() -> datetime:
    return datetime.now(UTC)


class SqlControls:
    def __init__(self, store: Store, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    def load(self, portfolio: str) -> Controls:
        with self._store.read() as session:
            row = session.get(ControlsRow, portfolio)
            if row is None:
                return Controls()
            return Controls(
                row.halted, row.circuit_open, row.reason, row.consecutive_failures, row.since
            )

    def save(self, portfolio: str, controls: Controls) -> None:
        with self._store.write() as session:
            row = session.get(ControlsRow, portfolio)
            if row is None:
                row = ControlsRow(portfolio=portfolio)
                session.add(row)
            row.halted = controls.halted
            row.circuit_open = controls.circuit_open
            row.reason = controls.reason
            row.consecutive_failures = controls.consecutive_failures
            row.since = controls.since
            row.updated_at = self._clock()


class SqlPaperAccounts:
    """Paper accounts as JSON documents (the paper gateway owns their shape)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    def load(self, portfolio: str) -> dict[str, Any] | None:
        with self._store.read() as session:
            row = session.get(PaperAccountRow, portfolio)
            return None if row is None else dict(row.document)

    def save(self, portfolio: str, document: dict[str, Any]) -> None:
        with self._store.write() as session:
            row = session.get(PaperAccountRow, portfolio)
            if row is None:
                row = PaperAccountRow(portfolio=portfolio)
                session.add(row)
            row.document = document
            row.updated_at = self._clock()

    def reset(self, portfolio: str) -> bool:
        with self._store.write() as session:
            row = session.get(PaperAccountRow, portfolio)
            if row is None:
                return False
            session.delete(row)
            return True
