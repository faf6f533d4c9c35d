"""One rebalance cycle: snapshot -> plan -> execute -> post-trade check, all journaled.

Modes: `live` and `paper` place orders (paper on a simulated account); `dry-run` reads the
real account, plans and journals, and calls no order, leverage or margin endpoint. Any failure
ends the run FAILED with its reason; nothing is retried blindly (the next cycle plans from the
exchange's truth). A journal that fails mid-way (`JournalUnavailable`) ends the cycle at
once, saying which run it interrupted and whether that run may have sent orders.

The trading gate (kill switch and circuit breaker) is checked before anything is read, again
before the first write (leverage, margin mode) and before each order phase: a trading run on a
stopped portfolio is journaled as SKIPPED with the refusal and sends nothing; a dry-run still
reads and plans, and says the portfolio is stopped.

The policies (`[policy]`, off by default) are decided here, in every run whoever calls it
(`once`, the daemon, fleet jobs): a roll an earlier run left between its closes and its spot
orders is finished first (instead of planning the hedges again); else the roll policy decides,
and a performed roll is journaled whole (`roll_planned`) before its first order; then the
top-up policy. What each did, or was about to do, is in `CycleResult.policies` to notify.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

import structlog

from rebalancer.config import Settings
from rebalancer.domain.carry import with_carry
from rebalancer.domain.lifecycle import RunState
from rebalancer.domain.limits import limit_violations
from rebalancer.domain.market import MarketRules
from rebalancer.domain.plan import Plan, Side
from rebalancer.domain.planner import PlanningError, plan
from rebalancer.domain.roll import (
    RollDecision,
    RollRecord,
    RollStage,
    decide_roll,
    describe_roll,
    describe_spot,
    resumed_record,
    roll_progress,
    roll_record,
    rolled_plan,
    spot_orders,
)
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import Strategy
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.exchange.port import ExchangeGateway, OrderReport, OrderState, is_spot
from rebalancer.service.controls import TradingGate, TradingStopped
from rebalancer.service.executor import STATUS_OF, Execution, UnsafePlan, execute, execute_spot
from rebalancer.service.ids import new_run_id
from rebalancer.service.journal import Event, Journal, JournalUnavailable, RunStart
from rebalancer.service.policy_notes import PolicyNote
from rebalancer.service.roll import ROLL_FINISHED, ROLL_PLANNED, open_roll, record_to_data
from rebalancer.service.top_up import TopUpOutcome
from rebalancer.service.top_up import top_up as move_quote

Clock = Callable[[], datetime]
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CycleResult:
    run_id: str
    state: RunState
    plan: Plan | None = None
    before: Snapshot | None = None
    after: Snapshot | None = None
    residual: Plan | None = None  # the plan the post-trade snapshot would call for
    reports: tuple[OrderReport, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    refused: bool = False  # trading is halted or the circuit is open: nothing was sent
    roll: RollDecision | None = None  # the roll policy's decision, when it is enabled
    policies: tuple[PolicyNote, ...] = ()  # what a policy did or was about to (to notify)

    @property
    def unresolved(self) -> tuple[str, ...]:
        """Client ids of orders whose outcome is still unknown (the circuit must open)."""
        return tuple(r.client_id for r in self.reports if r.state is OrderState.UNKNOWN)

    @property
    def ok(self) -> bool:
        return self.state is RunState.COMPLETED


def make_plan(settings: Settings, snapshot: Snapshot) -> Plan:
    """The plan for a snapshot with its hedge-or-sell figures: what `plan`, `once`, the daemon
    and fleet jobs all journal and print."""
    strategy = settings.strategy
    planned = plan(snapshot, strategy)
    return with_carry(planned, snapshot, strategy, settings.carry, settings.cost_basis)


def instruments_of(strategy: Strategy) -> list[str]:
    """Every perp the strategy may trade: each asset's hedge and each group's index."""
    names = [h.instrument for h in strategy.hedges.values()]
    names += [g.index for g in strategy.groups if g.index]
    return sorted(set(names))


async def read_snapshot(settings: Settings, gateway: ExchangeGateway) -> Snapshot:
    """The account as the portfolio sees it: its assets, every perp it may trade, and its
    off-exchange holdings."""
    strategy = settings.strategy
    return await gateway.snapshot(
        sorted(strategy.weights), instruments_of(strategy), settings.config.portfolio.off_exchange
    )


@dataclass
class _Run:
    """The context of one run: what it trades through, where it is recorded, how far it got."""

    run_id: str
    settings: Settings
    gateway: ExchangeGateway
    journal: Journal
    clock: Clock
    gate: TradingGate
    mode: str
    state: RunState = RunState.STARTED
    executed: bool = False  # reached EXECUTING: orders may have left
    balances_moved: bool = False  # quote moved between wallets (top-up): read them again
    stopped: str | None = None  # why the run ended before trading, where it did
    top_up_again: bool = True  # the top-up policy may move quote in this run

    def advance(self, state: RunState, error: str | None = None) -> None:
        self.journal.advance_run(self.run_id, state, self.clock(), error=error)
        self.state = state

    def event(self, kind: str, message: str) -> None:
        self.journal.record_event(Event(self.run_id, self.clock(), kind, message))

    def refuse(self, stopped: TradingStopped, partial: CycleResult | None = None) -> CycleResult:
        """Close the run SKIPPED because trading is stopped (nothing was sent)."""
        why = str(stopped)
        self.event("trading_refused", why)
        self.advance(RunState.SKIPPED, why)
        log.info("trading_refused", reason=why)
        base = partial or CycleResult(self.run_id, RunState.SKIPPED)
        return replace(base, state=RunState.SKIPPED, error=why, refused=True)

    def fail(self, error: str, partial: CycleResult | None = None) -> CycleResult:
        """Close the run FAILED (if still open); `partial` carries what it got as far as."""
        if not self.state.terminal:
            self.advance(RunState.FAILED, error)
        log.error("run_failed", error=error)
        base = partial or CycleResult(self.run_id, RunState.FAILED)
        return replace(base, state=RunState.FAILED, error=error)


async def run_cycle(
    settings: Settings,
    gateway: ExchangeGateway,
    journal: Journal,
    clock: Clock,
    *,
    gate: TradingGate,
    mode: str,
    trigger: str = "manual",
    reason: str = "requested by the user",
    snapshot: Snapshot | None = None,
    top_up: bool = True,
) -> CycleResult:
    """Run one cycle; `snapshot`, when given, is a fresh read to plan from (no second read).
    `top_up=False`: the daemon already moved quote in this margin alert (once per alert)."""
    portfolio = settings.config.portfolio
    run = _Run(new_run_id(clock()), settings, gateway, journal, clock, gate, mode)
    run.top_up_again = top_up
    structlog.contextvars.bind_contextvars(run_id=run.run_id)
    try:
        journal.start_run(RunStart(run.run_id, portfolio.name, mode, trigger, reason, clock()))
        log.info("run_started", mode=mode, trigger=trigger, reason=reason)
        return await _cycle(run, snapshot)
    except JournalUnavailable as exc:
        # Orders leave only from EXECUTING, each after its intent committed.
        sent = run.state is RunState.EXECUTING
        log.error("run_interrupted", error=exc.cause, orders_may_be_sent=sent)
        raise exc.during(run.run_id, orders_may_be_sent=sent) from exc
    finally:
        structlog.contextvars.unbind_contextvars("run_id")


async def _cycle(run: _Run, snapshot: Snapshot | None) -> CycleResult:
    settings, journal = run.settings, run.journal
    before: Snapshot | None = None
    planned: Plan | None = None
    try:
        controls = run.gate.controls()
        notes: tuple[str, ...] = ()
        if not controls.trading_allowed:
            if run.mode != "dry-run":
                return run.refuse(TradingStopped(controls))
            notes = (f"the portfolio is stopped: {controls.refusal()}",)
            run.event("trading_stopped", controls.refusal())
        before = snapshot or await read_snapshot(settings, run.gateway)
        journal.record_snapshot(run.run_id, before, phase="before")
        run.advance(RunState.SNAPSHOT)
        planned = make_plan(settings, before)
        decision: RollDecision | None = None
        record = _open_roll(run)  # a roll an earlier run left between its closes and its spot
        policies: list[PolicyNote] = []
        if record is not None:  # this run finishes it instead of re-planning the hedges
            planned = replace(planned, orders=())
            policies.append(PolicyNote("roll", run.mode != "dry-run", _resuming(run, record)))
        else:
            decision = _roll_policy(run, planned, before)
            if decision is not None and _performs(run, decision):
                planned, record = await _rolling(run, decision, planned, before)
        journal.record_plan(run.run_id, planned)
        run.advance(RunState.PLANNED)
        log.info("plan_made", orders=len(planned.orders), cap=planned.cap.value)
        topped = await _top_up(run, before)
        if topped is not None:
            notes = (*notes, topped.text)
            if topped.notable:
                policies.append(PolicyNote("top-up", topped.acted, topped.text))
        result = await _act(run, planned, before, notes, record)
        if decision is not None and decision.acts:
            said = f"policy roll due: {describe_roll(decision, planned.quote)}"
            policies.append(_roll_note(run, decision, record, planned.quote))
            result = replace(result, notes=(*result.notes, said))
        return replace(result, roll=decision, policies=tuple(policies))
    except TradingStopped as stopped:  # a halt between the leverage settings and the orders
        return run.fail(str(stopped), CycleResult(run.run_id, RunState.FAILED, planned, before))
    except (ExchangeFailure, PlanningError, UnsafePlan) as exc:
        partial = CycleResult(run.run_id, RunState.FAILED, planned, before)
        return run.fail(f"{type(exc).__name__}: {exc}", partial)


def _roll_policy(run: _Run, planned: Plan, before: Snapshot) -> RollDecision | None:
    """Decide the roll policy for this run and journal the decision (None: policy off).

    A roll that is due is performed by a trading run (`_trade`: its hedges close through the
    executor, then spot trades to target); a dry-run journals what it would do.
    """
    settings = run.settings
    if not settings.roll.enabled:
        return None
    figures = planned.carry.lines if planned.carry is not None else ()
    decision = decide_roll(planned, before, settings.strategy, figures, settings.roll)
    if not decision.acts:
        run.event("policy_roll_idle", "roll: no condition holds")
        return decision
    text = describe_roll(decision, planned.quote)
    if run.mode == "dry-run":
        run.event("policy_roll_due", f"dry-run: would roll: {text}")
    elif not run.gateway.spot_orders:  # config refuses this; never guessed at
        run.event("policy_roll_due", f"roll due, not performed (no spot orders here): {text}")
    else:
        run.event("policy_roll_due", f"roll due: {text}")
    log.warning("roll_due", lines=[r.line for r in decision.lines], mode=run.mode)
    return decision


def _performs(run: _Run, decision: RollDecision) -> bool:
    return decision.acts and run.mode != "dry-run" and run.gateway.spot_orders


async def _rolling(
    run: _Run, decision: RollDecision, planned: Plan, before: Snapshot
) -> tuple[Plan, RollRecord | None]:
    """The plan of a run that rolls, and the roll's record (journaled before any order): the
    placeable lines' hedges close first, then their spot orders, numbered after the closes."""
    placeable = await _placeable(run, decision, before)
    if placeable is None:
        return planned, None
    rolling, rules = placeable
    planned = rolled_plan(planned, before, rolling)
    first = max((o.leg for o in planned.orders), default=0) + 1
    lines = [r.line for r in rolling.lines]
    orders, skips = spot_orders(rolling, before, rules, lines=lines, first_leg=first)
    for skip in skips:
        run.event(
            "policy_roll_skipped", f"{skip.line}: {skip.asset} {skip.value:+.2f}: {skip.reason}"
        )
    return planned, roll_record(run.run_id, rolling, planned, orders, run.gateway.client_id)


