"""Many runs over the same data: the policy x parameter grid, run on every core.

`--sweep band=0.02,0.05 --sweep policy=overlay-band,roll` expands to the cartesian product of
the listed values. Runs go to a `ProcessPoolExecutor`; large price arrays reach the workers as
a memory-mapped `.npy` file rather than a copy per worker. Results come back in grid order
and `ranked` sorts them by final value.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from rebalancer.backtest.data import PriceTable
from rebalancer.backtest.engine import Market, run
from rebalancer.backtest.metrics import Metrics, compute
from rebalancer.backtest.policy import POLICY_NAMES, Action, Policy
from rebalancer.backtest.setup import RunSpec
from rebalancer.backtest.summary import ReportSeries, report_series
from rebalancer.domain.snapshot import AccountKind
from rebalancer.domain.strategy import Band, HedgeLine, RebalanceTo

SHARE_BY_FILE = 32 * 1024 * 1024  # bytes of closes above which workers map a file


class SweepError(ValueError):
    """A --sweep or --policy value that cannot be used (the message says which and why)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    params: tuple[tuple[str, str], ...]
    metrics: Metrics
    series: ReportSeries | None


def _decimal(key: str, text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise SweepError(f"--sweep {key}: {text!r} is not a number") from None


def _optional(key: str, text: str) -> Decimal | None:
    return None if text.lower() == "none" else _decimal(key, text)


def _band(spec: RunSpec, text: str) -> RunSpec:
    band = Band(_optional("band", text), spec.strategy.band.relative)
    return replace(spec, strategy=replace(spec.strategy, band=band))


def _band_rel(spec: RunSpec, text: str) -> RunSpec:
    band = Band(spec.strategy.band.absolute, _optional("band-rel", text))
    return replace(spec, strategy=replace(spec.strategy, band=band))


def _rebalance(spec: RunSpec, text: str) -> RunSpec:
    strategy = replace(spec.strategy, rebalance_to=_rebalance_to(text))
    return replace(spec, strategy=strategy)


def _leverage(spec: RunSpec, text: str) -> RunSpec:
    strategy = replace(spec.strategy, max_leverage=_decimal("max-leverage", text))
    return replace(spec, strategy=strategy)


def _buffer(spec: RunSpec, text: str) -> RunSpec:
    strategy = replace(spec.strategy, collateral_buffer=_decimal("collateral-buffer", text))
    return replace(spec, strategy=strategy)


def _cap_slack(spec: RunSpec, text: str) -> RunSpec:
    strategy = replace(spec.strategy, cap_slack=_decimal("cap-slack", text))
    return replace(spec, strategy=strategy)


def _min_trade(spec: RunSpec, text: str) -> RunSpec:
    strategy = replace(spec.strategy, min_trade_notional=_decimal("min-trade", text))
    return replace(spec, strategy=strategy)


def _fee(spec: RunSpec, text: str) -> RunSpec:
    return replace(spec, costs=replace(spec.costs, perp_fee=_decimal("fee", text)))


def _spot_fee(spec: RunSpec, text: str) -> RunSpec:
    return replace(spec, costs=replace(spec.costs, spot_fee=_decimal("spot-fee", text)))


def _slippage(spec: RunSpec, text: str) -> RunSpec:
    return replace(spec, costs=replace(spec.costs, slippage_bps=_decimal("slippage", text)))


def _account(spec: RunSpec, text: str) -> RunSpec:
    try:
        return replace(spec, account=AccountKind(text))
    except ValueError:
        raise SweepError(f"--sweep account: {text!r} is not unified or segregated") from None


ACCOUNT_NAMES = tuple(k.value for k in AccountKind)


def _rebalance_to(text: str) -> RebalanceTo:
    try:
        return RebalanceTo(text)
    except ValueError:
        raise SweepError(f"--sweep rebalance-to: {text!r} is not target or band") from None


SETTERS: dict[str, Callable[[RunSpec, str], RunSpec]] = {
    "band": _band,
    "band-rel": _band_rel,
    "rebalance-to": _rebalance,
    "max-leverage": _leverage,
    "collateral-buffer": _buffer,
    "cap-slack": _cap_slack,
    "min-trade": _min_trade,
    "fee": _fee,
    "spot-fee": _spot_fee,
    "slippage": _slippage,
    "margin-floor": lambda s, t: replace(s, margin_floor=_decimal("margin-floor", t)),
    "equity": lambda s, t: replace(s, equity=_decimal("equity", t)),
    "account": _account,
}
SWEEP_KEYS = ("policy", *SETTERS)


def parse_sweeps(texts: Sequence[str]) -> list[tuple[str, list[str]]]:
    """`KEY=V1,V2` items as (key, values), keys checked and unique."""
    axes: list[tuple[str, list[str]]] = []
    for text in texts:
        key, sep, values = text.partition("=")
        key = key.strip().replace("_", "-")
        if not sep or key not in SWEEP_KEYS:
            raise SweepError(
                f"--sweep {text!r}: use KEY=V1,V2 with KEY one of {', '.join(SWEEP_KEYS)}"
            )
        if any(k == key for k, _ in axes):
            raise SweepError(f"--sweep {key} is given twice; list all its values once")
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not items:
            raise SweepError(f"--sweep {key}: no values")
        axes.append((key, items))
    return axes


def expand(base: RunSpec, policies: Sequence[str], sweeps: Sequence[str]) -> list[RunSpec]:
    """Every combination of the policies and the swept values, as named run specs."""
    axes = parse_sweeps(sweeps)
    if any(key == "policy" for key, _ in axes):
        if policies:
            raise SweepError("give policies either with --policy or with --sweep policy=, not both")
    else:
        axes.insert(0, ("policy", list(policies) or list(POLICY_NAMES)))
    for key, values in axes:
        if key == "policy":
            unknown = [v for v in values if v not in POLICY_NAMES]
            if unknown:
                raise SweepError(
                    f"unknown policy {unknown[0]!r}; use one of {', '.join(POLICY_NAMES)}"
                )
    specs = []
    for combo in itertools.product(*(values for _, values in axes)):
        spec = base
        params = []
        for (key, _), value in zip(axes, combo, strict=True):
            if key == "policy":
                spec = replace(spec, policy=Policy(value))
                continue
            try:
                spec = SETTERS[key](spec, value)
            except ValueError as exc:
                raise SweepError(f"--sweep {key}={value}: {exc}") from None
            params.append((key, value))
        label = " ".join([spec.policy.value, *(f"{k}={v}" for k, v in params)])
        specs.append(replace(spec, name=label, params=tuple(params)))
    return specs


def band_notes(specs: Sequence[RunSpec], lines: Sequence[HedgeLine]) -> list[str]:
    """A note for each set of swept bands that give every hedgeable line the same drift band.

    A line breaches when its drift passes the absolute band or the relative one times its
    weight: the tighter of the two decides. Bands with the same tighter limit on every line
    trigger and rebalance alike, so their runs differ only in name; the note says why, since a
    table of identical rows otherwise reads as a bug.
    """
    hedged = [line.weight for line in lines if line.hedgeable]
    by_width: dict[tuple[Decimal | None, ...], list[Band]] = {}
    for band in dict.fromkeys(spec.strategy.band for spec in specs):
        widths = tuple(band.half_width(weight) for weight in hedged)
        by_width.setdefault(widths, []).append(band)
    notes = []
    for bands in by_width.values():
        if len(bands) > 1:
            named = ", ".join(
                f"band={_text(b.absolute)} band-rel={_text(b.relative)}" for b in bands
            )
            notes.append(
                f"{named} give every hedged line the same drift band (the tighter of band and "
                "band-rel x its weight): their runs trade alike"
            )
    return notes


# A capped overlay that rebalanced at least this often, mostly at cap-bound wake-ups, and with
# no cap slack, gets a note: its rebalances are the cap traded back and forth.
CHURN_REBALANCES = 50
CHURN_NAMED = 3


def cap_churn_notes(specs: Sequence[RunSpec], outcomes: Sequence[Outcome]) -> list[str]:
    """A note when overlay runs without a cap slack rebalanced mostly while the cap bound.

    While the wanted hedges do not fit under the 1x cap, each price move pushes the gross a
    little over or under it, and every check trades it back (planner.py, "cap slack"): many
    small trades. The note says so and names the setting that holds the hedges instead.
    """
    by_name = {spec.name: spec for spec in specs}
    churned = []
    for outcome in outcomes:
        spec = by_name.get(outcome.name)
        m = outcome.metrics
        if (
            spec is not None
            and spec.policy.action is Action.OVERLAY
            and not spec.strategy.cap_slack
            and m.rebalances >= CHURN_REBALANCES
            and 2 * m.cap_bound_wakeups >= m.rebalances
        ):
            churned.append(f"{outcome.name} ({m.rebalances} rebalances)")
    if not churned:
        return []
    named = ", ".join(churned[:CHURN_NAMED])
    if len(churned) > CHURN_NAMED:
        named += f" and {len(churned) - CHURN_NAMED} more"
    return [
        f"{named}: most rebalances came while the leverage cap bound, each trading the gross "
        "back to the cap as prices moved; hedging.cap_slack (e.g. 0.02) holds the hedges within "
        "that fraction under the cap instead (compare with --sweep cap-slack=0,0.02; "
        "docs/backtest.md)"
    ]


def _text(value: Decimal | None) -> str:
    return "none" if value is None else str(value)


def ranked(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return sorted(outcomes, key=lambda o: o.metrics.final_value, reverse=True)


def run_all(
    specs: Sequence[RunSpec], market: Market, *, jobs: int | None = None, series: bool = True
) -> list[Outcome]:
    """Run every spec; on `jobs` worker processes (default: all cores) when there are several."""
    workers = min(jobs or os.cpu_count() or 1, len(specs))
    if workers <= 1:
        return [_outcome(spec, market, series) for spec in specs]
    with tempfile.TemporaryDirectory(prefix="rebalancer-sweep-") as folder:
        shared = _shareable(market, Path(folder))
        with ProcessPoolExecutor(workers, initializer=_install, initargs=(shared,)) as pool:
            return list(pool.map(_work, specs, itertools.repeat(series)))


def _outcome(spec: RunSpec, market: Market, series: bool) -> Outcome:
    result = run(spec, market)
    return Outcome(
        spec.name, spec.params, compute(result), report_series(result) if series else None
    )


@dataclass(frozen=True, slots=True)
class _Shared:
    market: Market
    closes_file: str | None


def _shareable(market: Market, folder: Path) -> _Shared:
    closes = market.prices.closes
    if closes.nbytes < SHARE_BY_FILE:
        return _Shared(market, None)
    path = folder / "closes.npy"
    np.save(path, closes)
    light = replace(market.prices, closes=np.zeros((0, closes.shape[1])))
    return _Shared(replace(market, prices=light), str(path))


_MARKET: list[Market] = []  # the worker's market, installed once per process


def _install(shared: _Shared) -> None:
    market = shared.market
    if shared.closes_file is not None:
        closes = np.load(shared.closes_file, mmap_mode="r")
        prices = PriceTable(
            market.prices.source, market.prices.times, market.prices.symbols, closes
        )
        market = replace(market, prices=prices)
    _MARKET[:] = [market]


def _work(spec: RunSpec, series: bool) -> Outcome:
    return _outcome(spec, _MARKET[0], series)
