"""Fixtures: an emulator on an ephemeral loopback port and a real sync ccxt client pointed at it.

A test module sets `VENUE = "bybit"` or `"okx"` to get that dialect over the seed example's
account (and the venue's own ccxt client); without it, the Binance emulator's default state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt
import pytest

from rebalancer.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_PASSPHRASE,
    DEFAULT_API_SECRET,
    Emulator,
    ccxt_config,
)
from rebalancer.emulator.state import seed_example_state
from rebalancer.exchange.venues.bybit import Bybit
from rebalancer.exchange.venues.okx import Okx


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


def bybit_client(emulator: Emulator, secret: str = DEFAULT_API_SECRET) -> Any:
    return ccxt.bybit(
        {
            "apiKey": DEFAULT_API_KEY,
            "secret": secret,
            "enableRateLimit": False,
            "timeout": 5_000,
            "urls": {"api": {"public": emulator.base_url, "private": emulator.base_url}},
            "options": Bybit().client_options(),
        }
    )


def okx_client(
    emulator: Emulator, secret: str = DEFAULT_API_SECRET, password: str = DEFAULT_API_PASSPHRASE
) -> Any:
    return ccxt.okx(
        {
            "apiKey": DEFAULT_API_KEY,
            "secret": secret,
            "password": password,
            "enableRateLimit": False,
            "timeout": 5_000,
            "urls": {"api": {"rest": emulator.base_url}},
            "options": Okx().client_options(),
        }
    )


CLIENTS = {"binance": make_client, "bybit": bybit_client, "okx": okx_client}


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    venue = getattr(request.module, "VENUE", "binance")
    state = None if venue == "binance" else seed_example_state()
    with Emulator(state, venue=venue) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Any]:
    exchange = CLIENTS[emulator.venue](emulator)
    exchange.load_markets()
    yield exchange
    exchange.session.close()