def _open_roll(run: _Run) -> RollRecord | None:
    """The record this run sends to finish a roll an earlier run left open (its hedges closed,
    its spot orders not all answered), or None. A void or complete roll is closed here; an
    order of unknown outcome stops the run (recovery looks it up first)."""
    found = open_roll(run.journal, run.settings.config.portfolio.name)
    if found is None:
        return None
    record, progress = found
    origin = record.resumes or record.run_id
    dry = run.mode == "dry-run"
    if progress.stage is RollStage.UNRESOLVED:
        raise UnsafePlan(
            f"the roll of run {origin} has an order of unknown outcome; run `rebalancer "
            "reconcile` when the exchange answers"
        )
    if progress.stage is not RollStage.PENDING:
        if not dry:
            _finish_roll(run, record, f"roll of run {origin}: {progress.stage.value}")
        return None
    pending = describe_spot(progress.pending)
    if not dry and not (run.settings.roll.enabled and run.gateway.spot_orders):
        why = "policy roll is off now" if not run.settings.roll.enabled else "no spot orders here"
        _finish_roll(run, record, f"roll of run {origin} abandoned ({why}): not sent: {pending}")
        return None
    return resumed_record(record, progress, run.run_id, run.gateway.client_id)


def _resuming(run: _Run, record: RollRecord) -> str:
    text = (
        f"the roll of run {record.resumes}: its hedges closed, its spot not traded yet: "
        f"{describe_spot([s.order for s in record.spot])}"
    )
    if run.mode == "dry-run":
        run.event("policy_roll_due", f"dry-run: would finish {text}")
        return f"roll due: dry-run: would finish {text}"
    run.event("policy_roll_resumed", f"finishing {text}")
    log.warning("roll_resumed", roll=record.resumes)
    return f"roll: finishing {text}"


