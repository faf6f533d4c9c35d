"""Trading controls that outlive the process: the kill switch and the circuit breaker.

`halted` is set by `rebalancer halt` and stops new orders at once; the circuit opens after N
consecutive failed cycles or when an order's outcome is left unresolved. Both persist (in the
journal database) until `rebalancer resume`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Controls:
    halted: bool = False
    circuit_open: bool = False
    reason: str = ""
    consecutive_failures: int = 0
    since: datetime | None = None

    @property
    def trading_allowed(self) -> bool:
        return not (self.halted or self.circuit_open)

    def describe(self) -> str:
        if self.halted:
            return f"halted since {_when(self.since)}: {self.reason}"
        if self.circuit_open:
            return f"circuit open since {_when(self.since)}: {self.reason}"
        return "trading allowed"

    def refusal(self) -> str:
        """The one line every order path prints when it refuses to trade."""
        if self.halted:
            return (
                f"trading is halted since {_when(self.since)} ({self.reason}); "
                "`rebalancer resume` lifts it"
            )
        return (
            f"the circuit breaker is open since {_when(self.since)} ({self.reason}); "
            "`rebalancer resume` closes it once the cause is resolved"
        )


def _when(at: datetime | None) -> str:
    return "an unknown time" if at is None else f"{at:%Y-%m-%d %H:%M} UTC"


class TradingStopped(Exception):  # noqa: N818 - named for the state it reports
    """Trading is halted or the circuit is open: nothing was sent."""

    def __init__(self, controls: Controls) -> None:
        super().__init__(controls.refusal())
        self.controls = controls


def after_cycle(
    controls: Controls, *, ok: bool, unresolved: bool, limit: int, at: datetime, error: str
) -> Controls:
    """The controls after a cycle: count failures, open the circuit when it must."""
    if ok:
        return replace(controls, consecutive_failures=0)
    failures = controls.consecutive_failures + 1
    if unresolved:
        return Controls(False, True, f"unresolved order outcome: {error}", failures, at)
    if failures >= limit:
        reason = f"{failures} consecutive failed cycles; last: {error}"
        return Controls(controls.halted, True, reason, failures, at)
    return replace(controls, consecutive_failures=failures)


class ControlStore(Protocol):
    def load(self, portfolio: str) -> Controls: ...

    def save(self, portfolio: str, controls: Controls) -> None: ...


@dataclass(frozen=True, slots=True)
class TradingGate:
    """The kill switch and the circuit breaker as every order path sees them.

    Read from the store at each check (never cached), so a `rebalancer halt` from another
    process stops the next order phase of a running cycle.
    """

    store: ControlStore
    portfolio: str

    def controls(self) -> Controls:
        return self.store.load(self.portfolio)

    def check(self) -> None:
        """Raise `TradingStopped` unless trading is allowed now."""
        controls = self.controls()
        if not controls.trading_allowed:
            raise TradingStopped(controls)


class MemoryControls:
    def __init__(self) -> None:
        self._by_portfolio: dict[str, Controls] = {}

    def load(self, portfolio: str) -> Controls:
        return self._by_portfolio.get(portfolio, Controls())

    def save(self, portfolio: str, controls: Controls) -> None:
        self._by_portfolio[portfolio] = controls
