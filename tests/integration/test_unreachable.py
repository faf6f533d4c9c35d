"""An exchange that cannot be reached says why and where: against closed, silent and plain-HTTP
ports on loopback, through the real ccxt client and gateway."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ccxt.base import errors as ce
from pydantic import SecretStr
from structlog.testing import capture_logs

from rebalancer.config import load_settings
from rebalancer.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, Emulator
from rebalancer.emulator.config import exchange_section
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.errors import TransientError, classify
from rebalancer.exchange.retry import RetryPolicy
from rebalancer.secrets import Credentials
from tests.integration.harness import ENV, seed_state

EXE = str(Path(sys.executable).with_name("rebalancer"))
NO_WAIT = RetryPolicy(max_attempts=2, base_backoff=0, max_backoff=0, jitter=0)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there now


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def _config(tmp: Path, base_url: str) -> Path:
    path = tmp / "c.toml"
    path.write_text(
        f"""
mode = "dry-run"
[portfolio]
name = "unreachable"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}
[storage]
url = "sqlite:///{tmp / "j.db"}"
{exchange_section(base_url)}
""",
        encoding="utf-8",
    )
    return path


def _snapshot_failure(tmp: Path, base_url: str, timeout_ms: int = 10_000) -> TransientError:
    settings = load_settings(_config(tmp, base_url), ENV)
    credentials = Credentials(SecretStr(DEFAULT_API_KEY), SecretStr(DEFAULT_API_SECRET))
    client = build_client(settings.config.exchange, credentials, timeout_ms=timeout_ms)
    gateway = CcxtGateway(client, quote="USDT", policy=NO_WAIT, lookup_delays=(0,), sleep=_none)

    async def read() -> None:
        try:
            await gateway.snapshot(["BTC", "ETH"], {"BTC": "BTC/USDT:USDT"}, {})
        finally:
            await gateway.close()

    with pytest.raises(TransientError) as caught:
        asyncio.run(read())
    return caught.value


async def _none(_: float) -> None:
    return None


def test_a_closed_port_is_named_as_connection_refused_with_its_host(tmp_path: Path) -> None:
    port = _closed_port()
    with capture_logs() as logs:
        failure = _snapshot_failure(tmp_path, f"http://127.0.0.1:{port}")
    assert failure.cause is not None
    assert failure.cause.startswith("connection refused")
    assert f"cannot reach binance at 127.0.0.1:{port}: connection refused" in str(failure)
    assert "exchangeInfo" in str(failure)
    retried = [log for log in logs if log["event"] == "exchange_read_retried"]
    assert retried
    assert all(log["cause"].startswith("connection refused") for log in retried)
    assert all("code" not in log for log in retried)


def test_a_silent_server_is_named_as_a_timeout(tmp_path: Path, silent_port: int) -> None:
    failure = _snapshot_failure(tmp_path, f"http://127.0.0.1:{silent_port}", timeout_ms=300)
    assert failure.cause == "timed out"
    assert f"127.0.0.1:{silent_port}" in str(failure)


def test_https_to_a_plain_http_server_is_named_as_tls(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        failure = _snapshot_failure(tmp_path, emu.base_url.replace("http://", "https://"))
    assert failure.cause is not None
    assert failure.cause.startswith("TLS handshake failed")


def test_an_unresolved_name_is_named_with_its_host() -> None:
    # Built by hand: resolving a name in a test could leave the machine.
    chained = ce.ExchangeNotAvailable("binance GET https://api.example.invalid/api/v3/time")
    chained.__cause__ = socket.gaierror(-2, "Name or service not known")
    failure = classify(chained, placing_order=False)
    assert isinstance(failure, TransientError)
    assert failure.cause == "name not resolved (check the host name and DNS)"
    assert "cannot reach binance at api.example.invalid: name not resolved" in str(failure)


def test_an_answer_from_the_exchange_is_not_mistaken_for_a_network_cause() -> None:
    answer = ce.ExchangeNotAvailable('binance {"code":-1001,"msg":"Internal error"}')
    answer.__cause__ = ConnectionRefusedError(111, "refused")  # however it was chained
    assert classify(answer, placing_order=False).cause is None


def test_the_cli_says_why_in_one_line(tmp_path: Path) -> None:
    port = _closed_port()
    config = _config(tmp_path, f"http://127.0.0.1:{port}")
    done = subprocess.run(
        [EXE, "snapshot", "-c", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot reach binance at 127.0.0.1:{port}: connection refused")
    assert "Traceback" not in done.stderr
    assert "code=None" not in done.stderr
