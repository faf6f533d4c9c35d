"""Paper mode on a unified account: the simulated account over the emulator's public prices,
coins as collateral at `[simulation] haircuts`, the cap on that collateral value, interest on
borrowed quote between snapshots, kept across a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.config import Settings, load_settings
from rebalancer.domain.plan import CapState
from rebalancer.domain.snapshot import AccountKind
from rebalancer.emulator import Emulator
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.paper import PaperGateway
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.memory_journal import MemoryJournal
from rebalancer.sim import YEAR_SECONDS, quantize_money
from tests.integration.harness import OPEN, MemoryPaperStore, seed_state, write_config

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _settings(tmp: Path, emu: Emulator, account: str, wallet: str) -> Settings:
    extra = f"""
[paper]
spot = {{ BTC = 0.14, ETH = 1.2 }}
futures_wallet = {wallet}
taker_fee = 0.0005
slippage_bps = 0
account = "{account}"
"""
    config = write_config(tmp, emu, extra=extra)
    config.write_text(config.read_text().replace('mode = "live"', 'mode = "paper"'))
    return load_settings(config, {})


def _gateway(settings: Settings, store: MemoryPaperStore, clock: _Clock) -> PaperGateway:
    public = CcxtGateway(build_client(settings.config.exchange, None), quote="USDT")
    return PaperGateway.open(settings, public, store, clock)


def _cycle(settings: Settings, gateway: PaperGateway, clock: _Clock) -> CycleResult:
    async def go() -> CycleResult:
        try:
            return await run_cycle(
                settings, gateway, MemoryJournal(), clock, gate=OPEN, mode="paper"
            )
        finally:
            await gateway.close()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("account", "cap"), [("segregated", CapState.BINDING), ("unified", CapState.WITHIN)]
)
def test_the_cap_is_on_the_collateral_value_of_a_unified_paper_account(
    tmp_path: Path, account: str, cap: CapState
) -> None:
    # $10,000 of coins, $1,000 of quote: a full rebalance needs $2,000 of hedges. Segregated,
    # the $1,000 wallet caps them; unified, the coins count at 95 % and it fits.
    with Emulator(seed_state()) as emu:
        settings = _settings(tmp_path, emu, account, "1000")
        clock = _Clock()
        result = _cycle(settings, _gateway(settings, MemoryPaperStore(), clock), clock)
    assert result.ok, result.error
    before, plan = result.before, result.plan
    assert before is not None
    assert plan is not None
    assert plan.cap is cap
    if account == "unified":
        assert before.kind is AccountKind.UNIFIED
        coins = before.spot["BTC"].value + before.spot["ETH"].value
        assert before.collateral == coins * Decimal("0.95") + 1000
        assert before.equity == coins + 1000  # every unit once
        assert [r.state.value for r in result.reports] == ["filled", "filled"]
    else:
        assert before.kind is AccountKind.SEGREGATED
        assert before.collateral == 1000


def test_borrowed_quote_accrues_interest_between_snapshots_and_across_a_restart(
    tmp_path: Path,
) -> None:
    # No quote at all: the hedges' fees are borrowed from the first trade on.
    with Emulator(seed_state()) as emu:
        settings = _settings(tmp_path, emu, "unified", "0")
        store, clock = MemoryPaperStore(), _Clock()
        result = _cycle(settings, _gateway(settings, store, clock), clock)
        assert result.ok, result.error
        assert result.after is not None
        fees = sum((r.fee or Decimal(0)) for r in result.reports)
        assert fees > 0
        saved = store.saved["seed-60-40"]
        assert saved["interest_since"] == T0.isoformat()
        assert Decimal(saved["wallet"]) == -fees
        # A restarted process a year later charges the year's interest on what was borrowed.
        clock.now = T0 + timedelta(days=365)
        gateway = _gateway(settings, store, clock)

        async def read() -> None:
            try:
                await gateway.snapshot(["BTC", "ETH"], ["BTC/USDT:USDT", "ETH/USDT:USDT"], {})
            finally:
                await gateway.close()

        asyncio.run(read())
    (charge,) = gateway._account.charges
    assert charge.start == T0
    assert charge.end == clock.now
    assert charge.borrowed == fees  # the emulator's prices did not move: no uPnL
    assert charge.amount == quantize_money(fees * Decimal("0.10") * 365 * 86_400 / YEAR_SECONDS)
    # (the wallet also moved by a year of funding on the hedges, settled after the interest)
    assert gateway._account.interest_paid() == charge.amount
    assert store.saved["seed-60-40"]["interest_since"] == clock.now.isoformat()
