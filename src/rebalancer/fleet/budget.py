"""A venue's request-weight budget shared by every worker, held in PostgreSQL.

Exchanges limit request weight per egress IP (Binance: 2,400 weight per minute on USDⓈ-M), so
N workers on one host must share one budget. Each request's weight is charged to a sliding log
(`fleet_rate_spend`) *before* the request leaves, under a transaction-level advisory lock per
venue, against the server's clock (one clock for every process): a request is sent only if the
weight charged over the trailing window, plus its own, stays within the budget; otherwise the
caller sleeps until enough of the window has rolled off. The window is the venue's plus
`SLACK` seconds, so a request charged early and delivered late (a slow connection) still
lands inside the venue's own window. Without a budget row a venue's published limit applies.
Workers behind one egress IP share a budget; workers behind different IPs set different
`REBALANCER_FLEET_EGRESS` names (the default puts the whole fleet behind one).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog
from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import insert

from rebalancer.emulator.weights import request_weight as binance_weight
from rebalancer.store import Store
from rebalancer.store.tables import FleetRateBudgetRow

log = structlog.get_logger(__name__)
SLACK = timedelta(seconds=1)
# Venues' published IP limits (weight, seconds); a stored budget replaces them.
PUBLISHED: dict[str, tuple[int, Decimal]] = {
    "binance": (2400, Decimal(60)),
    "binanceusdm": (2400, Decimal(60)),
}


@dataclass(frozen=True, slots=True)
class Budget:
    venue: str
    weight: int
    per_seconds: Decimal
    egress: str = "default"  # workers behind one egress IP share one budget

    @property
    def key(self) -> str:
        return f"{self.venue}@{self.egress}"

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=float(self.per_seconds)) + SLACK


def set_budget(store: Store, venue: str, weight: int, per_seconds: Decimal) -> Budget:
    values = {"venue": venue, "weight": weight, "per_seconds": per_seconds}
    with store.write() as session:
        stmt = insert(FleetRateBudgetRow).values(**values)
        session.execute(stmt.on_conflict_do_update(index_elements=["venue"], set_=values))
    return Budget(venue, weight, per_seconds)


def budget_for(store: Store, venue: str, egress: str = "default") -> Budget | None:
    with store.read() as session:
        row = session.get(FleetRateBudgetRow, venue)
    if row is not None:
        return Budget(venue, row.weight, row.per_seconds, egress)
    published = PUBLISHED.get(venue)
    return None if published is None else Budget(venue, *published, egress)


def _key(venue: str) -> int:
    digest = hashlib.sha256(f"futures-rebalancer:rate:{venue}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_SPEND = text(
    "INSERT INTO fleet_rate_spend (venue, at, weight) VALUES (:venue, clock_timestamp(), :w)"
)
_WINDOW = text(
    "SELECT weight, EXTRACT(EPOCH FROM (at + CAST(:window AS interval) - clock_timestamp())) "
    "FROM fleet_rate_spend WHERE venue = :venue "
    "AND at > clock_timestamp() - CAST(:window AS interval) ORDER BY at"
)
_PRUNE = text(
    "DELETE FROM fleet_rate_spend WHERE venue = :venue "
    "AND at <= clock_timestamp() - CAST(:window AS interval)"
)


def try_spend(conn: Connection, budget: Budget, weight: int) -> float:
    """Charge `weight` now and return 0, or return the seconds to wait before trying again.
    Runs inside the caller's transaction."""
    weight = min(weight, budget.weight)  # a single request heavier than the budget still goes
    window = f"{budget.window.total_seconds()} seconds"
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _key(budget.key)})
    conn.execute(_PRUNE, {"venue": budget.key, "window": window})
    spent = [
        (int(w), float(left))
        for w, left in conn.execute(_WINDOW, {"venue": budget.key, "window": window})
    ]
    used = sum(w for w, _ in spent)
    if used + weight <= budget.weight:
        conn.execute(_SPEND, {"venue": budget.key, "w": weight})
        return 0.0
    freed = 0
    for w, left in spent:  # oldest first: wait until enough has rolled off
        freed += w
        if used - freed + weight <= budget.weight:
            return max(left, 0.01)
    return budget.window.total_seconds()


class SharedBudget:
    """Charges requests to a venue's shared budget, sleeping while it is spent."""

    def __init__(self, store: Store, budget: Budget) -> None:
        self.store = store
        self.budget = budget

    def _try(self, weight: int) -> float:
        with self.store.write_connection() as conn:
            return try_spend(conn, self.budget, weight)

    async def spend(self, weight: int) -> None:
        while True:
            wait = await asyncio.to_thread(self._try, weight)
            if wait <= 0:
                return
            log.info("rate_budget_waited", venue=self.budget.venue, seconds=round(wait, 3))
            await asyncio.sleep(wait)


def request_weight(venue: str, method: str, url: str, body: object) -> int:
    """The weight the venue counts for one request: Binance's documented IP weights (the
    table the emulator meters with); one per request elsewhere. ccxt's own rate-limit costs
    are relative figures, not the venue's weights, so they are not used."""
    if venue not in PUBLISHED:
        return 1
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    if isinstance(body, str):
        params.update(parse_qsl(body))
    return binance_weight(method.upper(), parts.path, params)


def charge_requests(budget: SharedBudget) -> Callable[[Any], None]:
    """A hook for `bootstrap.exchange_gateway`: every request of the ccxt client it builds
    (retries included) is charged to `budget` before ccxt signs it. A signed request carries
    its timestamp, and Binance refuses one older than its receive window, so the wait for the
    budget must come before the signature, not between it and the send."""

    def install(client: Any) -> None:
        own: Callable[..., Awaitable[Any]] = client.fetch2

        async def fetch2(
            path: str,
            api: Any = "public",
            method: str = "GET",
            params: Any = None,
            config: Any = None,
        ) -> Any:
            params = {} if params is None else params
            config = {} if config is None else config
            venue = budget.budget.venue
            weight = _weight_of(client, venue, path=path, api=api, method=method, params=params)
            await budget.spend(weight)
            return await own(path, api, method, params, config)

        client.fetch2 = fetch2

    return install


def _weight_of(client: Any, venue: str, *, path: str, api: Any, method: str, params: Any) -> int:
    """The request's weight, from the URL ccxt would build for it (signing a copy is cheap and
    sends nothing); a request ccxt cannot even build is charged 1 and fails as it would."""
    try:
        request = client.sign(path, api, method, copy.deepcopy(params))
    except Exception:
        return 1  # the real call raises it again, to its caller
    return request_weight(venue, str(request["method"]), str(request["url"]), request.get("body"))
