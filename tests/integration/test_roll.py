"""The roll policy acts, exactly once, through real ccxt against the emulator (and in paper).

A due roll (here: collateral below its floor of the gross hedge) is journaled whole, then
closes each rolled line's hedge with a reduce-only perp order through the executor, then
trades spot to target with journaled spot market orders (Binance `/api/v3/order`; on the
unified accounts Bybit `/v5/order/create` with `category=spot` and OKX `/api/v5/trade/order` on
the SPOT instrument), in that order. The next run finds no hedge to roll and sends nothing. A
lost spot answer is found by client id (one order, not two); a kill at any step of the roll, or
a halt between the close and the spot order, leaves the roll for the next run, which finishes
it once instead of hedging again; check-config accepts the roll on every venue (each places
spot orders).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from rebalancer import bootstrap
from rebalancer.config import Mode, load_settings
from rebalancer.domain.plan import LineStatus
from rebalancer.emulator import Emulator, Fault
from rebalancer.emulator.orders import Segment
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.port import OrderReport, OrderRequest, OrderState
from rebalancer.service.controls import Controls, MemoryControls, TradingGate
from rebalancer.service.crashpoints import ENV, POINTS, ROLL_POINTS
from rebalancer.service.cycle import CycleResult, run_cycle
from rebalancer.service.gated_gateway import GatedGateway
from rebalancer.service.journal import OrderIntentRecord
from rebalancer.service.memory_journal import MemoryJournal
from tests.integration.harness import ENV as CREDENTIALS
from tests.integration.harness import (
    OPEN,
    gateway_for,
    once_in_a_process,
    position,
    seed_state,
    settings_for,
    utcnow,
    write_config,
)
from tests.integration.venues import PATHS, UNIFIED

D = Decimal
EXE = str(Path(sys.executable).with_name("rebalancer"))
SPOT = "/api/v3/order"
BATCH = "/fapi/v1/batchOrders"
ROLL = """
[policy]
enabled = ["roll"]
allow_spot_sales = true
roll_on = ["collateral"]
collateral_floor = 3
"""

# The unified account's collateral is its coins and its quote (11 499 here), not a futures
# wallet: a floor of six times the gross hedge (2 000) is what puts it below.
UNIFIED_ROLL = ROLL.replace("collateral_floor = 3", "collateral_floor = 6")


def _cycle(
    tmp: Path,
    emu: Emulator,
    journal: MemoryJournal,
    *,
    extra: str = ROLL,
    mode: str = "live",
    gate: TradingGate = OPEN,
    wrap: bool = False,
) -> CycleResult:
    settings = settings_for(tmp, emu, extra=extra)
    gateway = gateway_for(settings)

    async def go() -> CycleResult:
        try:
            inner = GatedGateway(gateway, gate) if wrap else gateway
            return await run_cycle(settings, inner, journal, utcnow, gate=gate, mode=mode)
        finally:
            await gateway.close()

    return asyncio.run(go())


def _writes(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests() if r.method != "GET"]


def _spot_orders(emu: Emulator) -> list[str]:
    return [o.client_order_id for o in emu.exchange.store.all_orders() if o.segment is Segment.SPOT]


def _spot(emu: Emulator, asset: str) -> Decimal:
    balance = emu.exchange.account.balance(asset)
    return balance.free + balance.locked


def _intents(journal: MemoryJournal, run_id: str) -> list[OrderIntentRecord]:
    return [o.intent for o in journal.orders.values() if o.intent.run_id == run_id]


def _kinds(journal: MemoryJournal, run_id: str) -> list[str]:
    return [e.kind for e in journal.events if e.run_id == run_id and e.kind.startswith("policy")]


def test_a_due_roll_closes_the_hedges_then_trades_spot_and_the_next_run_sends_nothing(
    tmp_path: Path,
) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        opened = _cycle(tmp_path, emu, journal, extra="")  # the hedges open, no policy
        btc, eth = _spot(emu, "BTC"), _spot(emu, "ETH")
        emu.clear_requests()
        rolled = _cycle(tmp_path, emu, journal)
        writes = _writes(emu)
        after = (position(emu, "BTCUSDT"), position(emu, "ETHUSDT"))
        btc_after, eth_after = _spot(emu, "BTC"), _spot(emu, "ETH")
        emu.clear_requests()
        again = _cycle(tmp_path, emu, journal)
        writes_again = _writes(emu)

    assert opened.ok
    assert rolled.ok, rolled.error
    # The closes first (one batch, reduce-only), then one spot order per rolled asset.
    assert writes == [BATCH, SPOT, SPOT]
    assert after == (D(0), D(0))
    closes = [r for r in rolled.reports if r.instrument.endswith(":USDT")]
    spots = [r for r in rolled.reports if not r.instrument.endswith(":USDT")]
    assert {r.instrument for r in closes} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert [(r.instrument, r.state) for r in spots] == [
        ("BTC/USDT", OrderState.FILLED),  # the sale first: it funds the purchase
        ("ETH/USDT", OrderState.FILLED),
    ]
    assert btc_after < btc
    assert eth_after > eth
    # What was sold is what the BTC hedge covered, within the spot step.
    sold = btc - btc_after
    assert abs(sold - D("0.02")) <= D("0.0001")
    assert _kinds(journal, rolled.run_id) == [
        "policy_roll_due",
        "policy_roll_spot",
        "policy_roll_spot",
    ]
    # The journaled plan says what the run did: both lines rolled, no hedge after.
    journaled = journal.plans[rolled.run_id]
    assert journaled == rolled.plan
    assert [(line.status, line.hedge_after) for line in journaled.lines] == [
        (LineStatus.ROLLED, 0),
        (LineStatus.ROLLED, 0),
    ]
    assert all(line.reasons[-1].startswith("rolled into spot (") for line in journaled.lines)
    intents = {i.client_id: i for i in _intents(journal, rolled.run_id)}
    assert {i.instrument for i in intents.values() if not i.reduce_only} == {"BTC/USDT", "ETH/USDT"}
    assert all(i.reduce_only for i in intents.values() if i.instrument.endswith(":USDT"))
    # Rolled: nothing left to roll, nothing to trade.
    assert again.ok
    assert writes_again == []
    assert _kinds(journal, again.run_id) == ["policy_roll_idle"]


def test_no_roll_when_its_condition_does_not_hold(tmp_path: Path) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        assert _cycle(tmp_path, emu, journal, extra="").ok
        emu.clear_requests()
        result = _cycle(tmp_path, emu, journal, extra=ROLL.replace("= 3", "= 0.5"))
        writes = _writes(emu)
        spot = _spot_orders(emu)

    assert result.ok
    assert SPOT not in writes
    assert spot == []
    assert _kinds(journal, result.run_id) == ["policy_roll_idle"]


def test_the_safety_limits_count_the_rolls_spot_trades(tmp_path: Path) -> None:
    # The closes alone trade the gross hedge; with the spot trades the cycle trades about
    # twice that. A cycle limit between the two refuses the whole roll before anything is sent.
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        opened = _cycle(tmp_path, emu, journal, extra="")
        assert opened.ok
        assert opened.after is not None
        gross = opened.after.gross_notional
        limit = (gross * D("1.5")).quantize(D(1))
        emu.clear_requests()
        safety = f"\n[safety]\nmax_cycle_notional = {limit}\n"
        refused = _cycle(tmp_path, emu, journal, extra=ROLL + safety)
        writes = _writes(emu)

    assert not refused.ok
    assert "safety.max_cycle_notional" in (refused.error or "")
    assert refused.plan is not None
    assert refused.plan.traded_notional <= limit  # the closes alone fit
    assert writes == []
    assert _intents(journal, refused.run_id) == []


def test_a_lost_spot_answer_is_found_by_client_id_and_never_sent_twice(tmp_path: Path) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        assert _cycle(tmp_path, emu, journal, extra="").ok
        emu.inject(Fault.response_lost(path=SPOT, method="POST"))
        result = _cycle(tmp_path, emu, journal)
        spot = _spot_orders(emu)
        lost = [r for r in emu.requests() if r.path == SPOT and r.method == "POST"]

    assert result.ok, result.error
    assert len(spot) == len(set(spot)) == 2  # one sale, one purchase: none sent twice
    assert lost[0].status == 0  # the first spot answer was dropped...
    btc = next(r for r in result.reports if r.instrument == "BTC/USDT")
    assert btc.state is OrderState.FILLED  # ...and its order found by client id
    assert btc.client_id in spot


def test_the_kill_switch_refuses_the_spot_order_after_the_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Halted between the close and the spot order: the close stands, no spot order leaves."""
    journal = MemoryJournal()
    controls = MemoryControls()
    gate = TradingGate(controls, "seed-60-40")
    halted = Controls(halted=True, reason="halted by the user", since=datetime.now(UTC))
    with Emulator(seed_state()) as emu:
        assert _cycle(tmp_path, emu, journal, extra="").ok
        emu.clear_requests()
        place = CcxtGateway.place

        async def place_then_halt(
            self: CcxtGateway, orders: list[OrderRequest]
        ) -> list[OrderReport]:
            reports = await place(self, orders)
            controls.save("seed-60-40", halted)
            return reports

        monkeypatch.setattr(CcxtGateway, "place", place_then_halt)
        result = _cycle(tmp_path, emu, journal, gate=gate, wrap=True)
        writes = _writes(emu)

    assert writes == [BATCH]  # the close, and no spot order
    assert not result.ok
    assert result.error is not None
    assert "spot orders of the roll not sent" in result.error
    assert all(r.instrument.endswith(":USDT") for r in result.reports)
    refused = [e.message for e in journal.events if e.run_id == result.run_id]
    assert any("halted by the user" in m for m in refused)
    assert not [i for i in _intents(journal, result.run_id) if not i.reduce_only]


