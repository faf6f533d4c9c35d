"""One wake-up of the daemon: check controls and margin, decide, and maybe run a cycle.

Calendar and drift-check jobs both come here, through one lock, so two cycles never overlap.
A drift check is a cheap snapshot; when the trigger policy fires, the cycle plans from that same
snapshot (no second read), and the decision's reason is journaled with the run.

A wake-up never lets a database failure escape: the journal going away (or this process losing
its writer lock) is logged as one event, opens the circuit and notifies once; at the next
wake-up that finds the database back, the daemon takes its lock again, persists the open
circuit and reconciles the runs the outage left open, before anything else. If another process
has taken the lock meanwhile, this one gives way: it stops, and never trades beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

import structlog

from rebalancer.config import Settings
from rebalancer.domain.exposure import valuation
from rebalancer.domain.margin import MarginHealth, margin_health
from rebalancer.domain.planner import PlanningError, plan
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Strategy
from rebalancer.domain.triggers import Decision, TriggerPolicy, Wake, decide
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.exchange.port import ExchangeGateway
from rebalancer.notify import Notification, NotificationKind, NotifierPort, Severity
from rebalancer.service.carry import CarryLedger, sync_carry
from rebalancer.service.controls import (
    Controls,
    ControlStore,
    TradingGate,
    after_cycle,
)
from rebalancer.service.cycle import CycleResult, read_snapshot, run_cycle
from rebalancer.service.journal import Journal, JournalUnavailable, WriterLockLost
from rebalancer.service.policy_notes import PolicyNote
from rebalancer.service.reconcile import reconcile
from rebalancer.service.top_up import top_up
from rebalancer.store import WriterLockHeld

Clock = Callable[[], datetime]
log = structlog.get_logger(__name__)


class Metrics(Protocol):
    """What the daemon reports to its metrics endpoint (a no-op where there is none)."""

    def cycle_finished(self, state: str, at: datetime) -> None: ...
    def drift(self, asset: str, value: float) -> None: ...
    def gross_leverage(self, value: float) -> None: ...
    def error(self, kind: str) -> None: ...
    def margin_distance(self, value: float) -> None: ...
    def set_circuit(self, is_open: bool) -> None: ...
    def set_halted(self, halted: bool) -> None: ...


class NoMetrics:
    def cycle_finished(self, state: str, at: datetime) -> None: ...
    def drift(self, asset: str, value: float) -> None: ...
    def gross_leverage(self, value: float) -> None: ...
    def error(self, kind: str) -> None: ...
    def margin_distance(self, value: float) -> None: ...
    def set_circuit(self, is_open: bool) -> None: ...
    def set_halted(self, halted: bool) -> None: ...


class WriterSeat(Protocol):
    """The writer lock as the daemon sees it (the store's `WriterLease`)."""

    @property
    def writer(self) -> str: ...

    def held(self) -> bool: ...

    def regain(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class WakeOutcome:
    kind: Wake
    decision: Decision | None
    cycle: CycleResult | None = None
    skipped: str | None = None


class Waker:
    """Holds what a wake-up needs; `settings` may be swapped on reload between wake-ups."""

    def __init__(
        self,
        settings: Settings,
        *,
        gateway: ExchangeGateway,
        journal: Journal,
        controls: ControlStore,
        notifier: NotifierPort,
        clock: Clock,
        mode: str,
        metrics: Metrics | None = None,
        seat: WriterSeat | None = None,
        give_way: Callable[[str], None] | None = None,
        carry: CarryLedger | None = None,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.journal = journal
        self.controls = controls
        self.notifier = notifier
        self.clock = clock
        self.mode = mode
        self.metrics: Metrics = metrics or NoMetrics()
        self.lock = asyncio.Lock()
        self.seat = seat
        self.give_way = give_way  # called once another process has taken the writer lock
        self.outage: JournalUnavailable | None = None  # until recovered
        self._margin_alerted = False
        self._topped_up = False  # the top-up policy moved quote in this margin excursion
        self._policy_said: dict[str, str] = {}  # the last "about to act" notified, per policy
        self._refused: tuple[bool, bool, datetime | None] | None = None  # the stop last journaled
        self.carry = carry  # the carry ledger, read at every wake-up
        self._carry_read_until: datetime | None = None

    @property
    def portfolio(self) -> str:
        return self.settings.config.portfolio.name

    @property
    def gate(self) -> TradingGate:
        return TradingGate(self.controls, self.portfolio)

    async def wake(self, kind: Wake) -> WakeOutcome:
        if self.lock.locked():
            log.info("wake_skipped", kind=kind.value, reason="a cycle is running")
            return WakeOutcome(kind, None, skipped="a cycle is running")
        async with self.lock:
            try:
                await self._recover_if_needed()
                return await self._wake(kind)
            except JournalUnavailable as exc:
                return self._journal_failed(kind, exc)
            except WriterLockHeld as exc:
                return self._gave_way(kind, exc)

    async def _recover_if_needed(self) -> None:
        """After an outage or a lost lock: the lock again, the circuit persisted, open runs
        reconciled; raises while the database is still away."""
        if self.outage is None and self.seat is not None and not self.seat.held():
            self.outage = WriterLockLost(self.portfolio, "the writer lock was lost")
            self._announce(self.outage)
        if self.outage is None:
            return
        if self.seat is not None and self.seat.regain():
            log.warning("writer_lock_regained", writer=self.seat.writer)
        controls = self.controls.load(self.portfolio)
        reason = f"journal unavailable: {self.outage.cause}"
        if not controls.circuit_open:
            self.controls.save(
                self.portfolio,
                replace(controls, circuit_open=True, reason=reason, since=self.clock()),
            )
        done = await reconcile(self.portfolio, self.gateway, self.journal, self.clock)
        log.warning(
            "journal_recovered",
            runs_reconciled=list(done.runs_closed),
            unresolved=list(done.unresolved),
        )
        self.outage = None
        self._notify(
            NotificationKind.CIRCUIT_OPEN,
            Severity.WARNING,
            "Journal back",
            f"reconciled {len(done.runs_closed)} run(s), {len(done.unresolved)} order(s) "
            "unresolved; trading stays stopped until `rebalancer resume`",
        )

    def _journal_failed(self, kind: Wake, exc: JournalUnavailable) -> WakeOutcome:
        self.metrics.error(type(exc).__name__)
        if self.outage is None:
            self.outage = exc
            self._announce(exc)
        else:
            log.warning("journal_still_unavailable", kind=kind.value, error=exc.cause)
        return WakeOutcome(kind, None, skipped=f"journal unavailable: {exc.cause}")

    def _announce(self, exc: JournalUnavailable) -> None:
        self.metrics.set_circuit(True)
        log.error(
            "journal_unavailable",
            error=str(exc),
            cause=exc.cause,
            orders_may_be_sent=exc.orders_may_be_sent,
        )
        self._notify(
            NotificationKind.CIRCUIT_OPEN,
            Severity.CRITICAL,
            "Trading stopped: journal unavailable",
            f"{exc}. The daemon reconciles open runs when the database is back.",
        )

    def _gave_way(self, kind: Wake, exc: WriterLockHeld) -> WakeOutcome:
        log.error("writer_lock_taken", error=str(exc))
        self._notify(
            NotificationKind.CIRCUIT_OPEN,
            Severity.CRITICAL,
            "Daemon stopped: another writer",
            f"{exc}; this daemon lost its lock and gives way",
        )
        if self.give_way is not None:
            self.give_way(str(exc))
        return WakeOutcome(kind, None, skipped=str(exc))

    async def _wake(self, kind: Wake) -> WakeOutcome:
        controls = self.controls.load(self.portfolio)
        self.metrics.set_halted(controls.halted)
        self.metrics.set_circuit(controls.circuit_open)
        settings = self.settings
        strategy = settings.strategy
        try:
            snapshot = await read_snapshot(settings, self.gateway)
        except ExchangeFailure as exc:
            self.metrics.error(type(exc).__name__)
            log.error("snapshot_failed", kind=kind.value, error=str(exc))
            return WakeOutcome(kind, None, skipped=f"snapshot failed: {exc}")
        await self._read_carry()
        value = valuation(strategy, snapshot)
        for state in value.lines:
            self.metrics.drift(state.line.name, float(state.drift(value.equity)))
        health = margin_health(snapshot, settings.config.safety.maintenance_margin_rate)
        self._watch_margin(health)
        policy = TriggerPolicy(settings.config.schedule.trigger)
        decision = decide(policy, kind, value, strategy.band)
        log.info(
            "drift_checked", kind=kind.value, rebalance=decision.rebalance, reason=decision.reason
        )
        if not decision.rebalance:
            # The account was read and needs nothing: the daemon is alive (keeps /healthz 200).
            self.metrics.cycle_finished("skipped", self.clock())
            await self._top_up_between_cycles(snapshot)
            return WakeOutcome(kind, decision)
        if not controls.trading_allowed:
            outcome = await self._refuse(kind, decision, controls, snapshot)
            await self._top_up_between_cycles(snapshot)
            return outcome
        if kind is Wake.DRIFT_CHECK and not _placeable(snapshot, strategy):
            # Beyond the threshold but nothing the exchange would take (rounding, minimums, or
            # a cap that already binds): say so, and do not journal an empty run every check.
            log.info("rebalance_not_actionable", reason=decision.reason)
            self.metrics.cycle_finished("skipped", self.clock())
            await self._top_up_between_cycles(snapshot)
            return WakeOutcome(kind, decision, skipped="the plan has no placeable order")
        cycle = await self._cycle(kind, decision, snapshot)
        self._after(cycle)
        return WakeOutcome(kind, decision, cycle)

    async def _read_carry(self) -> None:
        """Bring the carry ledger up to date (reporting only: a failure never stops a cycle)."""
        if self.carry is None:
            return
        try:
            done = await sync_carry(
                self.gateway,
                self.carry,
                self.portfolio,
                self.clock(),
                read_until=self._carry_read_until,
            )
        except Exception as exc:  # the ledger is a report; trading goes on
            log.warning("carry_record_failed", error=f"{type(exc).__name__}: {exc}")
            return
        if done.error is None:
            self._carry_read_until = done.until

    async def _cycle(self, kind: Wake, decision: Decision, snapshot: Snapshot) -> CycleResult:
        """A cycle planned from this wake-up's snapshot, with the decision's reason."""
        return await run_cycle(
            self.settings,
            self.gateway,
            self.journal,
            self.clock,
            mode=self.mode,
            trigger=kind.value,
            reason=decision.reason,
            snapshot=snapshot,
            gate=self.gate,
            top_up=not self._topped_up,
        )

    async def _refuse(
        self, kind: Wake, decision: Decision, controls: Controls, snapshot: Snapshot
    ) -> WakeOutcome:
        """Trading is stopped: place nothing; journal and notify once per stop, not per check."""
        self.metrics.cycle_finished("skipped", self.clock())
        why = controls.refusal()
        log.warning("cycle_skipped", reason=why)
        episode = (controls.halted, controls.circuit_open, controls.since)
        if episode == self._refused:
            return WakeOutcome(kind, decision, skipped=why)
        self._refused = episode
        self._notify(
            NotificationKind.CYCLE_SKIPPED,
            Severity.WARNING,
            "Rebalance skipped",
            f"{decision.reason}; not trading: {why}",
        )
        if self.mode == "dry-run":
            return WakeOutcome(kind, decision, skipped=why)
        cycle = await self._cycle(kind, decision, snapshot)  # journals the refusal, sends nothing
        return WakeOutcome(kind, decision, cycle, skipped=why)

    def _after(self, cycle: CycleResult) -> None:
        self.metrics.cycle_finished(cycle.state.value, self.clock())
        if cycle.refused:  # stopped while this wake-up decided: not a failure of the cycle
            return
        before = self.controls.load(self.portfolio)
        unresolved = bool(cycle.unresolved)
        after = after_cycle(
            before,
            ok=cycle.ok,
            unresolved=unresolved,
            limit=self.settings.config.safety.max_consecutive_failures,
            at=self.clock(),
            error=cycle.error or "",
        )
        self.controls.save(self.portfolio, after)
        if cycle.ok:
            orders = len(cycle.reports)
            self._notify(
                NotificationKind.CYCLE_DONE,
                Severity.INFO,
                "Rebalance done",
                f"run {cycle.run_id}: {orders} order(s)",
            )
        else:
            self._notify(
                NotificationKind.CYCLE_FAILED,
                Severity.WARNING,
                "Rebalance failed",
                f"run {cycle.run_id}: {cycle.error}",
            )
        self._policy_notes(cycle)
        if after.circuit_open and not before.circuit_open:
            self.metrics.set_circuit(True)
            log.error("circuit_opened", reason=after.reason)
            self._notify(
                NotificationKind.CIRCUIT_OPEN,
                Severity.CRITICAL,
                "Trading stopped",
                f"{after.reason}. Run `rebalancer resume` once resolved.",
            )

    def _watch_margin(self, health: MarginHealth) -> None:
        if health.leverage is not None:
            self.metrics.gross_leverage(float(health.leverage))
        if health.distance is not None:
            self.metrics.margin_distance(float(health.distance))
        threshold = self.settings.config.safety.margin_alert_distance
        if not health.below(threshold):
            self._margin_alerted = False
            self._topped_up = False  # a new excursion may move quote again
            return
        if self._margin_alerted:
            return  # one alert per excursion below the threshold, not one per check
        self._margin_alerted = True
        text = (
            f"a {health.distance:.1%} adverse move would liquidate (alert below "
            f"{threshold:.0%}); futures equity {health.futures_equity:.2f}, gross "
            f"{health.gross:.2f}"
        )
        log.warning("margin_warning", distance=str(health.distance))
        self._notify(NotificationKind.MARGIN_WARNING, Severity.CRITICAL, "Margin warning", text)

    async def _top_up_between_cycles(self, snapshot: Snapshot) -> None:
        """The top-up policy on a wake-up that runs no cycle (a cycle applies it itself, and
        journals it): at most once per excursion below the margin alert."""
        if self._topped_up or not self._margin_alerted:
            return
        outcome = await top_up(self.settings, self.gateway, self.gate, snapshot, mode=self.mode)
        if outcome is None:
            return
        log.warning("top_up_between_cycles", outcome=outcome.text)
        if outcome.notable:
            self._policy_outcome(PolicyNote("top-up", outcome.acted, outcome.text), None)

    def _policy_notes(self, cycle: CycleResult) -> None:
        """Notify what the policies did in this run (each act), or were about to do (once
        while it stays the same: not repeated every cycle)."""
        said = {note.policy for note in cycle.policies}
        for policy in ("roll", "top-up"):
            if policy not in said:
                self._policy_said.pop(policy, None)  # quiet again: the next one is news
        for note in cycle.policies:
            self._policy_outcome(note, cycle.run_id)

    def _policy_outcome(self, note: PolicyNote, run_id: str | None) -> None:
        if note.acted:
            if note.policy == "top-up":
                self._topped_up = True
            self._policy_said.pop(note.policy, None)
        elif self._policy_said.get(note.policy) == note.text:
            return  # unchanged since it was last said
        else:
            self._policy_said[note.policy] = note.text
        self.notifier.notify_in_background(note.notification(self.portfolio, run_id, self.clock()))

    def _notify(self, kind: NotificationKind, severity: Severity, title: str, text: str) -> None:
        self.notifier.notify_in_background(
            Notification(kind, self.portfolio, title, text, self.clock(), severity=severity)
        )


def _placeable(snapshot: Snapshot, strategy: Strategy) -> bool:
    """Whether a plan from this snapshot has any order (a planning error is left to the cycle,
    which journals it)."""
    try:
        return bool(plan(snapshot, strategy).orders)
    except PlanningError:
        return True
