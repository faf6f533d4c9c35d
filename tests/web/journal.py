"""A journal to look at: a config file beside a SQLite journal with full seed-example runs
(plan, orders, fills, snapshots) and many bulk runs of every mode, trigger and state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from rebalancer.config import Settings, load_settings
from rebalancer.store import SqlJournal, open_store, upgrade
from rebalancer.store.tables import RunRow
from tests.store.builders import T0, full_cycle

PORTFOLIO = "main"
CONFIG = """\
mode = "live"
[portfolio]
name = "main"
targets = { BTC = "1/2", ETH = "1/3", cash = "1/6" }
[schedule]
trigger = "both"
cron = "0 0 1 */3 *"
drift_abs = 0.05
[storage]
url = "sqlite:///journal.db"
"""
MODES = ("live", "paper", "dry-run")
TRIGGERS = ("calendar", "drift_check", "manual")
STATES = ("completed", "skipped", "failed")
FULL_RUNS = ("full-1", "full-2")


@dataclass(frozen=True, slots=True)
class BuiltJournal:
    config: Path
    url: str
    bulk: int

    def settings(self) -> Settings:
        return load_settings(self.config, {}, credentials=False)


def build_journal(folder: Path, bulk: int = 130) -> BuiltJournal:
    """`bulk` runs a day apart from 2026-01-06 on, then two full cycles newest of all."""
    config = folder / "web.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{folder / 'journal.db'}"
    upgrade(url)
    store = open_store(url)
    try:
        journal = SqlJournal(store)
        start = T0 + timedelta(days=1)
        newest = start + timedelta(days=bulk + 1)
        full_cycle(journal, FULL_RUNS[0], at=newest, portfolio=PORTFOLIO, mode="paper")
        full_cycle(
            journal,
            FULL_RUNS[1],
            at=newest + timedelta(hours=1),
            portfolio=PORTFOLIO,
            mode="live",
            trigger="drift_check",
        )
        with store.write() as session:
            session.execute(insert(RunRow), [_bulk(i, start) for i in range(bulk)])
    finally:
        store.close()
    return BuiltJournal(config, url, bulk)


def _bulk(i: int, start: datetime) -> dict[str, object]:
    at = start + timedelta(days=i)
    return {
        "run_id": f"bulk-{i:04d}",
        "portfolio": PORTFOLIO,
        "mode": MODES[i % 3],
        "trigger": TRIGGERS[i % 3 if i % 2 else (i + 1) % 3],
        "reason": "drift above band",
        "state": STATES[i % 7 % 3],
        "started_at": at,
        "updated_at": at,
        "finished_at": at,
        "strategy": {},
        "quote": "USDT",
        "largest_drift_before": Decimal(i % 97) / 1000,
        "largest_drift_after": Decimal(i % 13) / 1000,
        "orders_count": i % 3,
        "notional_traded": Decimal(i * 17) / 4,
        "fees": Decimal(i) / 100,
    }
