"""A client order id gives back the start of the run that sent it (Bybit's history windows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rebalancer.domain.client_ids import alphanumeric, dashed, run_started_at
from rebalancer.service.ids import new_run_id

# Hypothesis takes naive bounds and attaches the timezone itself.
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(moments, st.integers(min_value=0, max_value=99), st.sampled_from([dashed, alphanumeric]))
def test_every_client_id_gives_back_its_runs_start_to_the_second(
    now: datetime, leg: int, form: object
) -> None:
    assert callable(form)
    started = run_started_at(form(new_run_id(now), leg))

    assert started is not None
    assert started.tzinfo is not None
    assert timedelta(0) <= now - started < timedelta(seconds=1)


def test_an_id_of_another_form_has_no_time() -> None:
    assert run_started_at("rb-test-0001") is None
    assert run_started_at("someone-else") is None
    assert run_started_at("rb-20261399T250000-abcdef-0") is None  # month 13: not a time
