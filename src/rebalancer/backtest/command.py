"""The `backtest` command: replay price history through the policies and report.

Wiring only: read the config and the data files, build the runs, run them (on all cores when
there are several), and print a table or JSON and optionally write the HTML report. Bad files
and bad arguments print one line per problem and exit 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

import click
import numpy as np
from rich.console import Console

from rebalancer.backtest.data import (
    FETCH_FUNDING,
    FUNDING_PREFIX,
    DataError,
    FundingSeries,
    PriceTable,
    first_complete_row,
    load_funding,
    load_prices,
    parse_time,
    to_time,
)
from rebalancer.backtest.engine import Market
from rebalancer.backtest.funding import plan_funding
from rebalancer.backtest.policy import POLICY_NAMES, Policy
from rebalancer.backtest.report_html import render_report
from rebalancer.backtest.report_table import render_table
from rebalancer.backtest.setup import Costs, RunSpec, collateral_ratios
from rebalancer.backtest.summary import as_json, display
from rebalancer.backtest.sweep import (
    ACCOUNT_NAMES,
    SWEEP_KEYS,
    Outcome,
    SweepError,
    band_notes,
    cap_churn_notes,
    expand,
    ranked,
    run_all,
)
from rebalancer.backtest.universe import Universe, base_of, build_universe, needed_symbols
from rebalancer.config import ConfigError, load_settings
from rebalancer.domain.snapshot import AccountKind
from rebalancer.output_file import OUTPUT_FILE

FORMAT = "futures-rebalancer/backtest@1"
EXIT_USAGE = 2
MAX_CHARTED = 8
MODEL_NOTES = (
    "perp marks are the spot closes (no basis); exchange rules are modelled (see docs)",
    "margin and liquidation are checked at every bar, drift every schedule.drift_check_interval",
    "peak leverage is gross hedge / collateral (futures equity; unified: collateral value) at "
    "any bar, so it includes the moves between wake-ups; each rebalance brings it back under "
    "hedging.max_leverage",
)


def _fail(problems: Sequence[str], source: str = "") -> NoReturn:
    for problem in problems:
        click.echo(f"error: {source}: {problem}" if source else f"error: {problem}", err=True)
    sys.exit(EXIT_USAGE)


class DecimalType(click.ParamType[Decimal, object]):
    """A number read as Decimal from its text (never through a binary float)."""

    name = "number"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            return Decimal(str(value))
        except InvalidOperation:
            self.fail(f"{value!r} is not a number", param, ctx)


NUMBER = DecimalType()
DEFAULT_COSTS = Costs()


@click.command("backtest")
@click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML config file: targets, hedging rules, schedule.",
)
@click.option(
    "--prices",
    "prices_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Closes CSV: date,BTC,ETH,... (daily) or timestamp,BTC,... (ISO times with zone).",
)
@click.option(
    "--funding",
    "funding_items",
    multiple=True,
    metavar="SYMBOL=FILE",
    help=(
        "Funding CSV (timestamp,funding_rate) for an asset or perp, e.g. "
        "BTC=funding_BTCUSDT.csv. Repeatable; without one a perp's funding is 0."
    ),
)
@click.option(
    "--funding-dir",
    type=click.Path(path_type=Path),
    help=(
        "Folder of funding files as `fetch-history --funding-dir` writes them "
        "(funding_<ASSET><QUOTE>.csv): every one that matches a hedge is read. "
        "--funding overrides a file for its instrument."
    ),
)
@click.option(
    "--from",
    "start",
    metavar="DATE",
    help=(
        "First day (YYYY-MM-DD) or time (ISO, with zone). "
        "Default: the first row with every needed price."
    ),
)
@click.option(
    "--to", "end", metavar="DATE", help="Last day (inclusive) or time. Default: the last row."
)
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=click.Choice(POLICY_NAMES),
    help="Policy to run (repeatable). Default: all.",
)
@click.option(
    "--sweep",
    "sweeps",
    multiple=True,
    metavar="KEY=V1,V2",
    help=f"Run every combination of these values and rank them. KEY: {', '.join(SWEEP_KEYS)}.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    type=click.Choice(ACCOUNT_NAMES),
    help=(
        "Account kind (repeatable, to compare): segregated (a futures wallet backs the hedges) "
        "or unified (coins are collateral at [simulation] haircuts, quote borrowed at "
        "[simulation] borrow_rate). Default: segregated."
    ),
)
@click.option(
    "--equity",
    type=NUMBER,
    default=Decimal(10_000),
    show_default=True,
    help="Starting equity in the quote currency, allocated per the targets at the first bar.",
)
@click.option(
    "--fee",
    type=NUMBER,
    default=DEFAULT_COSTS.perp_fee,
    show_default=True,
    help="Perp taker fee rate.",
)
@click.option(
    "--spot-fee",
    type=NUMBER,
    default=DEFAULT_COSTS.spot_fee,
    show_default=True,
    help="Spot taker fee rate.",
)
@click.option(
    "--slippage",
    type=NUMBER,
    default=DEFAULT_COSTS.slippage_bps,
    show_default=True,
    help="Slippage per trade in basis points.",
)
@click.option(
    "--margin-floor",
    type=NUMBER,
    default=Decimal("0.5"),
    show_default=True,
    help="roll: realise the overlay in spot when futures equity < this x gross hedge notional.",
)
@click.option(
    "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes. Default: all cores."
)
@click.option(
    "--json",
    "as_json_output",
    is_flag=True,
    help="Print stable JSON (numbers as strings) instead of a table.",
)
@click.option(
    "-o",
    "--output",
    type=OUTPUT_FILE,
    help="Write a self-contained HTML report here.",
)
def backtest_command(  # click passes options by keyword
    *,
    config_path: Path,
    prices_path: Path,
    funding_items: tuple[str, ...],
    funding_dir: Path | None,
    start: str | None,
    end: str | None,
    policies: tuple[str, ...],
    sweeps: tuple[str, ...],
    accounts: tuple[str, ...],
    equity: Decimal,
    fee: Decimal,
    spot_fee: Decimal,
    slippage: Decimal,
    margin_floor: Decimal,
    jobs: int | None,
    as_json_output: bool,
    output: Path | None,
) -> None:
    """Replay price history through hold, spot rebalancing and the futures overlay.

    Starts from the config's targets at the first bar, then replays every bar: funding at
    each time in the funding files (any interval; gaps are reported) on the hedges held, taker
    fees and slippage, the 1x cap at every rebalance (the live planner), cross-margin
    liquidation at every bar. --account unified: one account whose coins are collateral at
    [simulation] haircuts, the cap on that collateral value, borrowed quote charged
    [simulation] borrow_rate hourly, liquidation when a joint move of all prices takes the
    collateral to maintenance. Policies: hold; spot-calendar and
    spot-band sell and buy spot (spot sold is the taxable volume); overlay-calendar and
    overlay-band hedge with perps; roll hedges and, when the cap binds or margin falls below
    --margin-floor, closes the hedges and trades spot to target. Calendar uses schedule.cron,
    band uses schedule.drift_abs / drift_rel.
    """
    try:
        settings = load_settings(config_path, os.environ, credentials=False)  # offline
    except ConfigError as exc:
        _fail(exc.problems, exc.source)
    strategy = settings.strategy
    quote = settings.config.portfolio.quote
    simulation = settings.config.simulation
    schedule = settings.config.schedule
    try:
        prices, notes = _prices(prices_path, needed_symbols(strategy, quote), start, end)
        universe = build_universe(strategy, quote, prices)
        funding, funding_notes = _funding_files(funding_dir, universe)
        funding.update(_funding(funding_items, universe))
    except DataError as exc:
        _fail(exc.problems, exc.source)
    except ValueError as exc:
        _fail([str(exc)])
    plan = plan_funding(prices, universe, funding)
    market = Market(prices, universe, plan)
    costs = Costs(perp_fee=fee, spot_fee=spot_fee, slippage_bps=slippage)
    base = RunSpec(
        "",
        Policy.HOLD,
        strategy,
        equity,
        costs,
        schedule.cron,
        schedule.timezone,
        margin_floor,
        drift_check=int(schedule.drift_check_interval),
        haircuts=tuple(sorted(simulation.haircuts.items())),
        borrow_rate=simulation.borrow_rate,
    )
    specs = _specs(base, policies, sweeps, accounts, universe, str(config_path))
    if schedule.cron is None and any(s.policy in _CALENDAR for s in specs):
        _fail(["calendar policies need schedule.cron in the config"], str(config_path))
    outcomes = run_all(specs, market, jobs=jobs, series=output is not None)
    if sweeps:
        outcomes = ranked(outcomes)
    notes = [
        *notes,
        *funding_notes,
        *plan.notes,
        *band_notes(specs, universe.lines),
        *cap_churn_notes(specs, outcomes),
        *MODEL_NOTES,
    ]
    title = _title(settings.config.portfolio.name, prices)
    if as_json_output:
        click.echo(
            json.dumps(_document(outcomes, prices, equity, notes, str(config_path)), indent=2)
        )
    else:
        console = Console() if sys.stdout.isatty() else Console(width=200)
        rows = [(o.name, o.metrics) for o in outcomes]
        console.print(render_table(rows, title=title, notes=notes))
    if output is not None:
        charted = {o.name: o.series for o in outcomes[:MAX_CHARTED] if o.series is not None}
        page = render_report(charted, {o.name: display(o.metrics) for o in outcomes}, title, notes)
        output.write_text(page, encoding="utf-8")


_CALENDAR = (Policy.SPOT_CALENDAR, Policy.OVERLAY_CALENDAR)


def _specs(  # noqa: PLR0917 -- the command's own option values, passed through
    base: RunSpec,
    policies: Sequence[str],
    sweeps: Sequence[str],
    accounts: Sequence[str],
    universe: Universe,
    config: str,
) -> list[RunSpec]:
    """The runs: policies x sweeps x account kinds (`--account` is the sweep axis `account`)."""
    if accounts:
        if any(item.partition("=")[0].strip() == "account" for item in sweeps):
            _fail(["give account kinds either with --account or with --sweep account=, not both"])
        sweeps = (*sweeps, "account=" + ",".join(dict.fromkeys(accounts)))
    try:
        specs = expand(base, policies, sweeps)
    except SweepError as exc:
        _fail([str(exc)])
    if any(spec.unified for spec in specs):
        try:
            collateral_ratios(replace(base, account=AccountKind.UNIFIED), universe)
        except ValueError as exc:
            _fail([str(exc)], config)
    return specs


def _prices(
    path: Path, symbols: Sequence[str], start: str | None, end: str | None
) -> tuple[PriceTable, list[str]]:
    table = load_prices(path, symbols)
    table = table.between(_bound(start, "--from", last=False), _bound(end, "--to", last=True))
    notes: list[str] = []
    first = first_complete_row(table)
    if first < 0:
        raise DataError(
            str(path), [f"no row in the range has prices for all of {', '.join(symbols)}"]
        )
    if first > 0:
        if start is not None:
            missing = [
                s for s, v in zip(table.symbols, table.closes[0], strict=True) if np.isnan(v)
            ]
            raise DataError(
                str(path), [f"{', '.join(missing)} has no price at {start}; start later"]
            )
        notes.append(f"prices start at {_day(table, first)}: the first row with every needed price")
        table = PriceTable(table.source, table.times[first:], table.symbols, table.closes[first:])
    if len(table.times) < 2:
        raise DataError(str(path), ["fewer than two bars in the range; widen --from/--to"])
    return table, notes


def _bound(text: str | None, option: str, *, last: bool) -> datetime | None:
    """A DATE covers the closes observed during that UTC day: (00:00, 24:00]."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        try:
            return parse_time(text)
        except ValueError as exc:
            raise ValueError(f"{option}: {exc}; or give a date, YYYY-MM-DD") from None
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight + timedelta(days=1) if last else midnight + timedelta(seconds=1)


