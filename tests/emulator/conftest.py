"""Fixtures: an emulator on an ephemeral loopback port and a real sync ccxt client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, Emulator, ccxt_config


def make_client(emulator: Emulator, **overrides: Any) -> Any:
    # Rate limiting off: the tests measure the emulator, not ccxt's client-side throttle.
    config: dict[str, Any] = {
        "apiKey": DEFAULT_API_KEY,
        "secret": DEFAULT_API_SECRET,
        "enableRateLimit": False,
        "timeout": 5_000,
        **ccxt_config(emulator.base_url),
    }
    options = {**config["options"], **overrides.pop("options", {})}
    config.update(overrides, options=options)
    return ccxt.binance(config)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Any]:
    exchange = make_client(emulator)
    exchange.load_markets()
    yield exchange
    exchange.session.close()
