"""A journal file that exists but is not a journal is refused, never replaced.

A 0-byte file, garbage, or a database cut in half: every command stops with one line naming the
file and what to do, exits 2, leaves the file byte for byte as it was, and sends nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rebalancer.emulator import Emulator
from rebalancer.store import upgrade
from tests.integration.harness import ENV, order_count, seed_state, write_config

EXE = str(Path(sys.executable).with_name("rebalancer"))


def _rebalancer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=60,
        check=False,
    )


def _half_of_a_journal(path: Path) -> bytes:
    """A real journal cut after its first half, as a copy interrupted mid-way leaves it."""
    source = path.with_name("whole.db")
    upgrade(f"sqlite:///{source}")
    whole = source.read_bytes()
    return whole[: len(whole) // 2]


KINDS = {
    "empty": lambda _: b"",
    "garbage": lambda _: b"\x00\x17not a database at all\n" * 200,
    "half": _half_of_a_journal,
}


@pytest.fixture(params=sorted(KINDS))
def broken(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, bytes]:
    db = tmp_path / "journal.db"
    content = KINDS[request.param](db)
    db.write_bytes(content)
    return db, content


def _assert_refused(result: subprocess.CompletedProcess[str], db: Path) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert str(db) in lines[0]
    assert "restore it from a backup, or move it aside to start a new journal" in lines[0]


def test_once_refuses_a_file_that_is_not_a_journal(
    tmp_path: Path, broken: tuple[Path, bytes]
) -> None:
    db, content = broken
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
        result = _rebalancer("once", "-c", str(config), "--yes")
        assert order_count(emu) == 0
    _assert_refused(result, db)
    assert db.read_bytes() == content  # nothing replaced


def test_history_refuses_a_damaged_journal(tmp_path: Path) -> None:
    # The header is intact: SQLite opens it, and its structural check finds the damage.
    db = tmp_path / "journal.db"
    content = _half_of_a_journal(db)
    db.write_bytes(content)
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
    _assert_refused(_rebalancer("history", "-c", str(config)), db)
    assert db.read_bytes() == content


def test_a_path_that_does_not_exist_is_created(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
        result = _rebalancer("once", "-c", str(config), "--yes")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "journal.db").stat().st_size > 0


def test_db_upgrade_refuses_an_empty_file_instead_of_creating_a_journal_in_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "journal.db"
    db.write_bytes(b"")
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu)
    _assert_refused(_rebalancer("db", "upgrade", "-c", str(config)), db)
    assert db.read_bytes() == b""
