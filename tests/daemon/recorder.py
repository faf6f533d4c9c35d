"""A notifier for daemon tests: keeps what it is asked to send, in order, and sends nothing."""

from __future__ import annotations

from rebalancer.notify import Notification


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    async def notify(self, n: Notification) -> None:
        self.sent.append(n)

    def notify_in_background(self, n: Notification) -> None:
        self.sent.append(n)

    async def drain(self, timeout: float) -> bool:
        return True

    async def aclose(self) -> None:
        return None
