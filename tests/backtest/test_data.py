"""Reading closes and funding files: the documented formats, and one-line errors naming rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from rebalancer.backtest.data import DataError, first_complete_row, load_funding, load_prices


def _write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_daily_rows_are_stamped_at_the_close_the_next_midnight(tmp_path: Path) -> None:
    path = _write(tmp_path, "date,BTC,ETH\n2020-01-01,7200.17,130.77\n2020-01-02,6965.71,127.19\n")
    table = load_prices(path)
    assert table.symbols == ("BTC", "ETH")
    assert int(table.times[0]) == int(datetime(2020, 1, 2, tzinfo=UTC).timestamp())
    assert table.closes[1, 0] == 6965.71


def test_intraday_timestamps_need_a_zone_and_even_spacing(tmp_path: Path) -> None:
    good = "timestamp,BTC\n2020-01-01T00:00:00Z,1\n2020-01-01T00:01:00+00:00,2\n"
    assert len(load_prices(_write(tmp_path, good)).times) == 2
    naive = "timestamp,BTC\n2020-01-01T00:00:00,1\n"
    with pytest.raises(DataError, match=r"row 2: .*no time zone"):
        load_prices(_write(tmp_path, naive))


def test_a_gap_in_days_names_the_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "date,BTC\n2020-01-01,1\n2020-01-02,2\n2020-01-04,3\n")
    with pytest.raises(DataError) as caught:
        load_prices(path)
    assert caught.value.problems == [
        "row 4: 2020-01-04 follows 2020-01-02: a gap or uneven spacing (expected one row per day)"
    ]
    assert str(path) in str(caught.value)


def test_bad_cells_repeats_and_holes_are_each_reported(tmp_path: Path) -> None:
    text = "date,BTC,ETH\n2020-01-01,1,\n2020-01-02,x,2\n2020-01-03,-1,\n2020-01-03,1,1\n"
    with pytest.raises(DataError) as caught:
        load_prices(_write(tmp_path, text))
    problems = caught.value.problems
    assert "row 3: BTC 'x' is not a number" in problems
    assert "row 4: BTC '-1' is not a positive price" in problems
    assert "row 4: ETH is empty (a gap; prices started at row 3)" in problems
    assert any(p.startswith("row 5: 2020-01-03 repeats") for p in problems)
    assert all("\n" not in p for p in problems)


def test_leading_blanks_are_an_asset_not_yet_listed(tmp_path: Path) -> None:
    table = load_prices(_write(tmp_path, "date,BTC,SOL\n2020-01-01,1,\n2020-01-02,2,5\n"))
    assert first_complete_row(table) == 1
    assert np.isnan(table.closes[0, 1])


def test_missing_columns_and_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no column for DOGE"):
        load_prices(_write(tmp_path, "date,BTC\n2020-01-01,1\n"), ["BTC", "DOGE"])
    with pytest.raises(DataError, match="file not found"):
        load_prices(tmp_path / "absent.csv")


def test_funding_rates_stay_exact_and_must_increase(tmp_path: Path) -> None:
    text = "timestamp,funding_rate\n2020-01-01T00:00:00Z,0.00010000\n2020-01-01T08:00:00Z,-0.003\n"
    series = load_funding(_write(tmp_path, text, "f.csv"))
    assert series.rates == (Decimal("0.00010000"), Decimal("-0.003"))
    bad = "timestamp,funding_rate\n2020-01-01T08:00:00Z,0.1\n2020-01-01T00:00:00Z,abc\n"
    with pytest.raises(DataError) as caught:
        load_funding(_write(tmp_path, bad, "f.csv"))
    assert caught.value.problems == ["row 3: funding_rate 'abc' is not a number"]
