"""Every shipped example config works against `rebalancer emulator`'s default state."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest

from rebalancer.config.load import settings_from_mapping
from rebalancer.emulator import Emulator
from rebalancer.emulator.config import exchange_section
from rebalancer.emulator.server import VENUES
from rebalancer.service.cycle import instruments_of, read_snapshot
from tests.integration.harness import ENV, gateway_for

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.name for p in (REPO / "config").glob("*.toml"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_default_emulator_lists_every_market_an_example_config_names(name: str) -> None:
    raw = tomllib.loads((REPO / "config" / name).read_text(encoding="utf-8"))
    venue = raw.get("exchange", {}).get("id", "binance")
    venue = venue if venue in VENUES else "binance"
    # The default state, as `rebalancer emulator --venue VENUE` starts it.
    with Emulator(venue=venue) as emu:
        raw["exchange"] = tomllib.loads(exchange_section(emu.base_url, venue))["exchange"]
        settings = settings_from_mapping(raw, ENV, name)
        gateway = gateway_for(settings)
        strategy = settings.strategy

        async def read() -> object:
            try:
                return await read_snapshot(settings, gateway)
            finally:
                await gateway.close()

        snap = asyncio.run(read())
    assert set(strategy.weights) <= set(snap.spot)  # type: ignore[attr-defined]
    assert set(instruments_of(strategy)) <= set(snap.perps)  # type: ignore[attr-defined]
