"""`snapshot`, `once` safety checks and `emulator`, run as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.emulator import Emulator
from rebalancer.snapshot_file import parse_snapshot
from tests.cli import Ran, rebalancer
from tests.integration.harness import ENV, order_count, seed_state, write_config
from tests.integration.venues import VENUES

EXE = str(Path(sys.executable).with_name("rebalancer"))


def _run(*args: str, env: dict[str, str] | None = None) -> Ran:
    return rebalancer(*args, env=env or ENV)


def test_snapshot_writes_a_file_that_plan_reads(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
        out = tmp_path / "snap.json"
        done = _run("snapshot", "-c", str(config), "-o", str(out))
        assert done.returncode == 0, done.stderr
        snap = parse_snapshot(out.read_text(encoding="utf-8"))
        assert snap.futures_equity == 2000
        assert snap.spot["BTC"].exchange == snap.spot["BTC"].quantity
        assert set(snap.perps) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
        # The price tick (exchangeInfo's PRICE_FILTER) travels with the rules, for display.
        assert all(p.rules.price_step == Decimal("0.01") for p in snap.perps.values())

        planned = _run("plan", "-c", str(config), "--snapshot", str(out), "--json")
        assert planned.returncode == 0, planned.stderr
        assert len(json.loads(planned.stdout)["orders"]) == 2
        writes = [r for r in emu.requests() if r.method != "GET"]
        assert writes == []


@pytest.mark.parametrize("venue", VENUES)
def test_live_refuses_a_key_that_can_withdraw(tmp_path: Path, venue: str) -> None:
    # Binance tells it in apiRestrictions, Bybit in query-api's Wallet permissions, OKX in
    # account/config's perm.
    state = seed_state(
        extra={"api_restrictions": {"enableWithdrawals": True, "enableFutures": True}}
    )
    with Emulator(state, venue=venue) as emu:
        config = write_config(tmp_path, emu)
        refused = _run("once", "-c", str(config), "--yes")
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert "can withdraw funds" in refused.stderr
        assert "accept_withdrawal_permission" in refused.stderr
        assert order_count(emu) == 0
        assert [r for r in emu.requests() if r.method == "POST" and "order" in r.path.lower()] == []

        accepted = write_config(tmp_path, emu, extra="")
        text = accepted.read_text(encoding="utf-8").replace(
            f'id = "{venue}"', f'id = "{venue}"\naccept_withdrawal_permission = true'
        )
        accepted.write_text(text, encoding="utf-8")
        done = _run("once", "-c", str(accepted), "--yes")
        assert done.returncode == 0, done.stderr
        assert order_count(emu) == 2


def test_missing_credentials_are_a_one_line_usage_error(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_")}
        done = _run("snapshot", "-c", str(config), env=env)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1
        assert "REBALANCER_API_KEY" in done.stderr


def test_an_unreachable_exchange_fails_with_exit_1_and_a_reason(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
    done = _run("once", "-c", str(config), "--mode", "dry-run")  # the emulator is gone
    assert done.returncode == 1
    assert "FAILED" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_emulator_command_prints_a_config_section_and_stops_on_sigterm() -> None:
    first, lines = _section_then_stop([], last="papiV2")
    assert first.startswith("emulator listening on http://127.0.0.1:")
    assert any(line.startswith("[exchange.urls.api]") for line in lines)
    assert any(line.startswith("export REBALANCER_API_KEY=") for line in lines)


def test_the_emulator_command_speaks_bybit_and_prints_its_section() -> None:
    first, lines = _section_then_stop(["--venue", "bybit"], last="private = ")
    assert first.startswith("emulator listening on http://127.0.0.1:")
    assert "(bybit;" in first
    assert 'id = "bybit"\n' in lines
    assert any(line.startswith("public = ") for line in lines)


def test_the_emulator_command_speaks_okx_and_prints_the_passphrase_and_section() -> None:
    first, lines = _section_then_stop(["--venue", "okx"], last="rest = ")
    assert first.startswith("emulator listening on http://127.0.0.1:")
    assert "(okx;" in first
    assert 'id = "okx"\n' in lines
    assert 'password_env = "REBALANCER_API_PASSWORD"\n' in lines
    assert any("REBALANCER_API_PASSWORD=emulator-passphrase" in line for line in lines)


def _section_then_stop(args: list[str], *, last: str) -> tuple[str, list[str]]:
    """`rebalancer emulator --port 0 ARGS`: its first line and the lines after it up to the
    one starting with `last` (the config section's end); then SIGTERM, which must exit 0."""
    with subprocess.Popen(
        [EXE, "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            lines: list[str] = []
            while not lines or not lines[-1].startswith(last):
                lines.append(proc.stdout.readline())
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
    return first, lines


def test_paper_mode_over_a_config_without_a_paper_account_is_a_one_line_usage_error(
    tmp_path: Path,
) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)  # live, no [paper]
        for command in (["once"], ["status"], ["snapshot"], ["run"]):
            done = _run(*command, "-c", str(config), "--mode", "paper")
            assert done.returncode == 2, (command, done.stdout, done.stderr)
            assert done.stderr.count("\n") == 1, (command, done.stderr)
            assert "add a [paper] section" in done.stderr
            assert "Traceback" not in done.stderr
            assert not (tmp_path / "journal.db").exists(), command  # nothing created either
        assert [r for r in emu.requests() if r.method != "GET"] == []


def test_a_multi_assets_binance_account_is_refused_in_one_line_and_nothing_is_sent(
    tmp_path: Path,
) -> None:
    # Binance by nature: multi-assets mode is a USDⓈ-M setting (/fapi/v1/multiAssetsMargin).
    with Emulator(seed_state()) as emu:
        emu.exchange.multi_assets_margin = True
        config = write_config(tmp_path, emu)
        done = _run("once", "-c", str(config), "--mode", "dry-run")

        assert done.returncode == 1
        assert "multi-assets mode; switch it to single-asset mode" in " ".join(done.stdout.split())
        assert "Traceback" not in done.stderr
        assert [r for r in emu.requests() if r.method != "GET"] == []