def test_a_dry_run_rolls_nothing(tmp_path: Path) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        assert _cycle(tmp_path, emu, journal, extra="").ok
        emu.clear_requests()
        result = _cycle(tmp_path, emu, journal, mode="dry-run")
        writes = _writes(emu)

    assert result.ok
    assert writes == []
    assert _kinds(journal, result.run_id) == ["policy_roll_due"]
    assert _intents(journal, result.run_id) == []


# -- the `once` command, crash recovery --------------------------------------------------


def _journal_orders(db: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT client_id, instrument, status FROM orders").fetchall()
    return {cid: (instrument, status) for cid, instrument, status in rows}


def test_once_rollsonce_in_a_process(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        assert once_in_a_process(write_config(tmp_path, emu)).returncode == 0  # hedges open
        config = write_config(tmp_path, emu, extra=ROLL)
        emu.clear_requests()
        rolled = once_in_a_process(config)
        writes = _writes(emu)
        emu.clear_requests()
        again = once_in_a_process(config)
        writes_again = _writes(emu)

    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert writes == [BATCH, SPOT, SPOT]
    assert "policy roll due: BTC: close hedge" in rolled.stdout
    assert again.returncode == 0, again.stdout + again.stderr
    assert writes_again == []
    spot = {
        cid: status
        for cid, (instrument, status) in _journal_orders(tmp_path / "journal.db").items()
        if not instrument.endswith(":USDT")
    }
    assert sorted(spot.values()) == ["filled", "filled"]


def _latest_roll_event(db: Path) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT kind FROM events WHERE kind IN ('roll_planned', 'roll_finished') "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return None if row is None else str(row[0])


def _open_runs(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT run_id FROM runs WHERE state NOT IN ('completed','failed','skipped')"
        )
        return [r[0] for r in rows.fetchall()]


LIVE = {"filled", "partially_filled", "accepted"}


# Every crash point on Binance; on the unified venues the roll's own (spot) points, where what
# differs per venue (the spot order, its lookup) is crossed.
KILLS = [
    *[("binance", point) for point in (*POINTS, *ROLL_POINTS)],
    *[(venue, point) for venue in UNIFIED for point in ROLL_POINTS],
]


@pytest.mark.parametrize(("venue", "point"), KILLS)
def test_a_roll_killed_at_any_point_is_finished_once_by_the_next_run(
    tmp_path: Path, venue: str, point: str
) -> None:
    """SIGKILL at each step of a roll (its perp closes' intents, in flight, answered; its spot
    intents, in flight), then `once` again: the roll ends done exactly once. Every intent is
    at most one order on the exchange, the journal equals the exchange, the hedges stay
    closed (no perp order but the roll's reduce-only closes), and the spot is at target: the
    BTC hedge's 0.02 sold once, ETH bought once."""
    with Emulator(seed_state(), venue=venue) as emu:
        assert once_in_a_process(write_config(tmp_path, emu)).returncode == 0  # hedges open
        opened = len(emu.exchange.store.all_orders())
        btc, eth = _spot(emu, "BTC"), _spot(emu, "ETH")
        config = write_config(tmp_path, emu, extra=UNIFIED_ROLL if venue in UNIFIED else ROLL)
        if point in ("in_flight", "spot_in_flight"):
            emu.set_latency(D("0.8"))  # the kill lands while the request waits
        crashed = once_in_a_process(config, point)
        emu.set_latency(D(0))
        restarted = once_in_a_process(config)
        emu.clear_requests()
        again = once_in_a_process(config)
        writes_again = _writes(emu)
        orders = emu.exchange.store.all_orders()
        hedges = (position(emu, "BTCUSDT"), position(emu, "ETHUSDT"))
        btc_after, eth_after = _spot(emu, "BTC"), _spot(emu, "ETH")

    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    on_exchange = [o.client_order_id for o in orders]
    assert len(on_exchange) == len(set(on_exchange)), "a client order id was sent twice"
    journal = _journal_orders(tmp_path / "journal.db")
    for client_id in on_exchange:  # every real order is journaled...
        assert journal[client_id][1] in LIVE, (client_id, journal[client_id])
    for client_id, (_, status) in journal.items():  # ...and nothing journaled is imaginary
        assert (status in LIVE) == (client_id in on_exchange), (client_id, status)
    assert _open_runs(tmp_path / "journal.db") == []
    rolled = orders[opened:]
    perps = [o for o in rolled if o.segment is not Segment.SPOT]
    spot = [o for o in rolled if o.segment is Segment.SPOT]
    assert perps, "the crashed run or its successor closed the hedges"
    assert all(o.reduce_only for o in perps), "a hedge was re-opened"
    assert hedges == (D(0), D(0))
    assert sorted(o.symbol for o in spot) == ["BTCUSDT", "ETHUSDT"]  # one sale, one purchase
    assert abs((btc - btc_after) - D("0.02")) <= D("0.0001")
    assert eth_after > eth
    assert _latest_roll_event(tmp_path / "journal.db") == "roll_finished"
    assert writes_again == []  # rolled and finished: the next run has nothing to do


def _halted_roll(
    tmp: Path,
    emu: Emulator,
    journal: MemoryJournal,
    controls: MemoryControls,
    monkeypatch: pytest.MonkeyPatch,
) -> CycleResult:
    """Hedges opened, then a roll the kill switch stops between its closes and its spot."""
    gate = TradingGate(controls, "seed-60-40")
    halted = Controls(halted=True, reason="halted by the user", since=datetime.now(UTC))
    assert _cycle(tmp, emu, journal, extra="").ok
    place = CcxtGateway.place

    async def place_then_halt(self: CcxtGateway, orders: list[OrderRequest]) -> list[OrderReport]:
        reports = await place(self, orders)
        controls.save("seed-60-40", halted)
        return reports

    with monkeypatch.context() as patch:
        patch.setattr(CcxtGateway, "place", place_then_halt)
        stopped = _cycle(tmp, emu, journal, gate=gate, wrap=True)
    controls.save("seed-60-40", Controls())
    assert not stopped.ok
    assert (position(emu, "BTCUSDT"), position(emu, "ETHUSDT")) == (D(0), D(0))
    return stopped


def _roll_kinds(journal: MemoryJournal) -> list[str]:
    return [e.kind for e in journal.events if e.kind.startswith("roll_")]


def test_a_halt_between_the_close_and_the_spot_leaves_the_roll_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kill switch stops the roll after its closes; once trading resumes, the next run
    sends the roll's spot orders (recorded before the closes) instead of re-opening the
    hedges."""
    journal = MemoryJournal()
    controls = MemoryControls()
    with Emulator(seed_state()) as emu:
        _halted_roll(tmp_path, emu, journal, controls, monkeypatch)
        emu.clear_requests()
        gate = TradingGate(controls, "seed-60-40")
        resumed = _cycle(tmp_path, emu, journal, gate=gate, wrap=True)
        writes = _writes(emu)
        hedges = (position(emu, "BTCUSDT"), position(emu, "ETHUSDT"))

    assert resumed.ok, resumed.error
    assert writes == [SPOT, SPOT]  # the roll's spot orders, and no perp order
    assert hedges == (D(0), D(0))
    kinds = [e.kind for e in journal.events if e.run_id == resumed.run_id]
    assert "policy_roll_resumed" in kinds
    assert _roll_kinds(journal)[-1] == "roll_finished"
    assert [(p.policy, p.acted) for p in resumed.policies] == [("roll", True)]


def test_a_dry_run_says_it_would_finish_an_open_roll_and_leaves_it_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        _halted_roll(tmp_path, emu, journal, MemoryControls(), monkeypatch)
        emu.clear_requests()
        dry = _cycle(tmp_path, emu, journal, mode="dry-run")
        writes = _writes(emu)

    assert dry.ok, dry.error
    assert writes == []
    assert dry.plan is not None
    assert dry.plan.orders == ()  # it would finish the roll, not hedge again
    due = [e.message for e in journal.events if e.run_id == dry.run_id]
    assert any(m.startswith("dry-run: would finish the roll of run ") for m in due)
    assert _roll_kinds(journal)[-1] == "roll_planned"  # still open for a trading run
    assert [(p.policy, p.acted) for p in dry.policies] == [("roll", False)]


def test_an_open_roll_is_abandoned_when_the_policy_is_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Turned off, the roll is not finished behind the user's back: the record is closed
    with its reason, and the plan hedges the lines again."""
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        _halted_roll(tmp_path, emu, journal, MemoryControls(), monkeypatch)
        emu.clear_requests()
        off = _cycle(tmp_path, emu, journal, extra="")
        writes = _writes(emu)

    assert off.ok, off.error
    assert SPOT not in writes
    assert writes == [BATCH]  # the hedges, planned afresh
    (finished,) = [
        e for e in journal.events if e.run_id == off.run_id and e.kind == "roll_finished"
    ]
    assert "abandoned (policy roll is off now)" in finished.message
    assert "not sent: sell 0.02" in finished.message


# -- paper, and the venues without spot orders -------------------------------------------

PAPER = """
[paper]
spot = { BTC = 0.14, ETH = 1.2, USDT = 0 }
futures_wallet = 2000
taker_fee = 0.0005
slippage_bps = 0
"""


def test_paper_mode_rolls_in_the_simulated_account(tmp_path: Path) -> None:
    with Emulator(seed_state()) as emu:
        config = write_config(tmp_path, emu, extra=PAPER + ROLL)
        config.write_text(
            config.read_text(encoding="utf-8").replace('mode = "live"', 'mode = "paper"'),
            encoding="utf-8",
        )
        settings = load_settings(config, {})
        results = []
        for _ in range(3):
            journal = bootstrap.open_journal(settings)
            try:
                gateway = bootstrap.exchange_gateway(settings, Mode.PAPER, journal)

                async def go(
                    gateway: object = gateway, journal: bootstrap.Journal = journal
                ) -> CycleResult:
                    assert isinstance(gateway, GatedGateway)
                    try:
                        return await run_cycle(
                            settings,
                            gateway,
                            journal.journal,
                            utcnow,
                            gate=bootstrap.trading_gate(settings, journal),
                            mode="paper",
                        )
                    finally:
                        await gateway.close()

                results.append(asyncio.run(go()))
                saved = journal.paper.load("seed-60-40")
            finally:
                journal.store.close()
        writes = _writes(emu)

    opened, rolled, again = results
    assert all(r.ok for r in results), [r.error for r in results]
    assert writes == []  # paper sends nothing to the exchange
    assert opened.roll is not None
    assert not opened.roll.acts
    spot = [r for r in rolled.reports if not r.instrument.endswith(":USDT")]
    assert [(r.instrument, r.state) for r in spot] == [
        ("BTC/USDT", OrderState.FILLED),
        ("ETH/USDT", OrderState.FILLED),
    ]
    assert rolled.after is not None
    assert all(p.position == 0 for p in rolled.after.perps.values())
    assert again.reports == ()
    assert saved is not None
    assert D(saved["spot"]["BTC"]) < D("0.14")
    assert D(saved["spot"]["ETH"]) > D("1.2")


@pytest.mark.parametrize("venue", UNIFIED)
def test_check_config_accepts_the_roll_on_the_unified_venues(tmp_path: Path, venue: str) -> None:
    with Emulator(seed_state(), venue=venue) as emu:
        config = write_config(tmp_path, emu, extra=ROLL)
    env = {**os.environ, **CREDENTIALS}
    done = subprocess.run(
        [EXE, "check-config", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "policy.enabled" not in done.stdout + done.stderr


def test_a_line_whose_spot_trade_cannot_be_placed_keeps_its_hedge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No BTC spot market: BTC's sale cannot be placed, and ETH's purchase has no quote to
    spend without it. Neither hedge closes (closing one without its trade would leave the line
    off target, to be hedged again next cycle): nothing is sent, and the journal says why."""
    journal = MemoryJournal()
    with Emulator(seed_state()) as emu:
        assert _cycle(tmp_path, emu, journal, extra="").ok
        hedges = (position(emu, "BTCUSDT"), position(emu, "ETHUSDT"))
        spot_rules = CcxtGateway.spot_rules

        async def without_btc(self: CcxtGateway, assets: list[str]) -> dict[str, object]:
            rules = dict(await spot_rules(self, assets))
            rules["BTC"] = None
            return rules

        monkeypatch.setattr(CcxtGateway, "spot_rules", without_btc)
        emu.clear_requests()
        result = _cycle(tmp_path, emu, journal)
        writes = _writes(emu)
        after = (position(emu, "BTCUSDT"), position(emu, "ETHUSDT"))

    assert result.ok, result.error
    assert writes == []
    assert after == hedges
    skipped = [
        e.message
        for e in journal.events
        if e.run_id == result.run_id and e.kind == "policy_roll_skipped"
    ]
    assert len(skipped) == 2
    assert skipped[0].startswith("BTC: BTC -")
    assert "no spot market" in skipped[0]
    assert skipped[1].startswith("ETH: ETH +")
    assert "not enough quote" in skipped[1]
    assert all(m.endswith("hedge kept") for m in skipped)


# -- notifications --------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def test_once_notifies_the_roll_it_performsonce_in_a_process(tmp_path: Path) -> None:
    class Hook(_Hook):
        bodies: ClassVar[list[dict[str, object]]] = []

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    notify = '\n[notify]\nwebhooks = [{ kind = "json", url_env = "ROLL_HOOK_URL" }]\n'
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        with Emulator(seed_state()) as emu:
            assert once_in_a_process(write_config(tmp_path, emu)).returncode == 0  # hedges open
            config = write_config(tmp_path, emu, extra=ROLL + notify)
            env = {**os.environ, **CREDENTIALS, "ROLL_HOOK_URL": url}
            env.pop(ENV, None)
            runs = [
                subprocess.run(
                    [EXE, "once", "-c", str(config), "--yes"],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                    check=False,
                )
                for _ in range(2)
            ]
    finally:
        server.shutdown()
        server.server_close()

    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    texts = [json.dumps(b) for b in Hook.bodies]
    assert len(texts) == 1  # the run that rolled; the next has nothing to say
    assert "Roll performed" in texts[0]
    assert "collateral is below the floor" in texts[0]
    assert url not in runs[0].stdout + runs[0].stderr  # a webhook URL is a secret


# -- the unified venues: Bybit and OKX -------------------------------------------------------

SPOT_PATHS = {"bybit": "/v5/order/create", "okx": "/api/v5/trade/order"}


def _orders_sent(emu: Emulator, venue: str) -> list[str]:
    """The order placements (POSTs) in request order: settings calls left out."""
    wanted = {PATHS[venue].batch, SPOT_PATHS[venue]}
    return [r.path for r in emu.requests() if r.method == "POST" and r.path in wanted]


@pytest.mark.parametrize("venue", UNIFIED)
def test_a_due_roll_on_a_unified_account_closes_the_hedges_then_trades_spotonce_in_a_process(
    tmp_path: Path, venue: str
) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state(), venue=venue) as emu:
        opened = _cycle(tmp_path, emu, journal, extra="")
        btc, eth, usdt = _spot(emu, "BTC"), _spot(emu, "ETH"), emu.exchange.account.quote_balance()
        emu.clear_requests()
        rolled = _cycle(tmp_path, emu, journal, extra=UNIFIED_ROLL)
        sent = _orders_sent(emu, venue)
        after = (position(emu, "BTCUSDT"), position(emu, "ETHUSDT"))
        btc_after, eth_after = _spot(emu, "BTC"), _spot(emu, "ETH")
        usdt_after = emu.exchange.account.quote_balance()
        spot = _spot_orders(emu)
        emu.clear_requests()
        again = _cycle(tmp_path, emu, journal, extra=UNIFIED_ROLL)
        sent_again = _orders_sent(emu, venue)

    assert opened.ok, opened.error
    assert rolled.ok, rolled.error
    # The closes first (one batch, reduce-only), then one spot order per rolled asset.
    assert sent == [PATHS[venue].batch, SPOT_PATHS[venue], SPOT_PATHS[venue]]
    assert after == (D(0), D(0))
    sale, purchase = [r for r in rolled.reports if not r.instrument.endswith(":USDT")]
    assert (sale.instrument, sale.state) == ("BTC/USDT", OrderState.FILLED)
    assert (purchase.instrument, purchase.state) == ("ETH/USDT", OrderState.FILLED)
    assert [sale.client_id, purchase.client_id] == spot
    # Spot sold to target: what the BTC hedge covered, within the spot step, in base units.
    assert abs((btc - btc_after) - D("0.02")) <= D("0.0001")
    assert sale.filled == btc - btc_after
    # The fee in the currency received, as the venue charges it: the bought ETH arrives net
    # of its fee; the sale's proceeds arrive net of theirs, in the one quote balance.
    assert purchase.fee_currency == "ETH"
    assert purchase.fee is not None
    assert purchase.filled is not None
    assert eth_after == eth + purchase.filled - purchase.fee
    assert sale.fee_currency == "USDT"
    assert sale.average_price is not None
    assert purchase.average_price is not None
    closes_fees = sum(
        (r.fee or D(0) for r in rolled.reports if r.instrument.endswith(":USDT")), D(0)
    )
    assert usdt_after == (
        usdt
        - closes_fees
        + sale.filled * sale.average_price
        - (sale.fee or D(0))
        - purchase.filled * purchase.average_price
    )
    kinds = _kinds(journal, rolled.run_id)
    assert kinds == ["policy_roll_due", "policy_roll_spot", "policy_roll_spot"]
    due = next(e.message for e in journal.events if e.kind == "policy_roll_due")
    assert due.startswith("roll due: BTC: close hedge")
    assert "collateral is below the floor" in due
    # Rolled: nothing left to roll, nothing to trade.
    assert again.ok, again.error
    assert sent_again == []
    assert _kinds(journal, again.run_id) == ["policy_roll_idle"]


@pytest.mark.parametrize("venue", UNIFIED)
def test_a_lost_spot_answer_on_a_unified_account_yields_exactly_one_spot_order(
    tmp_path: Path, venue: str
) -> None:
    journal = MemoryJournal()
    with Emulator(seed_state(), venue=venue) as emu:
        assert _cycle(tmp_path, emu, journal, extra="").ok
        emu.clear_requests()
        emu.inject(Fault.response_lost(path=SPOT_PATHS[venue], method="POST"))
        result = _cycle(tmp_path, emu, journal, extra=UNIFIED_ROLL)
        spot = _spot_orders(emu)
        posted = [r for r in emu.requests() if r.path == SPOT_PATHS[venue] and r.method == "POST"]

    assert result.ok, result.error
    assert len(posted) == 2  # one POST per spot order: the lost one was not sent again
    assert posted[0].status == 0  # the first spot answer was dropped...
    assert len(spot) == len(set(spot)) == 2  # ...one sale, one purchase: none twice
    btc = next(r for r in result.reports if r.instrument == "BTC/USDT")
    assert btc.state is OrderState.FILLED  # ...and its order found by client id
    assert btc.client_id == spot[0]
    journaled = journal.orders[btc.client_id]
    assert journaled.intent.instrument == "BTC/USDT"
