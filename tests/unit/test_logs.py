"""Standard-library log records (APScheduler's, Python warnings) leave as structlog events, so a
JSON log stays one JSON object per line."""

from __future__ import annotations

import json
import logging
import warnings

import pytest

from rebalancer import logs


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


def test_apscheduler_records_are_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", "json")
    logging.getLogger("apscheduler.executors.default").warning(
        'Run time of job "%s" was missed by %s', "drift_check", "0:00:02"
    )
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("apscheduler.scheduler").exception("Error running job drift_check")
    logging.getLogger("apscheduler.scheduler").info("Added job")  # below warning: not shown
    lines = capsys.readouterr().err.strip().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == ["apscheduler_logged", "apscheduler_logged"]
    assert events[0]["level"] == "warning"
    assert events[0]["message"] == 'Run time of job "drift_check" was missed by 0:00:02'
    assert events[1]["level"] == "error"
    assert events[1]["error"] == "ValueError: boom"
    assert "Traceback" not in "".join(lines)


def test_python_warnings_are_events_too(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("warning", "json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)
        warnings.warn("an old call", UserWarning, stacklevel=1)
    (line,) = capsys.readouterr().err.strip().splitlines()
    event = json.loads(line)
    assert event["event"] == "warnings_logged"
    assert "an old call" in event["message"]


def test_configuring_twice_keeps_one_route(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", "json")
    logs.configure("info", "json")
    logging.getLogger("apscheduler").warning("once")
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
