"""A failure that is not the user's mistake: one line naming it and where the full traceback
was written (redacted, owner-only); `--debug` prints it too."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from rebalancer.cli import main, offline
from rebalancer.cli.boundary import crash_dir

EXE = str(Path(sys.executable).with_name("rebalancer"))
CONFIG = Path(__file__).parents[2] / "config" / "seed-60-40.toml"


def _explode(*_: object) -> None:
    raise RuntimeError("bug while rendering; url?signature=abc123secret&x=1")


def _crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *flags: str) -> tuple[str, int]:
    monkeypatch.setattr(offline, "render_summary", _explode)
    result = CliRunner().invoke(
        main,
        [*flags, "check-config", "-c", str(CONFIG)],
        env={"REBALANCER_CRASH_DIR": str(tmp_path), "REBALANCER_API_KEY": "k"},
    )
    assert isinstance(result.exception, SystemExit), result.exception
    return result.output, result.exit_code


def test_an_unexpected_failure_is_one_line_naming_the_saved_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output, code = _crash(tmp_path, monkeypatch)
    assert code == 1
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) == 1
    assert output.startswith("error: unexpected RuntimeError: bug while rendering")
    assert "--debug" in output
    (saved,) = tmp_path.iterdir()
    assert str(saved) in output
    text = saved.read_text(encoding="utf-8")
    assert "Traceback" in text
    assert "_explode" in text
    assert "abc123secret" not in text + output
    assert saved.stat().st_mode & 0o077 == 0


def test_debug_prints_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output, code = _crash(tmp_path, monkeypatch, "--debug")
    assert code == 1
    assert "Traceback" in output
    assert "_explode" in output
    assert "abc123secret" not in output


def test_a_short_demo_ends_cleanly_even_when_a_cycle_is_in_flight(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_")}
    done = subprocess.run(
        [EXE, "demo", "--speed", "0.01", "--days", "5", "--journal-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "CancelledError" not in done.stdout + done.stderr
    assert "executing" not in done.stdout  # the cycle under way was let finish, not cut off


def test_without_a_setting_tracebacks_go_to_this_users_folder_in_the_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REBALANCER_CRASH_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert crash_dir() == tmp_path / f"rebalancer-crashes-{os.getuid()}"
    monkeypatch.setattr(offline, "render_summary", _explode)
    result = CliRunner().invoke(
        main, ["check-config", "-c", str(CONFIG)], env={"REBALANCER_API_KEY": "k"}
    )
    (saved,) = crash_dir().iterdir()
    assert str(saved) in result.output
    assert crash_dir().stat().st_mode & 0o077 == 0