def _day(table: PriceTable, bar: int) -> str:
    return to_time(table.times[bar]).isoformat().replace("+00:00", "Z")


def _funding(items: Sequence[str], universe: Universe) -> dict[str, FundingSeries]:
    found: dict[str, FundingSeries] = {}
    for item in items:
        symbol, sep, path = item.partition("=")
        if not sep or not path:
            raise ValueError(f"--funding {item!r}: use SYMBOL=FILE, e.g. BTC=funding_BTCUSDT.csv")
        instrument = _instrument(symbol.strip(), universe)
        found[instrument] = load_funding(Path(path))
    return found


def _funding_files(
    folder: Path | None, universe: Universe
) -> tuple[dict[str, FundingSeries], list[str]]:
    """Every `funding_<ASSET><QUOTE>.csv` in `folder` that matches a hedge instrument."""
    if folder is None:
        return {}, []
    if not folder.is_dir():
        problem = "is a file; name the folder" if folder.exists() else "folder not found"
        raise DataError(str(folder), [f"{problem}; {FETCH_FUNDING}"])
    files = sorted(folder.glob(f"{FUNDING_PREFIX}*.csv"))
    if not files:
        raise DataError(str(folder), [f"has no {FUNDING_PREFIX}*.csv files; {FETCH_FUNDING}"])
    found: dict[str, FundingSeries] = {}
    notes: list[str] = []
    for path in files:
        symbol = path.stem.removeprefix(FUNDING_PREFIX)
        try:
            instrument = _instrument(symbol, universe)
        except ValueError:
            notes.append(f"{path.name}: no hedge of this config trades {symbol}; not read")
            continue
        found[instrument] = load_funding(path)
    return found, notes