def _finish_roll(run: _Run, record: RollRecord, message: str) -> None:
    run.journal.record_event(
        Event(run.run_id, run.clock(), ROLL_FINISHED, message, {"roll": record.run_id})
    )


def _roll_note(
    run: _Run, decision: RollDecision, record: RollRecord | None, quote: str
) -> PolicyNote:
    """What the roll policy did in this run, for the notifier: acted, or due and not done."""
    if record is not None and run.executed:
        rolled = {line.line for line in record.lines}
        performed = replace(decision, lines=tuple(r for r in decision.lines if r.line in rolled))
        return PolicyNote("roll", True, f"rolled: {describe_roll(performed, quote)}")
    if run.mode == "dry-run":
        why = "dry-run"
    elif not run.gateway.spot_orders:
        why = "no spot orders on this venue"
    elif record is None:
        why = "its spot trades cannot be placed; hedges kept"
    else:
        why = f"the run ended before trading: {run.stopped or 'see its events'}"
    return PolicyNote(
        "roll", False, f"roll due, not performed ({why}): {describe_roll(decision, quote)}"
    )


async def _top_up(run: _Run, before: Snapshot) -> TopUpOutcome | None:
    """The top-up policy in this run, journaled (None: the policy is off)."""
    outcome = await move_quote(
        run.settings, run.gateway, run.gate, before, mode=run.mode, again=run.top_up_again
    )
    if outcome is None:
        return None
    run.event(outcome.kind, outcome.text)
    if outcome.acted:
        run.balances_moved = True
        log.warning("futures_topped_up", amount=str(outcome.moved))
    return outcome


