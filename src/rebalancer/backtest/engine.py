"""The backtest engine: one policy replayed bar by bar over one sim account.

At a bar the engine settles the funding due, checks cross-margin liquidation at the bar's
closes, asks the policy's trigger, and acts (every action plans through
`rebalancer.domain.planner.plan` on a `Snapshot` of the account). Bars where nothing can happen
are skipped: the vectorized `Scanner` projects the frozen account over blocks of bars and only
flagged bars are examined exactly, and after a bar examined without a change the search goes
on in the block already projected. With a cap slack, flagged bars where the scan proves that the
plan would hold every hedge are counted as cap-bound without planning (scan.py, `held`).
`run(..., scan=False)` examines every bar and makes every plan instead; both give identical
results, which the tests check.

A unified account (`RunSpec.account`) also accrues interest hourly (at the first bar of each
hour; every bar of daily data), on what it has borrowed at that bar's close, for the time since
the previous accrual, before that bar's funding, in both ways of replaying.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from rebalancer.backtest.actions import execute_plan, roll, spot_changes, trade_spot
from rebalancer.backtest.cron import fire_bars
from rebalancer.backtest.data import PriceTable, to_time
from rebalancer.backtest.funding import FundingPlan
from rebalancer.backtest.ledger import Ledger
from rebalancer.backtest.policy import Action, Trigger
from rebalancer.backtest.scan import Checks, Hold, Observation, Scanner
from rebalancer.backtest.setup import RunSpec, open_account, set_prices
from rebalancer.backtest.universe import Universe, band_limits
from rebalancer.backtest.view import float_state, perp_rules, snapshot_of
from rebalancer.domain.exposure import valuation
from rebalancer.domain.plan import CapState
from rebalancer.domain.planner import PlanningError, plan
from rebalancer.domain.roll import leverage_cap_binds
from rebalancer.domain.snapshot import Snapshot
from rebalancer.domain.strategy import RebalanceTo, hedge_lines
from rebalancer.domain.triggers import breaches
from rebalancer.sim import YEAR_SECONDS

FIRST_BLOCK = 256
LAST_BLOCK = 1 << 13  # larger blocks leave the cache: slower per bar


@dataclass(frozen=True, slots=True)
class Market:
    """The replay data shared by every run: closes, the universe read from them, funding."""

    prices: PriceTable
    universe: Universe
    funding: FundingPlan


@dataclass(frozen=True, slots=True)
class Series:
    """Per-bar observations before any action at the bar (float64, for metrics and plots)."""

    times: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    largest_drift: npt.NDArray[np.float64]
    gross: npt.NDArray[np.float64]
    futures: npt.NDArray[np.float64]
    cap_bound: npt.NDArray[np.bool_] | None
    borrowed: npt.NDArray[np.float64] | None = None  # unified: quote borrowed


@dataclass(frozen=True, slots=True)
class RunResult:
    spec: RunSpec
    series: Series
    ledger: Ledger
    final_value: Decimal
    holdings: tuple[tuple[str, Decimal], ...]  # final balances and positions, for comparisons


class _Replay:
    def __init__(self, spec: RunSpec, market: Market) -> None:
        self.spec = spec
        self.market = market
        self.u = market.universe
        self.closes = market.prices.closes
        listed = frozenset(i.symbol for i in self.u.instruments)
        if hedge_lines(spec.strategy, listed) != self.u.lines:
            raise ValueError("the run's targets differ from those the market was built for")
        self._rows: dict[int, tuple[Decimal, ...]] = {}
        self.rules = perp_rules(market.universe, spec.costs)
        self.account = open_account(spec, self.u, self.row(0))
        self.ledger = Ledger()
        self.settled = 0  # funding events settled so far
        self.accrued = 0  # unified: the bar up to which interest is accrued
        self.accrual: npt.NDArray[np.float64] | None = None
        self.accrual_bars = np.zeros(0, dtype=np.int64)
        if spec.unified:
            times = market.prices.times
            self.account.accrue_interest(to_time(times[0]))  # starts the interest clock
            self.accrual_bars, self.accrual = _accrual(times)
        action = spec.policy.action
        if spec.policy.trigger is Trigger.CALENDAR:
            if spec.cron is None:
                raise ValueError(f"policy {spec.policy.value} needs schedule.cron in the config")
            self.fires = fire_bars(spec.cron, spec.timezone, market.prices.times)
        else:
            self.fires = np.zeros(0, dtype=np.int64)
        self.drift_checks = _drift_checks(market.prices.times, spec.drift_check)
        self.checks = Checks(
            band=spec.policy.trigger is Trigger.BAND,
            limits=band_limits(spec.strategy, self.u.lines),
            floor=float(spec.margin_floor) if action is Action.ROLL else None,
            cap=_cap(spec) if spec.policy.hedges else None,
            hold=_hold(spec),
        )

    def row(self, bar: int) -> tuple[Decimal, ...]:
        """A bar's closes as Decimal: the shortest repr of the float is the file's own text."""
        row = self._rows.get(bar)
        if row is None:
            if len(self._rows) > 8:
                self._rows.clear()
            row = tuple(Decimal(repr(float(x))) for x in self.closes[bar])
            self._rows[bar] = row
        return row

    def scanner(self) -> Scanner:
        return Scanner(self.u, float_state(self.account, self.u), self.checks)

    def sync(self, bar: int) -> None:
        """Settle funding due up to `bar` (each event at its own mark) and set the bar's closes."""
        if self.accrual is not None:
            times = self.market.prices.times
            due = self.accrual_bars
            lo = int(np.searchsorted(due, self.accrued, "right"))
            hi = int(np.searchsorted(due, bar, "right"))
            for step in due[lo:hi].tolist():
                self._settle(step - 1)
                set_prices(self.account, self.u, self.row(step))  # the debt at the bar's close
                charge = self.account.accrue_interest(to_time(times[step]))
                if charge is not None:
                    self.ledger.charge(step, charge)
            self.accrued = max(self.accrued, bar)
        self._settle(bar)
        set_prices(self.account, self.u, self.row(bar))

    def _settle(self, bar: int) -> None:
        """Settle the funding events due up to `bar`, each at its own mark."""
        events = self.market.funding.events
        end = int(np.searchsorted(self.market.funding.bars, bar, "right"))
        for event in events[self.settled : end]:
            instrument = self.u.instruments[event.instrument]
            self.account.set_mark(instrument.symbol, self.row(event.mark_bar)[instrument.column])
            paid = self.account.apply_funding({instrument.symbol: event.rate}, to_time(event.time))
            self.ledger.funding(event.bar, paid)
        self.settled = max(self.settled, end)

    def snapshot(self, bar: int) -> Snapshot:
        times = self.market.prices.times
        at = to_time(times[bar])
        return snapshot_of(self.account, self.u, self.spec.costs, at, self.rules)

    def handle(self, bar: int) -> bool:
        """Examine one bar exactly; True when the account changed."""
        self.sync(bar)
        acted = False
        at = to_time(self.market.prices.times[bar])
        if self.account.positions() and self.account.is_liquidatable():
            self.ledger.liquidation(bar, self.account.liquidate(at))
            acted = True
        policy = self.spec.policy
        if policy.action is Action.ROLL and self._below_floor():
            self._roll(bar, "margin below the floor")
            return True
        snapshot: Snapshot | None = None  # one snapshot serves the trigger and the plan
        if policy.trigger is Trigger.CALENDAR:
            due = bool(np.any(self.fires == bar))
        elif policy.trigger is Trigger.BAND:
            due = self.drift_checks is None or bool(self.drift_checks[bar])
            if due:
                snapshot = self.snapshot(bar)
                due = self._breached(snapshot)
        else:
            due = False
        if not due:
            return acted
        if snapshot is None:
            snapshot = self.snapshot(bar)
        return self._act(bar, snapshot) or acted

    def _breached(self, snapshot: Snapshot) -> bool:
        try:
            value = valuation(self.spec.strategy, snapshot)
        except ValueError:
            return False
        return bool(breaches(value, self.spec.strategy.band))

    def _below_floor(self) -> bool:
        lines = self.account.margin_lines()
        if not lines:
            return False
        gross = sum((abs(line.size) * line.mark for line in lines), Decimal(0))
        return self.account.margin_balance() < self.spec.margin_floor * gross

    def _act(self, bar: int, snapshot: Snapshot) -> bool:
        strategy = self.spec.strategy
        try:
            wanted = plan(snapshot, strategy)
        except PlanningError as exc:
            self.ledger.note(bar, "skipped", str(exc))
            return False
        at = snapshot.taken_at
        action = self.spec.policy.action
        if action is Action.SPOT:
            changes = spot_changes(wanted, strategy)
            done = trade_spot(
                self.account,
                self.u,
                changes,
                min_trade=strategy.min_trade_notional,
                bar=bar,
                at=at,
                ledger=self.ledger,
            )
        else:
            if wanted.cap is not CapState.WITHIN:
                self.ledger.cap_bound += 1
                if action is Action.ROLL:  # as live with the default roll_on: cap or borrowing
                    why = (
                        f"cap {wanted.cap.value}"
                        if leverage_cap_binds(wanted)
                        else "borrowing exceeds max_borrow"
                    )
                    self._roll(bar, why)
                    return True
            done = execute_plan(self.account, wanted, bar, at, self.ledger)
        if done:
            self.ledger.rebalances += 1
            self.ledger.note(bar, "rebalance", f"{done} trades, cap {wanted.cap.value}")
        return done > 0

    def _roll(self, bar: int, why: str) -> None:
        at = to_time(self.market.prices.times[bar])
        roll(
            self.account,
            self.u,
            self.spec.strategy,
            lambda: self.snapshot(bar),
            bar=bar,
            at=at,
            ledger=self.ledger,
        )
        self.ledger.rebalances += 1
        self.ledger.note(bar, "roll", why)


