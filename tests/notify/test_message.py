"""Notifications are aware-UTC values with a title; severities are ordered."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rebalancer.notify import DEFAULT_SEVERITY, NotificationKind, Severity

from .helpers import make


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware UTC"):
        make(at=datetime(2025, 1, 1))  # noqa: DTZ001 -- the point of the test


def test_non_utc_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="aware UTC"):
        make(at=datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=2))))


def test_blank_title_is_refused() -> None:
    with pytest.raises(ValueError, match="title is empty"):
        make(title="  ")


def test_time_renders_as_iso_z_to_the_second() -> None:
    n = make(at=make().at.replace(microsecond=123456))
    assert n.at_iso == "2025-03-01T12:30:05Z"


def test_severities_are_ordered() -> None:
    assert Severity.CRITICAL.at_least(Severity.WARNING)
    assert Severity.WARNING.at_least(Severity.WARNING)
    assert not Severity.INFO.at_least(Severity.WARNING)


def test_every_kind_has_a_default_severity() -> None:
    assert set(DEFAULT_SEVERITY) == set(NotificationKind)
