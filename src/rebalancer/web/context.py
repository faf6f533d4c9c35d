"""What the dashboard works with: the settings, the journal, the controls and the token."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rebalancer.config import Settings
from rebalancer.service.controls import ControlStore
from rebalancer.store.engine import Store


class ControlToken:
    """The secret that unlocks Halt and Resume. Compared in constant time; never shown."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the control token is empty")
        self._secret = secret.encode()

    def matches(self, offered: str | None) -> bool:
        # compare_digest's time does not depend on where the strings differ.
        return hmac.compare_digest(self._secret, (offered or "").encode())

    def __repr__(self) -> str:
        return "ControlToken('**********')"


@dataclass(frozen=True, slots=True)
class WebContext:
    settings: Settings
    store: Store
    controls: ControlStore
    clock: Callable[[], datetime]
    token: ControlToken | None = field(default=None, repr=False)

    @property
    def portfolio(self) -> str:
        return self.settings.config.portfolio.name

    @property
    def read_only(self) -> bool:
        return self.token is None
