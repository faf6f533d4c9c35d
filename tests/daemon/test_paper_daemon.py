"""Paper mode as a daemon: it trades its simulated account and a restart continues from it."""

from __future__ import annotations

from pathlib import Path

from rebalancer.emulator import Emulator
from rebalancer.emulator.state import seed_example_state
from tests.daemon.process_harness import (
    JournalReader,
    config_text,
    running_daemon,
    set_prices,
    wait_until,
)

PAPER = """
[paper]
spot = { BTC = 0.14, ETH = 1.2, USDT = 0 }
futures_wallet = 2000
slippage_bps = 0
"""


def _paper_config(tmp: Path, emu: Emulator) -> Path:
    text = config_text(
        tmp, emu, drift_abs="0.05", trigger="threshold", max_failures=3, interval="1s"
    )
    text = text.replace('mode = "live"', 'mode = "paper"') + PAPER
    path = tmp / "daemon.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_paper_daemon_trades_its_account_and_continues_after_a_restart(tmp_path: Path) -> None:
    with Emulator(seed_example_state()) as emu:  # only a price source: no key, no orders
        config = _paper_config(tmp_path, emu)
        journal = JournalReader(tmp_path / "journal.db")
        with running_daemon(config) as daemon:
            done = wait_until(
                lambda: [r for r in journal.runs_with_orders() if r.state == "completed"],
                timeout=20,
                what="a completed paper rebalance",
            )
            assert done[0].orders == 2
            daemon.wait_for_event("drift_checked", at_least=3, timeout=15)
            assert daemon.stop() == 0
        traded = len(journal.runs_with_orders())

        with running_daemon(config) as daemon:
            daemon.wait_for_event("drift_checked", at_least=3, timeout=15)
            # The saved paper hedges are on target: a restarted daemon does not hedge again.
            assert len(journal.runs_with_orders()) == traded
            set_prices(emu, ETHUSDT="3200")  # ETH rallies past the band
            wait_until(
                lambda: len(journal.runs_with_orders()) > traded or None,
                timeout=15,
                what="a rebalance after the move",
            )
            assert daemon.stop() == 0

        assert emu.exchange.store.all_orders() == []
        assert all(status == "filled" for status in journal.orders().values())