async def _act(
    run: _Run,
    planned: Plan,
    before: Snapshot,
    notes: tuple[str, ...],
    roll: RollRecord | None = None,
) -> CycleResult:
    """What a planned run does: refuse it (limits, a halt), end it (nothing to send), or trade."""
    safety = run.settings.config.safety
    refused = limit_violations(
        planned,
        max_order=safety.max_order_notional,
        max_cycle=safety.max_cycle_notional,
        spot=_spot_values(roll),
    )
    if refused:
        why = "plan refused by safety limits: " + "; ".join(refused)
        run.event("plan_refused", why)
        run.stopped = why
        return run.fail(why, CycleResult(run.run_id, RunState.FAILED, planned, before))
    if run.mode == "dry-run" or (not planned.orders and roll is None):
        note = "dry-run: nothing placed" if run.mode == "dry-run" else "nothing to trade"
        run.event("run_completed", note)
        run.advance(RunState.COMPLETED)
        return CycleResult(run.run_id, RunState.COMPLETED, planned, before, notes=(note, *notes))
    try:
        run.gate.check()  # halted while this cycle read and planned
    except TradingStopped as stopped:
        run.stopped = str(stopped)
        return run.refuse(stopped, CycleResult(run.run_id, RunState.SKIPPED, planned, before))
    result = await _trade(run, planned, before, roll)
    return replace(result, notes=(*result.notes, *notes))


