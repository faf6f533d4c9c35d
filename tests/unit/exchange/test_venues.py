"""Venue dialects: one per supported ccxt id, and any other id refused with the list."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rebalancer.cli import main
from rebalancer.config import ConfigError, load_settings
from rebalancer.config.model import SUPPORTED_VENUES
from rebalancer.exchange.venues import DIALECTS, UnsupportedVenueError, dialect_for

CONFIG = """
mode = "paper"
[portfolio]
name = "t"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}
[exchange]
id = "{venue}"
[paper]
futures_wallet = 2000
"""


def test_every_supported_venue_has_a_dialect_and_no_other() -> None:
    assert set(DIALECTS) == set(SUPPORTED_VENUES)


def test_an_unsupported_ccxt_id_is_refused_with_the_supported_list() -> None:
    with pytest.raises(UnsupportedVenueError, match="supported: binance, binanceusdm, bybit, okx"):
        dialect_for("kraken")


def test_the_config_refuses_an_unsupported_venue_naming_the_supported_ones(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(venue="kraken"), encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_settings(path, {})

    assert info.value.problems == [
        "exchange.id: 'kraken' is not a supported venue; "
        "supported: binance, binanceusdm, bybit, okx"
    ]


def test_check_config_names_the_supported_venues(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(venue="kraken"), encoding="utf-8")
    runner = CliRunner()

    bad = runner.invoke(main, ["check-config", "-c", str(path)])
    path.write_text(CONFIG.format(venue="binanceusdm"), encoding="utf-8")
    good = runner.invoke(main, ["check-config", "-c", str(path)])

    assert bad.exit_code == 2
    assert "supported: binance, binanceusdm, bybit, okx" in bad.output
    assert good.exit_code == 0, good.output
    assert "supported venues: binance, binanceusdm" in good.output


def test_okx_without_a_passphrase_variable_is_a_one_line_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG.format(venue="okx"), encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    bad = CliRunner().invoke(main, ["check-config", "-c", str(path)])
    path.write_text(
        CONFIG.format(venue="okx").replace('id = "okx"', 'id = "okx"\npassword_env = "OKX_PASS"'),
        encoding="utf-8",
    )

    [problem] = info.value.problems
    assert problem.startswith("exchange: okx API keys have a passphrase: set exchange.password_env")
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output
    assert load_settings(path, {}).config.exchange.password_env == "OKX_PASS"  # noqa: S105