def _instrument(symbol: str, universe: Universe) -> str:
    key = symbol.upper()
    for instrument in universe.instruments:
        names = {instrument.symbol.upper(), instrument.base, instrument.base + universe.quote}
        if key in names or base_of(key, universe.quote) == instrument.base:
            return instrument.symbol
    listed = ", ".join(i.symbol for i in universe.instruments)
    raise ValueError(
        f"--funding {symbol}: no hedge instrument matches (the config hedges with {listed})"
    )


def _title(name: str, prices: PriceTable) -> str:
    first, last = to_time(prices.times[0]), to_time(prices.times[-1])
    span = f"closes {first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} UTC"
    return f"Backtest {name}: {span}, {len(prices.times)} bars"


def _document(
    outcomes: Sequence[Outcome],
    prices: PriceTable,
    equity: Decimal,
    notes: Sequence[str],
    config: str,
) -> dict[str, object]:
    return {
        "format": FORMAT,
        "config": config,
        "prices": {
            "file": prices.source,
            "first_close": _day(prices, 0),
            "last_close": _day(prices, len(prices.times) - 1),
            "bars": str(len(prices.times)),
            "symbols": list(prices.symbols),
        },
        "equity": str(equity),
        "notes": list(notes),
        "runs": [
            {
                "rank": str(rank),
                "name": o.name,
                "params": dict(o.params),
                "metrics": as_json(o.metrics),
            }
            for rank, o in enumerate(outcomes, start=1)
        ],
    }
