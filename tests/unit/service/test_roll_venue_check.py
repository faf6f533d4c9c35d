"""check-config's roll check: every dialect places spot orders now, so the refusal of the roll
on a venue without them is kept for the next venue, and exercised here with one that has none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rebalancer import bootstrap
from rebalancer.bootstrap import SetupError
from rebalancer.config import Mode, load_settings
from rebalancer.emulator.config import exchange_section
from rebalancer.exchange.venues import dialect_for
from tests.integration.harness import ENV

ROLL = """
[policy]
enabled = ["roll"]
allow_spot_sales = true
"""


def _settings(tmp_path: Path, venue: str) -> Any:
    path = tmp_path / "seed.toml"
    path.write_text(
        f"""
mode = "live"
[portfolio]
name = "seed-60-40"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}
{ROLL}
[storage]
url = "sqlite:///{tmp_path / "journal.db"}"
{exchange_section("http://127.0.0.1:9", venue)}
""",
        encoding="utf-8",
    )
    return load_settings(path, ENV)


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_every_venue_places_spot_orders_so_the_roll_passes(tmp_path: Path, venue: str) -> None:
    assert dialect_for(venue).spot_orders
    bootstrap.check_runnable(_settings(tmp_path, venue))  # no SetupError


class _NoSpot:
    spot_orders = False


def test_a_venue_without_spot_orders_refuses_the_roll_outside_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, "okx")
    monkeypatch.setattr(bootstrap, "dialect_for", lambda _: _NoSpot())

    with pytest.raises(SetupError, match=r"policy\.enabled") as refused:
        bootstrap.require_spot_orders(settings, Mode.LIVE)
    assert "okx" in str(refused.value)
    bootstrap.require_spot_orders(settings, Mode.PAPER)  # the simulated account trades spot
