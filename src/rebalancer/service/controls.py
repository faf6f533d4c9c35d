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
            return f"halted since {self.since:%Y-%m-%d %H:%M} UTC: {self.reason}"
        if self.circuit_open:
            return f"circuit open since {self.since:%Y-%m-%d %H:%M} UTC: {self.reason}"
        return "trading allowed"


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


class MemoryControls:
    def __init__(self) -> None:
        self._by_portfolio: dict[str, Controls] = {}

    def load(self, portfolio: str) -> Controls:
        return self._by_portfolio.get(portfolio, Controls())

    def save(self, portfolio: str, controls: Controls) -> None:
        self._by_portfolio[portfolio] = controls
