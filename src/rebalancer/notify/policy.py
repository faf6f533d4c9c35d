"""How persistently one notification is re-sent: bounded attempts, backoff, capped Retry-After.

Pure values and arithmetic; `delivery.py` applies them. A `Retry-After` may be given in
seconds or as an HTTP date, in a header or (Discord, Telegram) in the JSON body.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Attempts per channel and notification; durations in seconds."""

    max_attempts: int = 4
    base_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        durations = (self.base_backoff, self.max_backoff, self.jitter, self.max_retry_after)
        if min(durations) < 0:
            raise ValueError("backoff, jitter and max_retry_after must be >= 0")

    def pause(self, attempt: int, retry_after: float | None) -> float:
        """The wait after failed attempt `attempt` (from 1): backoff, or Retry-After if longer."""
        exponent = min(attempt - 1, 32)  # the cap is reached long before; avoids float overflow
        jitter = random.uniform(0, self.jitter)  # noqa: S311 -- spreads load, needs no secrecy
        backoff = min(self.max_backoff, self.base_backoff * 2.0**exponent + jitter)
        if retry_after is None:
            return backoff
        return max(backoff, min(max(retry_after, 0.0), self.max_retry_after))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP date), None if unusable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)
