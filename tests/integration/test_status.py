"""`status` on a fresh account says plainly that no hedge is open."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from rebalancer.domain.margin import MarginHealth, PositionRisk
from rebalancer.emulator import Emulator
from rebalancer.render.margin_line import margin_line
from tests.integration.harness import ENV, seed_state, write_config

EXE = str(Path(sys.executable).with_name("rebalancer"))


def test_status_without_positions_says_no_positions(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
        done = subprocess.run(
            [EXE, "status", "-c", str(config)],
            capture_output=True,
            text=True,
            env={**os.environ, **ENV},
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert "no positions: no hedge is open, nothing to liquidate" in done.stdout
    assert "n/a" not in done.stdout
    assert "liquidation at no positions" not in done.stdout


def test_with_positions_the_line_gives_leverage_and_distance() -> None:
    health = MarginHealth(
        futures_equity=Decimal(2000),
        gross=Decimal(1000),
        maintenance=Decimal(4),
        leverage=Decimal("0.5"),
        distance=Decimal("0.456"),
        positions=(PositionRisk("BTC/USDT:USDT", Decimal(-1000), Decimal("0.456")),),
    )
    line = margin_line(Decimal(12000), "USDT", health, Decimal(1))
    assert line == (
        "Equity 12,000.00 USDT; futures equity 2,000.00 USDT; 1 position, gross hedge 1,000.00 "
        "(0.50x, cap 1x); liquidation at a 45.6% adverse move"
    )