def _spot_values(roll: RollRecord | None) -> dict[str, Decimal]:
    """Per asset, the spot value a roll trades (signed: sales negative), over its orders."""
    values: dict[str, Decimal] = {}
    for spot in roll.spot if roll is not None else ():
        order = spot.order
        value = order.notional if order.side is Side.BUY else -order.notional
        values[order.asset] = values.get(order.asset, Decimal(0)) + value
    return values


async def _trade(
    run: _Run, planned: Plan, before: Snapshot, roll: RollRecord | None = None
) -> CycleResult:
    run.advance(RunState.EXECUTING)
    run.executed = True
    gateway = run.gateway
    if roll is not None:  # the whole roll, journaled before its first order leaves
        run.journal.record_event(
            Event(run.run_id, run.clock(), ROLL_PLANNED, _recorded(roll), record_to_data(roll))
        )
    if planned.orders:
        traded = sorted({o.instrument for o in planned.orders})
        for change in await gateway.prepare(traded, run.settings.config.hedging.margin_mode):
            run.event("instrument_prepared", change)
        execution = await execute(
            planned, run.run_id, gateway, run.journal, run.clock, gate=run.gate
        )
    else:
        execution = Execution((), (), ())
    if roll is not None:
        execution = await _roll_spot(run, roll, execution)
    spot_traded = any(is_spot(r.instrument) for r in execution.reports)
    if spot_traded or run.balances_moved:  # balances moved: read the whole account again
        after = await read_snapshot(run.settings, gateway)
    else:
        after = await gateway.refresh_positions(before)
    run.journal.record_snapshot(run.run_id, after, phase="after")
    residual = plan(after, run.settings.strategy)
    done = CycleResult(
        run.run_id, RunState.COMPLETED, planned, before, after, residual, execution.reports
    )
    failure = _execution_error(execution)
    if failure is None and execution.stopped is not None:
        failure = f"increases not sent: {execution.stopped}"
    if failure is not None:
        return run.fail(failure, done)
    run.advance(RunState.COMPLETED)
    log.info("run_completed", orders=len(execution.reports))
    notes = ("increases withheld: see events",) if execution.withheld else ()
    return replace(done, notes=notes)


def _recorded(roll: RollRecord) -> str:
    closes = ", ".join(c for line in roll.lines for c in line.closes) or "none (closed before)"
    lines = ", ".join(f"{line.line} ({', '.join(line.reasons)})" for line in roll.lines)
    spot = describe_spot([s.order for s in roll.spot])
    finishing = f"finishing run {roll.resumes}'s roll; " if roll.resumes else ""
    return f"roll recorded: {finishing}lines {lines}; closes {closes}; spot {spot}"


