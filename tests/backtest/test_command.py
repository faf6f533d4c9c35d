"""The `backtest` command as a user runs it: table, JSON, HTML, sweeps, and one-line errors."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from rebalancer.backtest.command import backtest_command
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import RunSpec
from rebalancer.backtest.sweep import (
    CHURN_REBALANCES,
    SweepError,
    band_notes,
    cap_churn_notes,
    expand,
    run_all,
)
from rebalancer.domain.strategy import Band, hedge_lines
from tests.backtest.helpers import market, random_walk, shared_data, strategy

CONFIG = """
mode = "paper"
[portfolio]
name = "seed"
targets = { BTC = "1/2", ETH = "1/3", cash = "1/6" }
[hedging]
min_trade_notional = 10
[schedule]
cron = "0 0 1 */3 *"
drift_abs = 0.05
drift_rel = 0.25
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "seed.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _args(config: Path, *extra: str) -> list[str]:
    folder = shared_data()
    return [
        "-c", str(config), "--prices", str(folder / "prices.csv"),
        "--funding", f"BTC={folder / 'funding_BTCUSDT.csv'}",
        "--from", "2021-01-01", "--to", "2021-06-30", "--jobs", "1", *extra,
    ]  # fmt: skip


@pytest.mark.needs_shared_data
def test_json_is_stable_strings_and_says_what_it_assumed(config: Path) -> None:
    result = CliRunner().invoke(backtest_command, _args(config, "--json"))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["format"] == "futures-rebalancer/backtest@1"
    assert [r["name"] for r in doc["runs"]] == [p.value for p in Policy]
    for run in doc["runs"]:
        assert all(isinstance(v, str) for v in run["metrics"].values())
    assert any("no funding file for ETH/USDT:USDT" in n for n in doc["notes"])


