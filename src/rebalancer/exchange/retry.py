"""Bounded, jittered retries for exchange reads and cancels, and deliberately none for orders.

`retry_reads` and `retry_cancels` wrap an async exchange call so that whatever it raises leaves as
an `ExchangeFailure`, classified as a read; only a `TransientError` is tried again, after an
exponential backoff with jitter that is never shorter than the exchange's Retry-After (capped),
and at most `RetryPolicy.max_attempts` times in all. Before retrying a clock-drift rejection the
optional `on_resync_clock` hook runs. An order with an unknown outcome is resolved by looking it
up by client id, never by sending it again, so there is no retry helper for placement here and
wrapping a ccxt order-placing method is refused.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from rebalancer.backoff import Backoff
from rebalancer.exchange.errors import ExchangeFailure, TransientError, classify

P = ParamSpec("P")
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
ClockResync = Callable[[], Awaitable[None]]

_log = structlog.get_logger(__name__)
# ccxt's create_order, createOrder, create_market_buy_order, edit_order, createOrderWs, ...
_PLACES_ORDERS = re.compile(r"^(?:create|edit)\w*order", re.IGNORECASE)


RetryPolicy = Backoff  # how persistently an exchange read is retried


def retry_reads(
    policy: RetryPolicy,
    *,
    on_resync_clock: ClockResync | None = None,
    sleep: Sleep = asyncio.sleep,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Coroutine[Any, Any, T]]]:
    """Decorate an async read so transient failures are retried under `policy`.

    The wrapped call raises only `ExchangeFailure`s. It may raise one itself (classified with
    the HTTP status and Retry-After it captured) and that passes through unchanged.
    """

    def decorate(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        name = getattr(fn, "__name__", "")
        if _PLACES_ORDERS.match(name):
            raise TypeError(
                f"{name} places orders: resolve an unknown outcome by client-id lookup, never retry"
            )

        @functools.wraps(fn)
        async def retried(*args: P.args, **kwargs: P.kwargs) -> T:
            async for attempt in _retrying(policy, on_resync_clock, sleep):
                with attempt:
                    return await _classified(fn, *args, **kwargs)
            raise AssertionError("unreachable: tenacity re-raises the last failure")

        return retried

    return decorate


# A cancel is idempotent (a repeat of one that landed answers -2011), so it retries like a read;
# the separate name keeps call sites honest about which calls are allowed here.
retry_cancels = retry_reads


async def _classified(fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return await fn(*args, **kwargs)
    except ExchangeFailure:
        raise
    except Exception as exc:
        # `from None`: the ccxt exception's message holds the signed URL; `source` names it.
        raise classify(exc, placing_order=False) from None


def _retrying(
    policy: RetryPolicy, on_resync_clock: ClockResync | None, sleep: Sleep
) -> AsyncRetrying:
    def wait(state: RetryCallState) -> float:
        pause = policy.backoff(state.attempt_number)
        failure = _failure(state)
        if failure is not None and failure.retry_after is not None:
            pause = max(pause, min(failure.retry_after, policy.max_retry_after))
        return pause

    async def before_sleep(state: RetryCallState) -> None:
        failure = _failure(state)
        _log.warning(
            "exchange_read_retried",
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 1),
            kind=type(failure).__name__,
            cause=_cause(failure),
        )
        if failure is not None and failure.resync_clock and on_resync_clock is not None:
            # A failed resync only costs the next attempt, which is bounded anyway.
            try:
                await on_resync_clock()
            except Exception as exc:
                _log.warning("clock_resync_failed", error=type(exc).__name__)

    return AsyncRetrying(
        sleep=sleep,
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception_type(TransientError),
        before_sleep=before_sleep,
        reraise=True,
    )


def _cause(failure: ExchangeFailure | None) -> str:
    """Why a read is retried, in words: the network cause, else the exchange's answer."""
    if failure is None:
        return "unknown"
    if failure.cause:
        return failure.cause
    answer = [f"code {failure.code}"] if failure.code is not None else []
    answer += [f"HTTP {failure.http_status}"] if failure.http_status is not None else []
    return ", ".join(answer) or failure.message


def _failure(state: RetryCallState) -> ExchangeFailure | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc if isinstance(exc, ExchangeFailure) else None
