"""How persistently one notification is re-sent: bounded attempts, backoff, capped Retry-After.

Pure values and arithmetic; `delivery.py` applies them. A `Retry-After` may be given in
seconds or as an HTTP date, in a header or (Discord, Telegram) in the JSON body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from rebalancer.backoff import Backoff


@dataclass(frozen=True, slots=True)
class DeliveryPolicy(Backoff):
    """Attempts per channel and notification; shorter waits than an exchange read's."""

    jitter: float = 0.25
    max_retry_after: float = 30.0


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
