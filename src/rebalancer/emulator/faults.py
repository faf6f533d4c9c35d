"""Fault injection: latency and a queue of one-shot failures matched by method and path.

A test arms faults (429/418/5xx, a venue error code, an "execution status unknown" timeout
with or without the order executed, a response lost after execution, or an order lookup that
lags: the order not yet visible); each armed fault answers the next `count` matching requests
and is then gone. Each venue's dialect renders a fault in that venue's words.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum


class FaultKind(Enum):
    HTTP_STATUS = "http_status"
    BINANCE_ERROR = "binance_error"
    TIMEOUT_UNKNOWN = "timeout_unknown"
    RESPONSE_LOST = "response_lost"
    MALFORMED = "malformed"
    NOT_YET_VISIBLE = "not_yet_visible"


class BodyKind(Enum):
    JSON = "json"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    count: int = 1
    path: str | None = None
    method: str | None = None
    status: int = 500
    body: BodyKind = BodyKind.JSON
    retry_after: int = 1
    code: int = -1000
    msg: str = ""
    executed: bool = False
    raw_body: str = ""

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path == path) and (
            self.method is None or self.method == method
        )

    @classmethod
    def http_status(
        cls,
        status: int,
        *,
        count: int = 1,
        path: str | None = None,
        method: str | None = None,
        body: BodyKind = BodyKind.JSON,
        retry_after: int = 1,
    ) -> Fault:
        """429/418 (with Retry-After) or a 5xx with an HTML or a JSON body."""
        return cls(
            FaultKind.HTTP_STATUS,
            count=count,
            path=path,
            method=method,
            status=status,
            body=body,
            retry_after=retry_after,
        )

    @classmethod
    def binance_error(
        cls,
        code: int,
        msg: str,
        *,
        status: int = 400,
        count: int = 1,
        path: str | None = None,
        method: str | None = None,
    ) -> Fault:
        return cls(
            FaultKind.BINANCE_ERROR,
            count=count,
            path=path,
            method=method,
            status=status,
            code=code,
            msg=msg,
        )

    @classmethod
    def timestamp_error(cls, *, count: int = 1, path: str | None = None) -> Fault:
        return cls.binance_error(
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
            count=count,
            path=path,
        )

    @classmethod
    def unknown_execution(
        cls, *, executed: bool, count: int = 1, path: str | None = None, method: str | None = None
    ) -> Fault:
        """-1007: the request may have been executed; `executed` says whether it really was."""
        return cls(
            FaultKind.TIMEOUT_UNKNOWN, count=count, path=path, method=method, executed=executed
        )

    @classmethod
    def response_lost(
        cls, *, count: int = 1, path: str | None = None, method: str | None = None
    ) -> Fault:
        """The request executes, then the connection closes without an answer."""
        return cls(FaultKind.RESPONSE_LOST, count=count, path=path, method=method, executed=True)

    @classmethod
    def not_yet_visible(cls, *, count: int, path: str, method: str = "GET") -> Fault:
        """An order lookup that lags: the next `count` queries of `path` do not see any order
        yet (Binance: -2013 "Order does not exist"; Bybit: an empty list)."""
        return cls(FaultKind.NOT_YET_VISIBLE, count=count, path=path, method=method)


def malformed(body: str, *, path: str, method: str = "GET", count: int = 1) -> Fault:
    """A 200 answer whose JSON body is `body` (garbage, missing or absurd fields)."""
    return Fault(FaultKind.MALFORMED, count=count, path=path, method=method, raw_body=body)


class FaultPlan:
    """Armed faults and the injected latency; safe to use from the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._latency = Decimal(0)

    @property
    def latency(self) -> Decimal:
        with self._lock:
            return self._latency

    def set_latency(self, seconds: Decimal) -> None:
        with self._lock:
            self._latency = seconds

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> tuple[Fault, ...]:
        with self._lock:
            return tuple(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, consuming one of its uses."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    if fault.count <= 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = replace(fault, count=fault.count - 1)
                    return fault
            return None
