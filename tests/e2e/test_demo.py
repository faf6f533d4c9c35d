"""The README's first command: the demo runs to completion offline and shows a rebalance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).with_name("rebalancer"))


def test_the_demo_rebalances_and_ends_with_a_summary_and_history(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_")}
    done = subprocess.run(
        [
            EXE,
            "demo",
            "--rebalances",
            "2",
            "--days",
            "200",
            "--speed",
            "0.1",
            "--journal-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "rebalanced day" in out
    assert "Demo summary" in out
    summary = out[out.index("Demo summary") :]
    rebalances = next(line for line in summary.splitlines() if "rebalances" in line)
    assert int(rebalances.split("│")[2].strip()) >= 1
    assert "Runs, newest first" in out
    assert (tmp_path / "demo.db").exists()
    assert "Traceback" not in done.stderr


def _demo(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_")}
    return subprocess.run(
        [EXE, "demo", "--speed", "0.01", "--journal-dir", str(folder), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=folder.parent,
    )


def test_the_same_seed_gives_the_same_rebalances_and_the_hint_shows_the_journal(
    tmp_path: Path,
) -> None:
    runs = [_demo(tmp_path / name, "--seed", "11", "--rebalances", "2") for name in ("a", "b")]
    for done in runs:
        assert done.returncode == 0, done.stdout + done.stderr
    lines = [[ln for ln in d.stdout.splitlines() if ln.startswith("rebalanced day")] for d in runs]
    assert len(lines[0]) == 2
    assert lines[0] == lines[1]

    hint = next(ln for ln in runs[0].stdout.splitlines() if "rebalancer history -c" in ln)
    command = hint.split()
    assert command[:3] == ["rebalancer", "history", "-c"]
    shown = subprocess.run(
        [EXE, *command[1:]], capture_output=True, text=True, timeout=60, check=False, cwd="/"
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("completed") == 2


def test_the_demo_runs_on_a_bybit_unified_account(tmp_path: Path) -> None:
    done = _demo(tmp_path / "bybit", "--venue", "bybit", "--rebalances", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "local emulator playing bybit" in done.stdout
    [first] = [ln for ln in done.stdout.splitlines() if ln.startswith("rebalanced day")]
    # The coins are collateral: the first rebalance is not cut short by the 1x cap, as it is
    # with the same prices on Binance's separate $2,000 futures wallet.
    assert "collateral short" not in first
    assert 'id = "bybit"' in (tmp_path / "bybit" / "demo.toml").read_text(encoding="utf-8")
    assert "Traceback" not in done.stderr


def test_an_unknown_demo_venue_is_a_usage_error(tmp_path: Path) -> None:
    done = _demo(tmp_path / "x", "--venue", "kraken")

    assert done.returncode == 2
    assert "'kraken' is not one of" in done.stderr
    assert "Traceback" not in done.stderr
