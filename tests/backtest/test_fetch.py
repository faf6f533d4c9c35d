"""`fetch-history` through the real ccxt client against the local emulator: pagination, the
backtest loaders reading what it wrote, resume without duplicates, and one-line failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from rebalancer.backtest.data import DAY, load_funding, load_prices
from rebalancer.backtest.fetch import day_ms, price_text, rate_text
from rebalancer.cli import fetch as fetch_command
from rebalancer.cli.fetch import fetch_history_command
from rebalancer.emulator import Emulator
from rebalancer.emulator.history import HistoryQuery, queries
from tests.integration.harness import NO_WAIT, seed_state, write_config

CLOCK = datetime(2025, 6, 1, 12, tzinfo=UTC)
FIRST = date(2021, 4, 22)
LAST = date(2025, 5, 31)  # 1,501 daily candles
MID = date(2023, 3, 15)


@pytest.fixture(autouse=True)
def _no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_command, "RETRY_POLICY", NO_WAIT)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed_state(), clock=lambda: CLOCK) as emu:
        yield emu


def _run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(fetch_history_command, ["-c", str(config), *args])


def _fetch(config: Path, prices: Path, end: date, *extra: str) -> Result:
    return _run(
        config,
        "--from",
        FIRST.isoformat(),
        "--to",
        end.isoformat(),
        "--prices",
        str(prices),
        *extra,
    )


def _history(emu: Emulator, path: str) -> list[HistoryQuery]:
    return [q for q in queries(emu.exchange) if q.path == path]


def test_long_fetch_paginates_and_loads(emulator: Emulator, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator)
    prices = tmp_path / "prices.csv"
    result = _fetch(config, prices, LAST)
    assert result.exit_code == 0, result.output
    logged = [r for r in emulator.requests() if r.path == "/api/v3/klines"]
    assert len(logged) == 4  # 2 pages x 2 assets
    assert all(r.status == 200 and r.weight == 2 for r in logged)
    asked = _history(emulator, "/api/v3/klines")
    assert {q.limit for q in asked} == {1000}
    assert [q.start_ms for q in asked if q.symbol == "BTCUSDT"] == [
        day_ms(FIRST),
        day_ms(FIRST + timedelta(days=1000)),
    ]
    table = load_prices(prices)
    assert table.symbols == ("BTC", "ETH")
    days = (LAST - FIRST).days + 1
    assert len(table.times) == days
    assert np.all(np.diff(table.times) == DAY)
    assert int(table.times[0]) == day_ms(FIRST + timedelta(days=1)) // 1000
    lines = prices.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "date,BTC,ETH"
    assert len(set(lines)) == len(lines) == days + 1
    assert all("e" not in line.lower().split(",", 1)[1] for line in lines[1:])
    # The emulator's walk is anchored at the seed price on 2024-01-01.
    assert "2024-01-01,50000,2500" in lines


def test_resume_equals_one_go_and_asks_only_the_missing_range(
    emulator: Emulator, tmp_path: Path
) -> None:
    config = write_config(tmp_path, emulator)
    whole, parts = tmp_path / "whole.csv", tmp_path / "parts.csv"
    funding_whole, funding_parts = tmp_path / "fw", tmp_path / "fp"
    assert _fetch(config, whole, LAST, "--funding-dir", str(funding_whole)).exit_code == 0
    assert _fetch(config, parts, MID, "--funding-dir", str(funding_parts)).exit_code == 0
    emulator.clear_requests()
    before = len(queries(emulator.exchange))
    second = _fetch(config, parts, LAST, "--funding-dir", str(funding_parts))
    assert second.exit_code == 0, second.output
    assert f"after {MID.isoformat()}" in second.output
    assert parts.read_bytes() == whole.read_bytes()
    for name in ("funding_BTCUSDT.csv", "funding_ETHUSDT.csv"):
        assert (funding_parts / name).read_bytes() == (funding_whole / name).read_bytes()
    asked = queries(emulator.exchange)[before:]
    klines = [q for q in asked if q.path == "/api/v3/klines"]
    assert {q.start_ms for q in klines} == {day_ms(MID + timedelta(days=1))}
    assert {q.end_ms for q in klines} == {day_ms(LAST + timedelta(days=1)) - 1}
    funding = [q for q in asked if q.path == "/fapi/v1/fundingRate"]
    last_event = day_ms(MID + timedelta(days=1)) - 8 * 3_600_000
    assert funding[0].start_ms == last_event + 1000
    assert all(q.start_ms is not None and q.start_ms > last_event for q in funding)
    # A third run finds nothing new and appends nothing.
    third = _fetch(config, parts, LAST)
    assert third.exit_code == 0
    assert parts.read_bytes() == whole.read_bytes()


def test_funding_files_load(emulator: Emulator, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator)
    folder = tmp_path / "funding"
    result = _fetch(config, tmp_path / "p.csv", LAST, "--funding-dir", str(folder))
    assert result.exit_code == 0, result.output
    series = load_funding(folder / "funding_BTCUSDT.csv")
    events = ((LAST - FIRST).days + 1) * 3
    assert len(series.times) == events
    assert np.all(np.diff(series.times) == 8 * 3600)
    assert all(abs(rate - Decimal("0.0001")) <= Decimal("0.0002") for rate in series.rates)
    first = (folder / "funding_BTCUSDT.csv").read_text(encoding="utf-8").splitlines()[:2]
    assert first[0] == "timestamp,funding_rate"
    assert first[1].startswith(f"{FIRST.isoformat()}T00:00:00Z,")
    assert len(first[1].split(",")[1].split(".")[1]) == 8
    assert len(_history(emulator, "/fapi/v1/fundingRate")) == 2 * 5  # 4,503 events: 5 pages


def test_mismatched_file_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator)
    prices = tmp_path / "prices.csv"
    prices.write_text("date,BTC,SOL\n2021-04-22,1,2\n", encoding="utf-8")
    result = _fetch(config, prices, LAST)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "expected date,BTC,ETH" in result.output
    assert prices.read_text(encoding="utf-8") == "date,BTC,SOL\n2021-04-22,1,2\n"
    assert not _history(emulator, "/api/v3/klines")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2021-13-01"), "--from '2021-13-01' is not a date"),
        (("--from", "2024-01-02", "--to", "2024-01-01"), "is after --to"),
        (("--assets", " , "), "--assets lists no asset"),
    ],
)
def test_bad_arguments_exit_2(
    emulator: Emulator, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    config = write_config(tmp_path, emulator)
    result = _run(config, *args, "--prices", str(tmp_path / "p.csv"))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert message in result.output


def test_unknown_asset_exits_2(emulator: Emulator, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator)
    result = _fetch(config, tmp_path / "p.csv", LAST, "--assets", "BTC,DOGE")
    assert result.exit_code == 2
    assert "no market DOGE/USDT" in result.output
    assert result.output.count("\n") == 1


def test_unreachable_exchange_exits_1(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
    result = _fetch(config, tmp_path / "p.csv", LAST)
    assert result.exit_code == 1
    # Retries may log warnings; the failure itself is one line.
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "cannot reach binance at 127.0.0.1" in errors[0]
    assert "connection refused" in errors[0]
    assert result.output.rstrip("\n").endswith(errors[0])
    assert "Traceback" not in result.output
    assert not (tmp_path / "p.csv").exists()


def test_number_formats() -> None:
    assert price_text(42000.0) == "42000"
    assert price_text(0.1 + 0.2) == "0.30000000000000004"  # what a float close would carry
    assert price_text("0.00001230") == "0.0000123"
    assert rate_text("0.0001") == "0.00010000"
    assert rate_text(-0.000375) == "-0.00037500"
