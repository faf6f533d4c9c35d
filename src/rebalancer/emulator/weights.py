"""Binance request weights per endpoint and the rolling one-minute used-weight counters.

Weights are Binance's documented IP weights (not ccxt's internal rate-limit costs). Spot, SAPI
and USDⓈ-M futures keep separate counters, as the real venue does, each reported in its own
`X-*-USED-WEIGHT-1M` style header.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping

# (method, path) -> (weight with symbol, weight without symbol)
_WEIGHTS: dict[tuple[str, str], tuple[int, int]] = {
    ("GET", "/api/v3/ping"): (1, 1),
    ("GET", "/api/v3/time"): (1, 1),
    ("GET", "/api/v3/exchangeInfo"): (20, 20),
    ("GET", "/api/v3/ticker/24hr"): (2, 80),
    ("GET", "/api/v3/ticker/price"): (2, 4),
    ("GET", "/api/v3/klines"): (2, 2),  # spot: 2 whatever the limit
    ("GET", "/api/v3/account"): (20, 20),
    ("POST", "/api/v3/order"): (1, 1),
    ("GET", "/api/v3/order"): (4, 4),
    ("DELETE", "/api/v3/order"): (1, 1),
    ("GET", "/api/v3/openOrders"): (6, 80),
    ("GET", "/api/v3/myTrades"): (20, 20),
    ("GET", "/fapi/v1/ping"): (1, 1),
    ("GET", "/fapi/v1/time"): (1, 1),
    ("GET", "/fapi/v1/exchangeInfo"): (1, 1),
    ("GET", "/fapi/v1/premiumIndex"): (1, 10),
    ("GET", "/fapi/v1/ticker/24hr"): (1, 40),
    ("GET", "/fapi/v1/ticker/price"): (1, 2),
    # Binance: shares a 500 requests / 5 min / IP budget with fundingInfo; counted as 1 here.
    ("GET", "/fapi/v1/fundingRate"): (1, 1),
    ("GET", "/fapi/v2/account"): (5, 5),
    ("GET", "/fapi/v3/account"): (5, 5),
    ("GET", "/fapi/v2/positionRisk"): (5, 5),
    ("GET", "/fapi/v3/positionRisk"): (5, 5),
    ("POST", "/fapi/v1/order"): (1, 1),
    ("POST", "/fapi/v1/batchOrders"): (5, 5),
    ("GET", "/fapi/v1/order"): (1, 1),
    ("DELETE", "/fapi/v1/order"): (1, 1),
    ("GET", "/fapi/v1/openOrders"): (1, 40),
    ("GET", "/fapi/v1/userTrades"): (5, 5),
    ("POST", "/fapi/v1/leverage"): (1, 1),
    ("POST", "/fapi/v1/marginType"): (1, 1),
    ("GET", "/fapi/v1/positionSide/dual"): (30, 30),
    ("POST", "/fapi/v1/positionSide/dual"): (1, 1),
    ("GET", "/fapi/v1/multiAssetsMargin"): (30, 30),
    ("GET", "/fapi/v1/leverageBracket"): (1, 1),
    ("GET", "/fapi/v1/symbolConfig"): (5, 5),
    ("GET", "/fapi/v1/commissionRate"): (20, 20),
    ("GET", "/sapi/v1/account/apiRestrictions"): (1, 1),
    # Binance states this one as UID weight 900; it is counted here like an IP weight.
    ("POST", "/sapi/v1/asset/transfer"): (900, 900),
    ("GET", "/sapi/v1/capital/config/getall"): (10, 10),
    ("GET", "/sapi/v1/margin/allPairs"): (1, 1),
    ("GET", "/sapi/v1/margin/isolated/allPairs"): (10, 10),
}

WINDOW_SECONDS = 60.0


def request_weight(method: str, path: str, params: Mapping[str, str]) -> int:
    with_symbol, without_symbol = _WEIGHTS.get((method, path), (1, 1))
    return with_symbol if "symbol" in params else without_symbol


def weight_header(path: str) -> str:
    if path.startswith("/sapi/"):
        return "X-SAPI-USED-IP-WEIGHT-1M"
    return "X-MBX-USED-WEIGHT-1M"


def _family(path: str) -> str:
    return path.split("/", 2)[1] if path.count("/") >= 2 else path


class WeightMeter:
    """Sum of weights per API family over the trailing minute (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, deque[tuple[float, int]]] = {}

    def add(self, path: str, weight: int, now: float) -> int:
        """Record a request and return the family's used weight including it."""
        with self._lock:
            events = self._events.setdefault(_family(path), deque())
            events.append((now, weight))
            while events and events[0][0] <= now - WINDOW_SECONDS:
                events.popleft()
            return sum(w for _, w in events)
