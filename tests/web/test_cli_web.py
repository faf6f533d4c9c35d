"""`rebalancer web` as a user runs it: it serves the journal, and bad input is one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.web.conftest import cli_json
from tests.web.journal import BuiltJournal

EXE = str(Path(sys.executable).with_name("rebalancer"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# No exchange keys anywhere: the dashboard reads only the journal.
HIDDEN = ("REBALANCER_WEB_TOKEN", "REBALANCER_API_KEY", "REBALANCER_API_SECRET")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in HIDDEN}


def _run(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = _env()
    if token is not None:
        env["REBALANCER_WEB_TOKEN"] = token
    return subprocess.run(
        [EXE, "web", *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_short_token_is_refused_in_one_line_without_showing_it(journal: BuiltJournal) -> None:
    line = _one_line_error(_run("-c", str(journal.config), token="hunter2"))  # noqa: S106
    assert line.startswith("error: $REBALANCER_WEB_TOKEN: is 7 characters; use 16 or more")
    assert "hunter2" not in line


def test_a_port_in_use_is_refused_in_one_line(journal: BuiltJournal) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        line = _one_line_error(_run("-c", str(journal.config), "--port", str(port)))
    assert f"cannot listen on 127.0.0.1:{port}" in line
    assert "pick another --port" in line


def test_a_missing_config_is_refused_in_one_line(tmp_path: Path) -> None:
    line = _one_line_error(_run("-c", str(tmp_path / "none.toml")))
    assert "file not found" in line


def test_web_serves_the_journal_without_exchange_keys_on_the_configured_port(
    journal: BuiltJournal, tmp_path: Path
) -> None:
    port = _free_port()
    config = tmp_path / "web.toml"
    text = journal.config.read_text(encoding="utf-8")
    text = text.replace("sqlite:///journal.db", journal.url) + f"[web]\nport = {port}\n"
    config.write_text(text, encoding="utf-8")
    server = subprocess.Popen(
        [EXE, "web", "-c", str(config)], stderr=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
        assert banner.startswith(f"dashboard at http://127.0.0.1:{port}/ (read-only)")
        answer = None
        for _ in range(100):  # bounded: the banner comes just before uvicorn serves
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/history?limit=5", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert answer is not None
        assert answer.json() == cli_json("history", "-c", str(journal.config), "--limit", "5")
    finally:
        server.terminate()
        server.wait(timeout=20)
        if server.stderr is not None:
            server.stderr.close()
