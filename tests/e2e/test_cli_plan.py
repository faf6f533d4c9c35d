"""The CLI as a user runs it: `rebalancer plan` and `rebalancer check-config`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from rebalancer.cli import main

REPO = Path(__file__).resolve().parents[2]
SEED_CONFIG = str(REPO / "config" / "seed-60-40.toml")
SEED_SNAPSHOT = str(REPO / "config" / "snapshots" / "seed-60-40.json")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("rebalancer")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_")}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def test_plan_on_the_seed_example_prints_a_1000_btc_short_and_eth_long() -> None:
    result = _run("plan", "-c", SEED_CONFIG, "--snapshot", SEED_SNAPSHOT)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "USDT:USDT" in line]
    assert any("BTC/USDT:USDT" in r and "sell (short)" in r and "1,000.00" in r for r in rows)
    assert any("ETH/USDT:USDT" in r and "buy (long)" in r and "1,000.00" in r for r in rows)
    assert "Largest drift +8.33% -> +0.00%" in result.stdout


def test_plan_json_is_stable_and_machine_readable() -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["plan", "-c", SEED_CONFIG, "--snapshot", SEED_SNAPSHOT, "--json"])
    second = runner.invoke(main, ["plan", "-c", SEED_CONFIG, "--snapshot", SEED_SNAPSHOT, "--json"])
    assert first.exit_code == 0
    assert first.output == second.output
    data = json.loads(first.output)
    assert data["format"] == "futures-rebalancer/plan@1"
    assert [(o["instrument"], o["side"], o["notional"]) for o in data["orders"]] == [
        ("BTC/USDT:USDT", "sell", "1000"),
        ("ETH/USDT:USDT", "buy", "1000"),
    ]
    assert data["cap"] == "within"


def test_a_bad_snapshot_is_one_line_and_exit_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text('{"taken_at": "yesterday"}', encoding="utf-8")
    result = _run("plan", "-c", SEED_CONFIG, "--snapshot", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {bad}: taken_at:")


def test_check_config_explains_each_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text(
        '[portfolio]\nname = "x"\ntargets = { BTC = 0.7, cash = 0.2 }\n'
        "[hedging]\nmax_leverage = 3\n",
        encoding="utf-8",
    )
    result = _run("check-config", "-c", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "portfolio.targets: weights sum to 0.9, not 1" in lines[0]
    assert "hedging.max_leverage: max_leverage 3 is out of range" in lines[1]


def test_check_config_summarises_a_good_config_without_secrets() -> None:
    runner = CliRunner()
    env = {"REBALANCER_API_KEY": "AKIA-not-shown", "REBALANCER_API_SECRET": "hidden-value"}
    result = runner.invoke(
        main, ["check-config", "-c", str(REPO / "config" / "live-binance.toml")], env=env
    )
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "BTC/USDT:USDT" in result.output
    assert "needs --yes" in result.output
    assert "AKIA-not-shown" not in result.output
    assert "hidden-value" not in result.output


def test_unknown_options_are_usage_errors() -> None:
    result = _run("plan", "--nope")
    assert result.returncode == 2
    assert "No such option" in result.stderr
