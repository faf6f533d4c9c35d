"""A user runs a few cycles, then reviews them: `history`, `show`, `export`, on both databases
(each command run in-process, `tests.cli`)."""

from __future__ import annotations

import csv
import io
import json
import os
from decimal import Decimal
from pathlib import Path

from rebalancer.emulator import Emulator
from tests.cli import Ran, rebalancer
from tests.integration.harness import ENV, seed_state, write_config


def _run(*args: str) -> Ran:
    return rebalancer(*args, env={**os.environ, **ENV})


def test_cycles_are_reviewed_with_history_show_and_export(tmp_path: Path, db_url: str) -> None:
    with Emulator(seed_state()) as emu:
        config = str(write_config(tmp_path, emu, storage_url=db_url))
        assert _run("db", "upgrade", "-c", config).returncode == 0
        assert _run("once", "-c", config, "--yes").returncode == 0
        emu.set_spot_price("ETHUSDT", Decimal(3000))
        emu.set_mark_price("ETHUSDT", Decimal(3000))
        assert _run("once", "-c", config, "--yes").returncode == 0
        assert _run("once", "-c", config, "--mode", "dry-run").returncode == 0

    listed = _run("history", "-c", config, "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [r["mode"] for r in runs] == ["dry-run", "live", "live"]  # newest first
    assert all(r["state"] == "completed" for r in runs)
    first = runs[-1]
    assert first["orders_count"] == 2
    assert Decimal(first["notional_traded"]) > Decimal(1800)

    no_keys = {k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_")}
    table = rebalancer("history", "-c", config, env=no_keys)  # reviewing needs no keys
    assert table.returncode == 0, table.stderr
    assert "DRY-RUN" in table.stdout
    assert first["run_id"] in table.stdout

    shown = _run("show", first["run_id"], "-c", config, "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert {o["instrument"] for o in detail["orders"]} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert all(o["status"] == "filled" for o in detail["orders"])
    assert _run("show", "nope", "-c", config).returncode == 2

    out = tmp_path / "orders.csv"
    exported = _run("export", "-c", config, "--what", "orders", "--format", "csv", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) >= 3
    assert {r["status"] for r in rows} == {"filled"}

    page = tmp_path / "report.html"
    reported = _run("report", "-c", config, "-o", str(page))
    assert reported.returncode == 0, reported.stderr
    html = page.read_text(encoding="utf-8")
    assert "seed-60-40: what the bot did" in html
    assert html.count("<svg") >= 2
