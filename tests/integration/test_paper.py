"""Paper mode: the simulated account over the exchange's public prices, kept in the journal."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from rebalancer import bootstrap
from rebalancer.config import Mode, load_settings
from rebalancer.emulator import Emulator
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from tests.integration.harness import (
    OPEN,
    gateway_for,
    seed_state,
    settings_for,
    utcnow,
    write_config,
)

EXE = str(Path(sys.executable).with_name("rebalancer"))
PAPER = """
[paper]
spot = { BTC = 0.14, ETH = 1.2, USDT = 0 }
futures_wallet = 2000
taker_fee = 0.0005
slippage_bps = 0
"""


def _paper_config(tmp: Path, emu: Emulator) -> Path:
    config = write_config(tmp, emu, extra=PAPER)
    text = config.read_text(encoding="utf-8").replace('mode = "live"', 'mode = "paper"')
    config.write_text(text, encoding="utf-8")
    return config


def _paper_cycle(config: Path) -> CycleResult:
    settings = load_settings(config, {})  # paper mode needs no credentials
    journal = bootstrap.open_journal(settings)
    try:
        gateway = bootstrap.exchange_gateway(settings, Mode.PAPER, journal)

        async def go() -> CycleResult:
            try:
                return await run_cycle(
                    settings,
                    gateway,
                    journal.journal,
                    utcnow,
                    gate=bootstrap.trading_gate(settings, journal),
                    mode="paper",
                )
            finally:
                await gateway.close()

        return asyncio.run(go())
    finally:
        journal.store.close()


def _live_cycle(tmp: Path, emu: Emulator) -> CycleResult:
    settings = settings_for(tmp, emu)
    gateway = gateway_for(settings)

    async def go() -> CycleResult:
        try:
            return await run_cycle(
                settings, gateway, MemoryJournal(), utcnow, gate=OPEN, mode="live"
            )
        finally:
            await gateway.close()

    return asyncio.run(go())


def _orders(result: CycleResult) -> list[tuple[str, str, str, bool]]:
    assert result.plan is not None
    return [(o.instrument, o.side.value, str(o.amount), o.reduce_only) for o in result.plan.orders]


def test_paper_and_live_cycles_on_the_same_prices_place_the_same_orders(tmp_path: Path) -> None:
    (tmp_path / "live").mkdir()
    (tmp_path / "paper").mkdir()
    with Emulator(seed_state()) as live_emu, Emulator(seed_state()) as price_emu:
        live = _live_cycle(tmp_path / "live", live_emu)
        paper = _paper_cycle(_paper_config(tmp_path / "paper", price_emu))
        assert live.ok, live.error
        assert paper.ok, paper.error
        assert _orders(paper) == _orders(live)
        assert [r.state.value for r in paper.reports] == ["filled", "filled"]
        # The price emulator's account was never touched: paper trades only its own account.
        assert price_emu.exchange.store.all_orders() == []
        writes = [r for r in price_emu.requests() if r.method != "GET"]
        assert writes == []


def test_a_restarted_paper_process_continues_from_its_saved_account(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = _paper_config(tmp_path, emu)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_")}

        def once() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [EXE, "once", "-c", str(config)],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )

        first = once()
        assert first.returncode == 0, first.stdout + first.stderr
        assert "filled" in first.stdout
        second = once()  # a new process: the hedges are already on the saved paper account
        assert second.returncode == 0, second.stdout + second.stderr
        assert "No orders: nothing to trade." in second.stdout
        reset = subprocess.run(
            [EXE, "paper", "reset", "-c", str(config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert "paper account reset" in reset.stdout
        third = once()
        assert "filled" in third.stdout
        assert emu.exchange.store.all_orders() == []
        assert (
            "paper"
            in subprocess.run(
                [EXE, "history", "-c", str(config)],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            ).stdout.lower()
        )