@pytest.mark.needs_shared_data
def test_a_sweep_is_ranked_and_the_html_report_is_self_contained(
    config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    args = _args(config, "--sweep", "band=0.02,0.10", "--sweep", "policy=overlay-band,spot-band")
    result = CliRunner().invoke(backtest_command, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "spot-band band=0.02" in result.output
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 4
    assert not [tag for tag in ("<script", "<link", "<img", 'href="http', 'src="') if tag in page]


@pytest.mark.needs_shared_data
def test_the_sweep_runs_on_worker_processes(config: Path) -> None:
    args = _args(config, "--json", "--sweep", "policy=hold,spot-band")
    args[args.index("--jobs") + 1] = "2"
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 0, result.output
    runs = json.loads(result.output)["runs"]
    values = [float(r["metrics"]["final_value"]) for r in runs]
    assert values == sorted(values, reverse=True)


def test_a_gappy_file_is_one_line_naming_the_row(config: Path, tmp_path: Path) -> None:
    prices = tmp_path / "p.csv"
    prices.write_text("date,BTC,ETH\n2020-01-01,1,2\n2020-01-03,1,2\n", encoding="utf-8")
    result = CliRunner().invoke(backtest_command, ["-c", str(config), "--prices", str(prices)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {prices}: row 3: 2020-01-03 follows 2020-01-01: a gap or uneven spacing "
        "(expected one row per day)"
    ]


def test_bad_sweeps_are_refused_plainly() -> None:
    base = RunSpec("", Policy.HOLD, strategy({"BTC": "0.5"}, "0.5"))
    with pytest.raises(SweepError, match="KEY one of"):
        expand(base, [], ["bands=0.1"])
    with pytest.raises(SweepError, match="not both"):
        expand(base, ["hold"], ["policy=roll"])
    with pytest.raises(SweepError, match="max-leverage=2"):
        expand(base, [], ["max-leverage=2"])
    assert len(expand(base, [], ["band=0.02,0.05,0.10", "policy=overlay-band,roll,spot-band"])) == 9
    with pytest.raises(SweepError, match=r"cap-slack=0\.9: cap_slack"):
        expand(base, [], ["cap-slack=0.9"])  # at most 0.5


def test_the_cap_slack_is_swept_inside_the_collateral_buffer() -> None:
    base = RunSpec("", Policy.HOLD, strategy({"BTC": "0.5"}, "0.5"))
    specs = expand(base, ["overlay-band"], ["collateral-buffer=0.05", "cap-slack=0,0.05"])
    assert [s.strategy.cap_slack for s in specs] == [0, Decimal("0.05")]
    assert all(s.strategy.collateral_buffer == Decimal("0.05") for s in specs)


def _small_data(folder: Path) -> Path:
    days = [f"2024-01-{d:02d}" for d in range(1, 11)]
    prices = folder / "prices.csv"
    rows = [f"{day},{40000 + 500 * i},{2000 - 20 * i}" for i, day in enumerate(days)]
    prices.write_text("date,BTC,ETH\n" + "\n".join(rows) + "\n", encoding="utf-8")
    funding = folder / "funding"
    funding.mkdir()
    for pair in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        lines = [f"{day}T{h:02d}:00:00Z,0.0001" for day in days for h in (0, 8, 16)]
        text = "timestamp,funding_rate\n" + "\n".join(lines) + "\n"
        (funding / f"funding_{pair}.csv").write_text(text, encoding="utf-8")
    return prices


def test_funding_dir_reads_every_file_fetch_history_wrote(config: Path, tmp_path: Path) -> None:
    prices = _small_data(tmp_path)
    args = ["-c", str(config), "--prices", str(prices), "--funding-dir", str(tmp_path / "funding"),
            "--policy", "overlay-band", "--jobs", "1", "--json"]  # fmt: skip
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 0, result.output
    notes = json.loads(result.output)["notes"]
    assert not [n for n in notes if n.startswith("no funding file")]
    assert any("funding_SOLUSDT.csv" in n and "not read" in n for n in notes)


def test_funding_dir_without_funding_files_points_to_fetch_history(
    config: Path, tmp_path: Path
) -> None:
    prices = _small_data(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["-c", str(config), "--prices", str(prices), "--funding-dir", str(empty)]
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 2
    assert "has no funding_*.csv files" in result.output
    assert "fetch-history" in result.output


def test_a_missing_prices_file_points_to_fetch_history(config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        backtest_command, ["-c", str(config), "--prices", str(tmp_path / "prices.csv")]
    )
    assert result.exit_code == 2
    assert "file not found; download closes with `rebalancer fetch-history" in result.output


def test_bands_that_give_every_line_the_same_limit_are_named_once() -> None:
    # Weights 1/2 and 1/3 with band-rel 0.25: the relative limits are 12.5 and 8.33 points, so
    # absolute bands of 0.15 and 0.20 leave both lines on their relative limit (the same runs),
    # while 0.05 is the tighter limit on both lines and 0.10 on the ETH line only.
    strat = strategy({"BTC": "1/2", "ETH": "1/3"}, cash="1/6")
    base = RunSpec("", Policy.HOLD, strat)
    specs = expand(base, ["overlay-band"], ["band=0.05,0.10,0.15,0.20"])
    lines = hedge_lines(strat, frozenset({"BTC/USDT:USDT", "ETH/USDT:USDT"}))
    notes = band_notes(specs, lines)
    assert len(notes) == 1
    assert notes[0].startswith("band=0.15 band-rel=0.25, band=0.20 band-rel=0.25 give every")
    assert band_notes(expand(base, ["overlay-band"], ["band=0.05,0.10"]), lines) == []
    # Without a relative band every absolute band is its own limit.
    specs = expand(base, ["overlay-band"], ["band-rel=none", "band=0.15,0.20"])
    assert band_notes(specs, lines) == []


@pytest.mark.needs_shared_data
def test_a_sweep_over_bands_that_trade_alike_says_so(config: Path) -> None:
    args = _args(config, "--sweep", "band=0.15,0.20", "--policy", "overlay-band")
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 0, result.output
    assert "band=0.15 band-rel=0.25, band=0.20 band-rel=0.25 give every hedged line" in (
        " ".join(result.output.split())
    )


def test_overlay_runs_that_rebalanced_mostly_at_the_cap_get_one_note_naming_the_slack() -> None:
    symbols = ["BTC", "ETH", "SOL", "ADA", "XRP"]
    weights = {"BTC": "0.3", "ETH": "0.2", "SOL": "0.1", "ADA": "0.1", "XRP": "0.1"}
    strat = replace(
        strategy(weights, "0.2", band=Band(Decimal("0.02"), None)), max_leverage=Decimal("0.2")
    )  # the cap binds from the first plan on
    m = market(random_walk(1_200, symbols, seed=11, vol=0.01), symbols, strat)
    base = RunSpec("", Policy.HOLD, strat, Decimal(20_000))
    specs = expand(base, ["overlay-band", "spot-band"], ["cap-slack=0,0.1"])
    outcomes = run_all(specs, m, jobs=1, series=False)
    churned = next(o for o in outcomes if o.name == "overlay-band cap-slack=0")
    assert churned.metrics.rebalances >= CHURN_REBALANCES
    assert 2 * churned.metrics.cap_bound_wakeups >= churned.metrics.rebalances
    (note,) = cap_churn_notes(specs, outcomes)
    assert note.startswith(f"overlay-band cap-slack=0 ({churned.metrics.rebalances} rebalances):")
    assert "hedging.cap_slack" in note
    # With the slack, or without hedges, nothing to say.
    assert cap_churn_notes(specs, [o for o in outcomes if o.name != churned.name]) == []


@pytest.mark.needs_shared_data
def test_a_backtest_that_churns_at_the_cap_says_so(config: Path) -> None:
    result = CliRunner().invoke(backtest_command, _args(config, "--policy", "overlay-band"))
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "most rebalances came while the leverage cap bound" in output
    assert "hedging.cap_slack (e.g. 0.02)" in output