def _accrual(
    times: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Interest accrues hourly: at the first bar of each hour (every bar when bars are an hour
    or longer apart), for the time since the previous accrual. Returns those bars and, per bar,
    the share of a year it accrues for (0 on the others)."""
    hours = times // 3_600
    first = np.zeros(len(times), dtype=bool)
    first[1:] = hours[1:] != hours[:-1]
    bars = np.flatnonzero(first).astype(np.int64)
    years = np.zeros(len(times), dtype=np.float64)
    if len(bars):
        previous = np.concatenate(([times[0]], times[bars[:-1]]))
        years[bars] = (times[bars] - previous).astype(np.float64) / YEAR_SECONDS
    return bars, years


def _drift_checks(times: npt.NDArray[np.int64], every: int) -> npt.NDArray[np.bool_] | None:
    """Bars that are the first of each drift-check interval (None when every bar is one)."""
    if every <= 0 or len(times) < 2 or every <= int(np.min(np.diff(times))):
        return None
    ticks = times // every
    first = np.ones(len(times), dtype=bool)
    first[1:] = ticks[1:] != ticks[:-1]
    return first


def _hold(spec: RunSpec) -> Hold | None:
    """The cap slack's terms, where the scan can prove that a plan holds
    every hedge (scan.py, `held`): the overlay on the band trigger, to target, with no borrowing
    limit."""
    strategy = spec.strategy
    policy = spec.policy
    if (
        not strategy.cap_slack
        or policy.trigger is not Trigger.BAND
        or policy.action is not Action.OVERLAY
        or strategy.rebalance_to is not RebalanceTo.TARGET
        or (spec.unified and strategy.max_borrow is not None)
    ):
        return None
    return Hold(
        float(strategy.cap_slack), float(strategy.min_trade_notional), float(strategy.max_leverage)
    )


def _cap(spec: RunSpec) -> float:
    strategy = spec.strategy
    return float(strategy.max_leverage * (1 - strategy.collateral_buffer))


class _Recorder:
    def __init__(self, bars: int, cap: bool) -> None:
        self.value = np.zeros(bars)
        self.largest = np.zeros(bars)
        self.gross = np.zeros(bars)
        self.futures = np.zeros(bars)
        self.cap = np.zeros(bars, dtype=bool) if cap else None
        self.borrowed: npt.NDArray[np.float64] | None = None

    def store(self, start: int, obs: Observation) -> None:
        end = start + len(obs.value)
        self.value[start:end] = obs.value
        self.largest[start:end] = obs.largest_drift
        self.gross[start:end] = obs.gross
        self.futures[start:end] = obs.futures
        if self.cap is not None and obs.cap_bound is not None:
            self.cap[start:end] = obs.cap_bound
        if obs.borrowed is not None:
            if self.borrowed is None:
                self.borrowed = np.zeros(len(self.value))
            self.borrowed[start:end] = obs.borrowed


def run(spec: RunSpec, market: Market, *, scan: bool = True) -> RunResult:
    """Replay `spec` over `market`; `scan=False` examines every bar (the reference loop)."""
    replay = _Replay(spec, market)
    closes = market.prices.closes
    funding = market.funding.matrix
    bars = len(closes)
    recorder = _Recorder(bars, replay.checks.cap is not None)
    scanner = replay.scanner()
    wallet = float(replay.account.wallet_balance)
    accrual = replay.accrual
    recorder.store(0, scanner.observe(closes[0:1], None, wallet, None, _part(accrual, 0, 1)))
    block = FIRST_BLOCK
    start = 1
    while start < bars:
        end = min(bars, start + block) if scan else start + 1
        obs = scanner.observe(
            closes[start:end],
            None if funding is None else funding[start:end],
            wallet,
            None if replay.drift_checks is None else replay.drift_checks[start:end],
            _part(accrual, start, end),
        )
        recorder.store(start, obs)
        # Bars of this block after one examined without a change are still the frozen account's
        # projection (bit-identical to observing them afresh), so the search goes on in it.
        after = start
        changed = False
        while not changed:
            if scan:
                bar = _first_candidate(obs, replay.fires, start, end, after)
            else:
                bar = after if after < end else None
            if bar is None:
                break
            if scan and obs.held is not None and obs.held[bar - start]:
                # The plan would hold every hedge within the cap slack: nothing to examine.
                replay.ledger.cap_bound += 1
                after = bar + 1
                continue
            changed = replay.handle(bar)
            after = bar + 1
        if not changed:
            wallet = float(obs.wallet[-1])
            start = end
            block = min(block * 2, LAST_BLOCK)
            continue
        scanner = replay.scanner()
        wallet = float(replay.account.wallet_balance)
        block = FIRST_BLOCK
        start = after
    replay.sync(bars - 1)
    return _result(replay, recorder, market)


def _part(
    array: npt.NDArray[np.float64] | None, start: int, end: int
) -> npt.NDArray[np.float64] | None:
    return None if array is None else array[start:end]


def _first_candidate(
    obs: Observation, fires: npt.NDArray[np.int64], start: int, end: int, after: int
) -> int | None:
    """The first bar in [after, end) that the scan flags or the calendar fires at (the block
    `obs` observed starts at `start`)."""
    found: int | None = None
    if obs.candidates is not None:
        rest = obs.candidates[after - start :]
        if rest.any():
            found = after + int(np.argmax(rest))
    nxt = int(np.searchsorted(fires, after, "left"))
    if nxt < len(fires) and fires[nxt] < end:
        fire = int(fires[nxt])
        found = fire if found is None else min(found, fire)
    return found


def _result(replay: _Replay, recorder: _Recorder, market: Market) -> RunResult:
    account = replay.account
    last = replay.row(len(market.prices.times) - 1)
    prices = {a.name: last[a.column] for a in market.universe.assets}
    holdings = [(b.asset, b.total) for b in account.spot.balances() if b.total]
    holdings += [(p.symbol, p.size) for p in account.positions()]
    holdings.append(("futures wallet", account.wallet_balance))
    series = Series(
        market.prices.times,
        recorder.value,
        recorder.largest,
        recorder.gross,
        recorder.futures,
        recorder.cap,
        recorder.borrowed,
    )
    return RunResult(
        replay.spec, series, replay.ledger, account.equity(prices), tuple(sorted(holdings))
    )
