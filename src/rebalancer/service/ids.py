"""Run ids and client order ids: deterministic from the run and the leg.

A client order id is `rb-<run id>-<leg>`: within Binance's `[.A-Z:/a-z0-9_-]{1,36}`, unique per
leg of a run, and derivable again after a crash, so recovery can look every order up.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from rebalancer.domain.order_ids import PREFIX, RUN_TIME_FORMAT

CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique across processes: `20261123T234500-1a2b3c`."""
    return f"{now.strftime(RUN_TIME_FORMAT)}-{secrets.token_hex(3)}"


def client_order_id(run_id: str, leg: int) -> str:
    cid = f"{PREFIX}{run_id}-{leg}"
    if not CLIENT_ID.match(cid):
        raise ValueError(f"client order id {cid!r} breaks the exchange's charset or length")
    return cid
