"""Trading controls and paper accounts persist, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rebalancer.service.controls import Controls, after_cycle
from rebalancer.store import SqlControls, SqlPaperAccounts, Store

T = datetime(2026, 11, 24, tzinfo=UTC)


def test_controls_default_to_trading_and_round_trip(store: Store) -> None:
    controls = SqlControls(store)
    assert controls.load("p").trading_allowed
    opened = after_cycle(Controls(), ok=False, unresolved=True, limit=3, at=T, error="x")
    controls.save("p", opened)
    again = SqlControls(store).load("p")
    assert again == opened
    assert not again.trading_allowed
    assert again.since == T


def test_the_circuit_opens_after_the_configured_failures() -> None:
    state = Controls()
    for _ in range(2):
        state = after_cycle(state, ok=False, unresolved=False, limit=3, at=T, error="boom")
    assert not state.circuit_open
    state = after_cycle(state, ok=False, unresolved=False, limit=3, at=T, error="boom")
    assert state.circuit_open
    assert "3 consecutive failed cycles" in state.reason
    assert (
        after_cycle(
            Controls(consecutive_failures=2), ok=True, unresolved=False, limit=3, at=T, error=""
        ).consecutive_failures
        == 0
    )


def test_paper_accounts_keep_exact_decimals_and_reset(store: Store) -> None:
    accounts = SqlPaperAccounts(store)
    assert accounts.load("p") is None
    accounts.save("p", {"wallet": Decimal("2000.123456789012345678"), "positions": {}})
    loaded = accounts.load("p")
    assert loaded is not None
    assert Decimal(str(loaded["wallet"])) == Decimal("2000.123456789012345678")
    assert accounts.reset("p")
    assert accounts.load("p") is None
    assert not accounts.reset("p")
