"""`python -m rebalancer.emulator` in its own process, driven through ccxt and `/__emu/`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import ccxt
import pytest

from rebalancer.emulator import EmulatorControl, ccxt_config

STATE = {
    "api_keys": {"k1": "s1"},
    "spot_markets": [{"symbol": "SOLUSDT", "base": "SOL", "step_size": "0.01"}],
    "perp_markets": [{"symbol": "SOLUSDT", "base": "SOL", "step_size": "1", "min_notional": "5"}],
    "spot_prices": {"SOLUSDT": "150"},
    "mark_prices": {"SOLUSDT": "150.5"},
    "spot_balances": {"SOL": "10", "USDT": "25"},
    "futures_wallet": "300",
    "positions": [{"symbol": "SOLUSDT", "size": "-2", "entry_price": "140"}],
}


@pytest.fixture
def process(tmp_path: Path) -> subprocess.Popen[str]:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(STATE), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "rebalancer.emulator", "--port", "0", "--state", str(state_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_standalone_server_serves_state_and_control_then_stops_on_sigterm(
    process: subprocess.Popen[str],
) -> None:
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        exchange = ccxt.binance({"apiKey": "k1", "secret": "s1", **ccxt_config(base_url)})
        exchange.enableRateLimit = False
        [position] = exchange.fetch_positions()
        assert position["side"] == "short"
        assert position["unrealizedPnl"] == -21
        control = EmulatorControl(base_url)
        control.set_prices(mark={"SOLUSDT": "130"})
        control.inject(kind="http_status", status=429, path="/fapi/v1/premiumIndex")
        with pytest.raises(ccxt.DDoSProtection):
            exchange.fetch_mark_prices()
        assert exchange.fetch_mark_prices()["SOL/USDT:USDT"]["markPrice"] == 130
        logged = control.requests()
        assert [r["status"] for r in logged if r["path"] == "/fapi/v1/premiumIndex"] == [429, 200]
        exchange.session.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=5)
    assert process.returncode == 0
    assert "stopped" in stderr
