"""What a client order id says about when its order was sent.

Client order ids are `rb-<run id>-<leg>`, and a run id opens with the run's start time in UTC
(`RUN_TIME_FORMAT`): the service writes them (`service.ids`); a venue whose order history is
searched by time window (Bybit keeps seven days per query) reads the time back, so an order
from an old run is still found, and found in one query.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

RUN_TIME_FORMAT = "%Y%m%dT%H%M%S"
PREFIX = "rb-"
_TIMED = re.compile(rf"^{PREFIX}(\d{{8}}T\d{{6}})-")


def run_started_at(client_id: str) -> datetime | None:
    """The start (UTC) of the run that sent this order; None for an id of another form."""
    match = _TIMED.match(client_id)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), RUN_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
