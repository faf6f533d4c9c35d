"""Sending one notification to one channel: POST, retry what may pass, log what did not.

Transport errors, 429 and 5xx are retried under a `DeliveryPolicy` (Retry-After honoured up to
its cap); any other answer is final. Nothing is raised: the outcome is a bool and a
`notification_failed` event that names the channel's label, never its URL or token (httpx
exceptions and responses carry the URL, so only their type and status are logged).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from rebalancer.notify.channel import Channel
from rebalancer.notify.message import Notification
from rebalancer.notify.policy import DeliveryPolicy, parse_retry_after

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]

_log = structlog.get_logger(__name__)


class _Retryable(Exception):  # noqa: N818 -- internal signal to tenacity, never escapes
    def __init__(self, status: int | None, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.retry_after = retry_after


class _Final(Exception):  # noqa: N818 -- internal signal, never escapes
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def deliver(
    client: httpx.AsyncClient,
    channel: Channel,
    n: Notification,
    policy: DeliveryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = _utcnow,
) -> bool:
    """POST `n` to `channel` with retries; True once the service accepted it."""
    attempts = 0
    try:
        payload = channel.payload(n)
        async for attempt in _retrying(policy, channel, sleep):
            with attempt:
                attempts += 1
                await _post(client, channel, payload, clock)
    except (_Retryable, _Final) as exc:
        status = exc.status
        error = exc.error if isinstance(exc, _Retryable) else "rejected"
        _failed(channel, n, attempts, status=status, error=error)
        return False
    except Exception as exc:  # a notification must never stop trading, whatever went wrong
        _failed(channel, n, attempts, status=None, error=type(exc).__name__)
        return False
    _log.debug("notification_sent", channel=channel.label, kind=n.kind.value, attempts=attempts)
    return True


async def _post(
    client: httpx.AsyncClient, channel: Channel, payload: dict[str, Any], clock: Clock
) -> None:
    try:
        response = await client.post(channel.url.get_secret_value(), json=payload)
    except httpx.TransportError as exc:
        raise _Retryable(None, type(exc).__name__) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        wait = parse_retry_after(response.headers.get("Retry-After"), clock())
        if wait is None and status == 429:
            wait = _body_retry_after(response)
        raise _Retryable(status, f"http_{status}", wait)
    raise _Final(status)


def _body_retry_after(response: httpx.Response) -> float | None:
    """Discord's `retry_after` or Telegram's `parameters.retry_after`, in seconds."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    params = body.get("parameters")
    value = params.get("retry_after") if isinstance(params, dict) else body.get("retry_after")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _retrying(policy: DeliveryPolicy, channel: Channel, sleep: Sleep) -> AsyncRetrying:
    def wait(state: RetryCallState) -> float:
        failure = _failure(state)
        return policy.pause(state.attempt_number, failure.retry_after if failure else None)

    def before_sleep(state: RetryCallState) -> None:
        failure = _failure(state)
        _log.info(
            "notification_retried",
            channel=channel.label,
            attempt=state.attempt_number,
            wait_s=state.upcoming_sleep,
            status=failure.status if failure else None,
        )

    return AsyncRetrying(
        sleep=sleep,
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception_type(_Retryable),
        before_sleep=before_sleep,
        reraise=True,
    )


def _failure(state: RetryCallState) -> _Retryable | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc if isinstance(exc, _Retryable) else None


def _failed(
    channel: Channel, n: Notification, attempts: int, *, status: int | None, error: str
) -> None:
    _log.warning(
        "notification_failed",
        channel=channel.label,
        kind=n.kind.value,
        portfolio=n.portfolio,
        attempts=attempts,
        status=status,
        error=error,
    )