async def _placeable(
    run: _Run, decision: RollDecision, before: Snapshot
) -> tuple[RollDecision, Mapping[str, MarketRules | None]] | None:
    """The due rolls whose spot trades can all be placed now, with the spot markets' rules; a
    line with a trade the spot market would not take (no market, below its minimums, nothing
    held on the exchange to sell) keeps its hedge: closing it without the trade would leave the
    line off target, and the next cycle would hedge it again."""
    assets = sorted({a for r in decision.lines for a in r.spot})
    rules = await run.gateway.spot_rules(assets) if assets else {}
    names = [r.line for r in decision.lines]
    _, skips = spot_orders(decision, before, rules, lines=names, first_leg=0)
    for skip in skips:
        why = f"{skip.line}: {skip.asset} {skip.value:+.2f}: {skip.reason}; hedge kept"
        run.event("policy_roll_skipped", why)
    kept = {s.line for s in skips}
    lines = tuple(r for r in decision.lines if r.line not in kept)
    return (replace(decision, lines=lines), rules) if lines else None


async def _roll_spot(run: _Run, roll: RollRecord, execution: Execution) -> Execution:
    """The roll's second step: spot to target on each rolled line whose hedge closed in full
    (its closing orders all filled); a line whose close did not fill trades no spot. The
    roll's record is closed once every spot order has its answer; a halt or an unknown
    outcome leaves it open, for the next run to finish."""
    statuses = {r.client_id: STATUS_OF[r.state] for r in execution.reports}
    progress = roll_progress(roll, statuses)
    if progress.stage is RollStage.UNRESOLVED:
        run.event(
            "policy_roll_withheld",
            "spot orders wait: a close has an unknown outcome; the next run finishes the roll "
            "once it is looked up",
        )
        return execution
    for line in roll.lines:
        if line.line not in progress.closed:
            run.event(
                "policy_roll_withheld", f"{line.line}: its hedge did not close in full; no spot"
            )
    if progress.stage is not RollStage.PENDING:
        _finish_roll(run, roll, f"roll: {progress.stage.value}")
        return execution
    orders = progress.pending
    try:
        sent = await execute_spot(
            orders, run.run_id, run.gateway, run.journal, run.clock, gate=run.gate
        )
    except TradingStopped as stopped:
        run.event(
            "trading_refused",
            f"spot orders of the roll not sent: {stopped}; the next trading run sends them",
        )
        stopped_why = execution.stopped or f"spot orders of the roll not sent: {stopped}"
        return replace(execution, stopped=stopped_why)
    for order, report in zip(orders, sent, strict=True):
        verb = "sold" if order.side is Side.SELL else "bought"
        run.event(
            "policy_roll_spot",
            f"{order.line}: {verb} {report.filled} {order.asset} ({report.state.value}) "
            f"as {report.client_id}",
        )
    statuses.update({r.client_id: STATUS_OF[r.state] for r in sent})
    if roll_progress(roll, statuses).stage is RollStage.DONE:
        _finish_roll(run, roll, f"roll: {RollStage.DONE.value}")
    unknown = tuple(r.client_id for r in sent if r.state is OrderState.UNKNOWN)
    return replace(
        execution,
        reports=(*execution.reports, *sent),
        unresolved=(*execution.unresolved, *unknown),
    )


def _execution_error(execution: Execution) -> str | None:
    """Why a cycle whose orders were sent did not rebalance, if it did not."""
    if execution.unresolved:
        return (
            f"{len(execution.unresolved)} order(s) with unknown outcome: "
            f"{', '.join(execution.unresolved)}; reconcile before trading again"
        )
    refused = [r for r in execution.reports if r.state is OrderState.REJECTED]
    if refused:
        return f"{len(refused)} order(s) rejected: " + "; ".join(
            f"{r.client_id} {r.error}" for r in refused
        )
    return None
