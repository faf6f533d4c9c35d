"""Fan-out of notifications to every interested channel, in the foreground or the background.

`Notifier.notify` sends to all channels at once and returns when each has succeeded or given
up; it never raises (a failed notification must never stop trading). The daemon normally calls
`notify_in_background`, which schedules that on the running loop and returns at once, and at
shutdown `drain`, which waits a bounded time for what is still in flight. `NullNotifier` is the
same interface doing nothing, for a config without webhooks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Protocol, Self

import httpx
import structlog

from rebalancer.notify.channel import Channel
from rebalancer.notify.config import NotifyConfig
from rebalancer.notify.delivery import Sleep, deliver
from rebalancer.notify.message import Notification
from rebalancer.notify.policy import DeliveryPolicy
from rebalancer.notify.resolve import resolve_channels

MAX_PENDING = 256  # deliveries in flight; past this a notification is dropped, not queued

_log = structlog.get_logger(__name__)


def _silence_httpx_request_lines() -> None:
    # httpx logs "HTTP Request: POST <url>" at INFO, and a webhook URL is a credential.
    httpx_log = logging.getLogger("httpx")
    if httpx_log.getEffectiveLevel() < logging.WARNING:
        httpx_log.setLevel(logging.WARNING)


class NotifierPort(Protocol):
    async def notify(self, n: Notification) -> None: ...
    def notify_in_background(self, n: Notification) -> None: ...
    async def drain(self, timeout: float) -> bool: ...
    async def aclose(self) -> None: ...


class Notifier:
    """Delivers to `channels` over one shared HTTP client (owned unless one is passed in)."""

    def __init__(
        self,
        channels: Sequence[Channel],
        policy: DeliveryPolicy | None = None,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        _silence_httpx_request_lines()
        self._channels = tuple(channels)
        self._policy = policy or DeliveryPolicy()
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._sleep = sleep
        self._pending: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"Notifier(channels={[c.label for c in self._channels]})"

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def notify(self, n: Notification) -> None:
        targets = [c for c in self._channels if c.wants(n)]
        if not targets:
            return
        await asyncio.gather(
            *(deliver(self._client, c, n, self._policy, sleep=self._sleep) for c in targets),
            return_exceptions=True,  # `deliver` does not raise; this keeps a bug from spreading
        )

    def notify_in_background(self, n: Notification) -> None:
        """Schedule `notify(n)` on the running loop and return at once."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _log.warning("notification_dropped", kind=n.kind.value, reason="no_running_loop")
            return
        if len(self._pending) >= MAX_PENDING:
            _log.warning("notification_dropped", kind=n.kind.value, reason="too_many_pending")
            return
        task = loop.create_task(self.notify(n), name=f"notify:{n.kind.value}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for background deliveries; cancel the rest.

        True when everything pending finished in time.
        """
        if not self._pending:
            return True
        _, late = await asyncio.wait(set(self._pending), timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
            _log.warning("notifications_abandoned", count=len(late), timeout_s=timeout)
        return not late

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class NullNotifier:
    """Accepts every notification and sends nothing."""

    async def notify(self, n: Notification) -> None:
        return None

    def notify_in_background(self, n: Notification) -> None:
        return None

    async def drain(self, timeout: float) -> bool:
        return True

    async def aclose(self) -> None:
        return None


def build_notifier(config: NotifyConfig, env: Mapping[str, str]) -> Notifier | NullNotifier:
    """The notifier a config asks for; raises `NotifySecretError` naming a missing variable."""
    channels = resolve_channels(config, env)
    if not channels:
        return NullNotifier()
    return Notifier(channels, config.policy(), timeout=config.timeout_seconds)
