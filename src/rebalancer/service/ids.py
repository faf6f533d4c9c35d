"""Run ids and the default client order id form (the venue's gateway may use another).

A client order id is `rb-<run id>-<leg>` unless the venue's dialect names another form
(`rebalancer.domain.client_ids`): unique per leg of a run, and derivable again after a crash,
so recovery can look every order up.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from rebalancer.domain.client_ids import RUN_TIME_FORMAT, dashed


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique across processes: `20261123T234500-1a2b3c`."""
    return f"{now.strftime(RUN_TIME_FORMAT)}-{secrets.token_hex(3)}"


def client_order_id(run_id: str, leg: int) -> str:
    """The default form (`rb-<run id>-<leg>`), for gateways without a venue rule."""
    return dashed(run_id, leg)
