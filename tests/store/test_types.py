"""Column types: decimals come back digit for digit, times come back aware and in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from rebalancer.store.engine import make_engine
from rebalancer.store.types import ExactDecimal, UtcDateTime

_METADATA = MetaData()
_VALUES = Table(
    "type_probe",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("amount", ExactDecimal()),
    Column("at", UtcDateTime()),
)
_FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# Up to 28 significant digits (Decimal's default precision) at any sensible scale.
decimals = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(int(c) for c in str(digits)), exponent)),
    st.integers(0, 1),
    st.integers(0, 10**28 - 1),
    st.integers(-40, 20),
)
aware_times = st.datetimes(
    min_value=datetime(1971, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive by contract
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    ),
)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    created = make_engine(db_url)
    _METADATA.create_all(created)
    try:
        yield created
    finally:
        created.dispose()


def _round_trip(engine: Engine, **values: object) -> tuple[object, ...]:
    with engine.begin() as conn:
        inserted = conn.execute(insert(_VALUES).values(**values)).inserted_primary_key
        assert inserted is not None
        key = inserted[0]
        return tuple(
            conn.execute(select(_VALUES.c.amount, _VALUES.c.at).where(_VALUES.c.id == key)).one()
        )


@_FIXTURE_OK
@given(value=decimals)
def test_a_decimal_reads_back_equal(engine: Engine, value: Decimal) -> None:
    amount, _ = _round_trip(engine, amount=value)
    assert isinstance(amount, Decimal)
    assert amount == value


def test_sqlite_keeps_the_decimals_notation_too(tmp_path: Path) -> None:
    # PostgreSQL's NUMERIC keeps the value and scale, not an exponent: value equality above.
    created = make_engine(f"sqlite:///{tmp_path}/types.db")
    _METADATA.create_all(created)
    try:
        for text in ("0.00", "-0", "1E+3", "1.2345678901234567890123456789E-30"):
            amount, _ = _round_trip(created, amount=Decimal(text))
            assert str(amount) == text
    finally:
        created.dispose()


@_FIXTURE_OK
@given(value=aware_times)
def test_an_aware_time_reads_back_as_the_same_instant_in_utc(
    engine: Engine, value: datetime
) -> None:
    _, at = _round_trip(engine, at=value)
    assert isinstance(at, datetime)
    assert at == value
    assert at.tzinfo is UTC


def test_a_naive_time_is_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        _round_trip(engine, at=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_a_float_is_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="expected Decimal, got float"):
        _round_trip(engine, amount=0.1)


def test_a_non_finite_decimal_is_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="non-finite"):
        _round_trip(engine, amount=Decimal("NaN"))
