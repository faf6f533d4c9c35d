"""The seed portfolio on a local emulator, with the real ccxt client and zero-wait retries."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from rebalancer.config import Settings, load_settings
from rebalancer.daemon.wake import Waker
from rebalancer.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_PASSPHRASE,
    DEFAULT_API_SECRET,
    Emulator,
    EmulatorState,
)
from rebalancer.emulator.carry_book import FUNDING_INTERVAL, last_slot
from rebalancer.emulator.config import exchange_section
from rebalancer.emulator.state import seed_example_state
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.retry import RetryPolicy
from rebalancer.notify import NotifierPort, NullNotifier
from rebalancer.secrets import Credentials
from rebalancer.service.controls import MemoryControls, TradingGate
from rebalancer.service.crashpoints import ENV as CRASH_AT
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.journal import Journal
from rebalancer.service.memory_journal import MemoryJournal
from tests.integration.venues import PATHS

ENV = {
    "REBALANCER_API_KEY": DEFAULT_API_KEY,
    "REBALANCER_API_SECRET": DEFAULT_API_SECRET,
    "REBALANCER_API_PASSWORD": DEFAULT_API_PASSPHRASE,  # read only by venues with passphrases
}
OPEN = TradingGate(MemoryControls(), "seed-60-40")  # a portfolio nobody has halted
NO_WAIT = RetryPolicy(max_attempts=4, base_backoff=0, max_backoff=0, jitter=0)


def seed_state(
    *, futures_wallet: str = "2000", leverage: int = 1, extra: Mapping[str, Any] | None = None
) -> EmulatorState:
    """The seed example on the emulator, with the wallet, leverage and extras a test needs."""
    return seed_example_state(
        futures_wallet=futures_wallet, default_leverage=leverage, **dict(extra or {})
    )


def write_config(
    tmp: Path, emulator: Emulator, *, extra: str = "", storage_url: str | None = None
) -> Path:
    path = tmp / "seed.toml"
    url = storage_url or f"sqlite:///{tmp / 'journal.db'}"
    path.write_text(
        f"""
mode = "live"
[portfolio]
name = "seed-60-40"
targets = {{ BTC = "1/2", ETH = "1/3", cash = "1/6" }}
[hedging]
min_trade_notional = 10
{extra}
[storage]
url = "{url}"
{exchange_section(emulator.base_url, emulator.venue)}
""",
        encoding="utf-8",
    )
    return path


def settings_for(tmp: Path, emulator: Emulator, *, extra: str = "") -> Settings:
    return load_settings(write_config(tmp, emulator, extra=extra), ENV)


def gateway_for(settings: Settings) -> CcxtGateway:
    passphrase = (
        SecretStr(DEFAULT_API_PASSPHRASE) if settings.config.exchange.password_env else None
    )
    credentials = Credentials(SecretStr(DEFAULT_API_KEY), SecretStr(DEFAULT_API_SECRET), passphrase)
    client = build_client(settings.config.exchange, credentials)
    return CcxtGateway(
        client, quote="USDT", policy=NO_WAIT, lookup_delays=(0, 0, 0), sleep=_no_sleep
    )


async def _no_sleep(_: float) -> None:
    return None


def waker_for(
    settings: Settings,
    journal: Journal,
    *,
    notifier: NotifierPort | None = None,
    mode: str = "live",
) -> Waker:
    """The daemon's wake-up against the emulator, with controls in memory and the wall clock."""
    return Waker(
        settings,
        gateway=gateway_for(settings),
        journal=journal,
        controls=MemoryControls(),
        notifier=notifier or NullNotifier(),
        clock=utcnow,
        mode=mode,
    )


class MemoryPaperStore:
    """Paper accounts kept in memory, by portfolio (the journal's paper table, for tests)."""

    def __init__(self) -> None:
        self.saved: dict[str, dict[str, Any]] = {}

    def load(self, portfolio: str) -> dict[str, Any] | None:
        return self.saved.get(portfolio)

    def save(self, portfolio: str, document: dict[str, Any]) -> None:
        self.saved[portfolio] = document


# The carry tests' hedges: short 0.02 BTC, long 0.4 ETH.
HEDGES = [
    {"symbol": "BTCUSDT", "size": "-0.02", "entry_price": "50000"},
    {"symbol": "ETHUSDT", "size": "0.4", "entry_price": "2500"},
]


def hedged_emulator(venue: str, funding_slots: int) -> Emulator:
    """The seed account with `HEDGES` on `venue`, its funding book set back `funding_slots`
    funding times (paid at its next request), started clear of a funding time."""
    clear_of_a_funding_time()
    emulator = Emulator(seed_state(extra={"positions": HEDGES}), venue=venue)  # type: ignore[arg-type]
    emulator.exchange.carry.funded_until -= funding_slots * FUNDING_INTERVAL
    return emulator


def clear_of_a_funding_time(margin: timedelta = timedelta(minutes=3)) -> None:
    """Return once the next funding time (00/08/16 UTC) is more than `margin` away, sleeping
    past it when it is nearer: a test that counts the emulator's payments must not see one
    more because the clock crossed a funding time while it ran."""
    now = utcnow()
    upcoming = last_slot(now, FUNDING_INTERVAL) + FUNDING_INTERVAL
    if upcoming - now <= margin:
        time.sleep((upcoming - now).total_seconds() + 1)


def utcnow() -> datetime:
    return datetime.now(UTC)


def position(emulator: Emulator, symbol: str) -> Decimal:
    return emulator.exchange.account.position(symbol).size


def order_count(emulator: Emulator) -> int:
    return len(emulator.exchange.store.all_orders())


def posts(emulator: Emulator, path: str | None = None) -> int:
    """POSTs to `path`, by default the venue's order placement path."""
    path = path or PATHS[emulator.venue].batch
    return sum(1 for r in emulator.requests() if r.method == "POST" and r.path == path)


def cycle(
    tmp: Path, emulator: Emulator, journal: MemoryJournal | None = None, *, mode: str = "live"
) -> CycleResult:
    """One `run_cycle` through the real ccxt client against `emulator`, gate open."""
    settings = settings_for(tmp, emulator)
    gateway = gateway_for(settings)

    async def go() -> CycleResult:
        try:
            return await run_cycle(
                settings, gateway, journal or MemoryJournal(), utcnow, gate=OPEN, mode=mode
            )
        finally:
            await gateway.close()

    return asyncio.run(go())


def once_in_a_process(
    config: Path, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`rebalancer once -c CONFIG --yes` in a process of its own, killed at `crash_at` (a
    `service.crashpoints` name) when given: for the tests whose subject is the process."""
    env = {**os.environ, **ENV}
    env.pop(CRASH_AT, None)
    if crash_at:
        env[CRASH_AT] = crash_at
    return subprocess.run(
        [str(Path(sys.executable).with_name("rebalancer")), "once", "-c", str(config), "--yes"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
