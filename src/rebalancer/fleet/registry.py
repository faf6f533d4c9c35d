"""Fleet portfolios as data: validated configs in PostgreSQL, loaded back as `Settings`.

A config is validated exactly as `check-config` validates a file (the same model, the same
credentials check, the same paper-account rule) before it is stored. Secrets stay what the
config already makes them, names of environment variables; `[storage]` is dropped before
storing, because a fleet's journal is the fleet's own database (and a URL may carry a
password), and put back as the fleet's URL when a worker loads the portfolio.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from rebalancer import bootstrap
from rebalancer.config import ConfigError, Settings
from rebalancer.config.load import read_config_file, settings_from_mapping
from rebalancer.daemon.scheduler import next_calendar
from rebalancer.store import Store
from rebalancer.store.tables import FleetPortfolioRow


class FleetInputError(ConfigError):
    """A config or name the fleet refuses: one line per problem, as for any config."""


@dataclass(frozen=True, slots=True)
class FleetPortfolio:
    name: str
    source: str
    mode: str
    venue: str
    added_at: datetime
    updated_at: datetime
    next_drift_at: datetime | None
    next_calendar_at: datetime | None
    config: Mapping[str, Any]

    def settings(self, url: str, env: Mapping[str, str], *, credentials: bool = True) -> Settings:
        """The portfolio's settings journaling into the fleet database at `url` (validated
        again: the worker's environment must hold the keys the config names)."""
        raw = copy.deepcopy(dict(self.config))
        raw["storage"] = {"url": url}
        source = f"fleet portfolio {self.name!r}"
        return settings_from_mapping(raw, env, source, credentials=credentials)


def read_toml(path: Path) -> dict[str, Any]:
    return read_config_file(path, missing="pass an existing TOML file")


def validate(raw: Mapping[str, Any], env: Mapping[str, str], source: str) -> Settings:
    """`check-config`'s checks on a mapping; raises `ConfigError` listing every problem."""
    stored = without_storage(raw)
    settings = settings_from_mapping(copy.deepcopy(stored), env, source)
    try:
        bootstrap.check_runnable(settings)
    except bootstrap.SetupError as exc:
        raise ConfigError(source, [str(exc)]) from None
    return settings


def without_storage(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key != "storage"}


def add(
    store: Store, raw: Mapping[str, Any], env: Mapping[str, str], source: str, now: datetime
) -> FleetPortfolio:
    """Validate and store (or replace) a portfolio; it is due for a drift check at once."""
    settings = validate(raw, env, source)
    name = settings.config.portfolio.name
    with store.write() as session:
        row = session.get(FleetPortfolioRow, name)
        if row is None:
            row = FleetPortfolioRow(name=name, added_at=now, next_drift_at=now)
            session.add(row)
        row.config = without_storage(raw)
        row.source = source
        row.mode = settings.mode.value
        row.venue = settings.config.exchange.id
        row.updated_at = now
        row.next_calendar_at = next_calendar(settings, now)
        session.flush()
        return _entry(row)


def get(store: Store, name: str) -> FleetPortfolio | None:
    with store.read() as session:
        row = session.get(FleetPortfolioRow, name)
        return None if row is None else _entry(row)


def require(store: Store, name: str) -> FleetPortfolio:
    entry = get(store, name)
    if entry is None:
        raise FleetInputError(name, ["no such fleet portfolio; `rebalancer fleet list` names them"])
    return entry


def listed(store: Store) -> list[FleetPortfolio]:
    with store.read() as session:
        rows = session.scalars(select(FleetPortfolioRow).order_by(FleetPortfolioRow.name))
        return [_entry(row) for row in rows]


def remove(store: Store, name: str) -> bool:
    with store.write() as session:
        done = session.execute(delete(FleetPortfolioRow).where(FleetPortfolioRow.name == name))
        return bool(getattr(done, "rowcount", 0))


def reschedule(
    store: Store,
    name: str,
    *,
    drift_at: datetime | None = None,
    calendar_at: datetime | None = None,
    clear_calendar: bool = False,
) -> None:
    with store.write() as session:
        row = session.get(FleetPortfolioRow, name)
        if row is None:
            return
        if drift_at is not None:
            row.next_drift_at = drift_at
        if calendar_at is not None or clear_calendar:
            row.next_calendar_at = calendar_at


def _entry(row: FleetPortfolioRow) -> FleetPortfolio:
    return FleetPortfolio(
        name=row.name,
        source=row.source,
        mode=row.mode,
        venue=row.venue,
        added_at=row.added_at,
        updated_at=row.updated_at,
        next_drift_at=row.next_drift_at,
        next_calendar_at=row.next_calendar_at,
        config=dict(row.config),
    )
