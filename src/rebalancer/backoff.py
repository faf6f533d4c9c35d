"""Bounded, jittered exponential backoff that honours a Retry-After: one policy for every retry.

Exchange reads and webhook deliveries both wait this way; each picks its own defaults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """How persistently to retry; all durations are in seconds."""

    max_attempts: int = 4
    base_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        durations = (self.base_backoff, self.max_backoff, self.jitter, self.max_retry_after)
        if min(durations) < 0:
            raise ValueError("backoff, jitter and max_retry_after must be >= 0")

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (from 1), before any Retry-After."""
        exponent = min(attempt - 1, 32)  # the cap is reached long before; avoids float overflow
        jitter = random.uniform(0, self.jitter)  # noqa: S311 -- spreads load, needs no secrecy
        return min(self.max_backoff, self.base_backoff * 2.0**exponent + jitter)

    def pause(self, attempt: int, retry_after: float | None) -> float:
        """The wait after failed attempt `attempt`: backoff, or Retry-After (capped) if longer."""
        backoff = self.backoff(attempt)
        if retry_after is None:
            return backoff
        return max(backoff, min(max(retry_after, 0.0), self.max_retry_after))
