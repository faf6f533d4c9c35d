"""Without the `postgres` extra (procrastinate), every other command works and the fleet's job
commands say how to install what they need, in one line."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

import rebalancer.fleet
from rebalancer.cli import main


def test_without_procrastinate_the_cli_works_and_worker_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "procrastinate", None)  # import procrastinate fails
    monkeypatch.delitem(sys.modules, "rebalancer.fleet.jobs", raising=False)
    monkeypatch.delattr(rebalancer.fleet, "jobs", raising=False)

    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    done = CliRunner().invoke(main, ["worker", "--database", "postgresql+psycopg://u@h/db"])
    assert done.exit_code == 2
    [line] = done.output.splitlines()
    assert "pip install 'futures-rebalancer[postgres]'" in line
    assert "procrastinate is not installed" in line
