"""Column types that keep money exact and time zone-aware on SQLite and PostgreSQL alike.

SQLAlchemy's `Numeric` goes through a binary float on SQLite, and `DateTime` drops the zone
there; both would quietly corrupt a journal. `ExactDecimal` stores the decimal's own text on
SQLite and a NUMERIC on PostgreSQL (which keeps every digit); `UtcDateTime` refuses naive times,
stores UTC, and always hands back an aware UTC `datetime`. `JsonText` keeps documents as text so
their key order survives (JSONB would reorder them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String, Text
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    """A `Decimal` stored without loss: TEXT on SQLite, unconstrained NUMERIC on PostgreSQL."""

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            # An int would be harmless, but a float has already lost digits: refuse both.
            raise TypeError(f"expected Decimal, got {type(value).__name__}")
        if not value.is_finite():
            raise ValueError(f"cannot store non-finite decimal {value}")
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC `datetime`; a naive one is refused on write."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused; pass an aware UTC time")
        utc = value.astimezone(UTC)
        # SQLite keeps the text without an offset; all stored values being UTC keeps them
        # comparable and sortable as text.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class JsonText(TypeDecorator[Any]):
    """A JSON document kept as text; Decimals are written as strings, read back as written."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, default=_json_default, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value, parse_float=Decimal)
