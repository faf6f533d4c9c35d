"""Reading price and funding history: CSV files into typed, validated series.

Prices are a wide table of closes, one column per asset: `date,BTC,ETH,...` (a `date` is the UTC
day the daily candle opens, so its close is observed at 00:00 UTC of the next day) or
`timestamp,BTC,...` (an ISO 8601 time with a zone, the instant the close was observed; for
intraday bars). Funding files are `timestamp,funding_rate` (a fraction per interval, positive:
longs pay). Anything malformed, out of order or gappy raises `DataError`, whose `problems` name
the file's row, one line each; nothing here lets a traceback reach the user.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAX_PROBLEMS = 5
DAY = 86_400


class DataError(Exception):
    """A data file that cannot be used; `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Closes per bar: `times` are UTC epoch seconds (strictly increasing), `closes` bars x symbols.

    float64 is the storage format; the engine turns a bar's closes into `Decimal` through the
    shortest repr, which gives back the file's text for prices of up to 15 significant digits.
    """

    source: str
    times: npt.NDArray[np.int64]
    symbols: tuple[str, ...]
    closes: npt.NDArray[np.float64]

    def column(self, symbol: str) -> int:
        return self.symbols.index(symbol)

    def between(self, start: datetime | None, end: datetime | None) -> PriceTable:
        """Bars whose close time lies in [start, end] (either bound may be open)."""
        lo = 0 if start is None else int(np.searchsorted(self.times, _epoch(start), "left"))
        hi = (
            len(self.times)
            if end is None
            else int(np.searchsorted(self.times, _epoch(end), "right"))
        )
        return PriceTable(self.source, self.times[lo:hi], self.symbols, self.closes[lo:hi])

    def select(self, symbols: Sequence[str]) -> PriceTable:
        cols = [self.column(s) for s in symbols]
        closes = np.ascontiguousarray(self.closes[:, cols])
        return PriceTable(self.source, self.times, tuple(symbols), closes)


@dataclass(frozen=True, slots=True)
class FundingSeries:
    """Funding rates of one perpetual: event times (UTC epoch seconds) and exact rates."""

    source: str
    times: npt.NDArray[np.int64]
    rates: tuple[Decimal, ...]


def to_time(value: int | np.integer) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def parse_time(text: str) -> datetime:
    """An aware ISO 8601 time (`Z` or an offset) converted to UTC; naive times are refused."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; write it in UTC, e.g. 2020-01-01T08:00:00Z")
    return moment.astimezone(UTC)


FUNDING_PREFIX = "funding_"  # funding_<ASSET><QUOTE>.csv, as `fetch-history --funding-dir` writes
FETCH_PRICES = "download closes with `rebalancer fetch-history -c CONFIG --prices FILE`"
FETCH_FUNDING = (
    "download funding with `rebalancer fetch-history -c CONFIG --prices FILE --funding-dir DIR`"
)


def _rows(path: Path, fetch_hint: str) -> Iterator[tuple[int, list[str]]]:
    source = str(path)
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise DataError(source, [f"file not found; {fetch_hint}"]) from None
    except IsADirectoryError:
        raise DataError(source, ["is a folder; name the CSV file"]) from None
    except OSError as exc:
        raise DataError(source, [f"cannot be read ({exc.strerror})"]) from None
    with handle:
        try:
            yield from enumerate(csv.reader(handle), start=1)
        except UnicodeDecodeError:
            raise DataError(source, ["is not UTF-8 text"]) from None
        except csv.Error as exc:
            raise DataError(source, [f"is not valid CSV ({exc})"]) from None


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []
        self.more = 0

    def add(self, line: str) -> None:
        if len(self.lines) < MAX_PROBLEMS:
            self.lines.append(line)
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self.lines:
            extra = [f"... and {self.more} more problems"] if self.more else []
            raise DataError(self.source, self.lines + extra)


def load_prices(path: str | Path, symbols: Sequence[str] | None = None) -> PriceTable:
    """Read a wide closes file, keeping `symbols` (all columns when None).

    A column may be empty before its first price (an asset listed later); once it has started,
    an empty cell is a gap. Rows must be strictly increasing and evenly spaced.
    """
    path = Path(path)
    source = str(path)
    rows = _rows(path, FETCH_PRICES)
    header = next(rows, None)
    if header is None:
        raise DataError(source, ["is empty; expected a header such as date,BTC,ETH"])
    names = [name.strip() for name in header[1]]
    kind = names[0].lower() if names else ""
    if kind not in ("date", "timestamp"):
        raise DataError(source, ["row 1: the first column must be `date` or `timestamp`"])
    wanted = list(names[1:]) if symbols is None else list(symbols)
    missing = [s for s in wanted if s not in names[1:]]
    if missing:
        raise DataError(source, [f"row 1: no column for {', '.join(missing)} (has {names[1:]})"])
    if len(set(names)) != len(names):
        raise DataError(source, ["row 1: a column name appears twice"])
    cols = [names.index(s) for s in wanted]
    problems = _Problems(source)
    times: list[int] = []
    values: list[list[float]] = []
    started = [0] * len(cols)  # row number of each column's first price (0: not yet)
    for number, row in rows:
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            problems.add(f"row {number}: {len(row)} cells, the header has {len(names)}")
            continue
        try:
            moment = _row_time(kind, row[0])
        except ValueError as exc:
            problems.add(f"row {number}: {exc}")
            continue
        prices = []
        for k, col in enumerate(cols):
            price = _cell_price(row[col], wanted[k], started[k], number, problems)
            if not math.isnan(price) and not started[k]:  # the column starts here
                started[k] = number
            prices.append(price)
        if times and not _in_step(times, moment, number, kind, problems):
            continue
        times.append(moment)
        values.append(prices)
    problems.raise_if_any()
    if not times:
        raise DataError(source, ["has a header but no rows"])
    closes = np.array(values, dtype=np.float64).reshape(len(times), len(cols))
    return PriceTable(source, np.array(times, dtype=np.int64), tuple(wanted), closes)


def _row_time(kind: str, text: str) -> int:
    if kind == "date":
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
        # The daily candle opening on `day` closes at 00:00 UTC the next day.
        return _epoch(datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1))
    return _epoch(parse_time(text))


def _cell_price(text: str, symbol: str, started: int, number: int, problems: _Problems) -> float:
    cell = text.strip()
    if not cell:
        if started:
            problems.add(
                f"row {number}: {symbol} is empty (a gap; prices started at row {started})"
            )
        return float("nan")
    try:
        price = float(cell)
    except ValueError:
        problems.add(f"row {number}: {symbol} {cell!r} is not a number")
        return float("nan")
    if not price > 0 or price == float("inf"):
        problems.add(f"row {number}: {symbol} {cell!r} is not a positive price")
        return float("nan")
    return price


def _in_step(times: list[int], moment: int, number: int, kind: str, problems: _Problems) -> bool:
    last = times[-1]
    if moment <= last:
        what = "repeats" if moment == last else "is earlier than"
        problems.add(f"row {number}: {_show(moment, kind)} {what} the row before; sort the file")
        return False
    step = DAY if kind == "date" else (times[1] - times[0] if len(times) > 1 else moment - last)
    if moment - last != step:
        every = "one row per day" if kind == "date" else f"one row every {timedelta(seconds=step)}"
        problems.add(
            f"row {number}: {_show(moment, kind)} follows {_show(last, kind)}: a gap or uneven "
            f"spacing (expected {every})"
        )
        return False
    return True


def _show(moment: int, kind: str) -> str:
    when = to_time(moment)
    if kind == "date":
        return (when - timedelta(days=1)).date().isoformat()
    return when.isoformat().replace("+00:00", "Z")


def load_funding(path: str | Path) -> FundingSeries:
    """Read `timestamp,funding_rate` (extra columns are ignored)."""
    path = Path(path)
    source = str(path)
    rows = _rows(path, FETCH_FUNDING)
    header = next(rows, None)
    names = [n.strip().lower() for n in header[1]] if header else []
    if "timestamp" not in names or "funding_rate" not in names:
        raise DataError(source, ["row 1: expected the columns timestamp,funding_rate"])
    at, rate_col = names.index("timestamp"), names.index("funding_rate")
    problems = _Problems(source)
    times: list[int] = []
    rates: list[Decimal] = []
    for number, row in rows:
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            problems.add(f"row {number}: {len(row)} cells, the header has {len(names)}")
            continue
        try:
            moment = _epoch(parse_time(row[at]))
        except ValueError as exc:
            problems.add(f"row {number}: {exc}")
            continue
        try:
            rate = Decimal(row[rate_col].strip())
        except InvalidOperation:
            problems.add(f"row {number}: funding_rate {row[rate_col]!r} is not a number")
            continue
        if not rate.is_finite() or abs(rate) >= 1:
            problems.add(f"row {number}: funding_rate {rate} is not a fraction in (-1, 1)")
            continue
        if times and moment <= times[-1]:
            problems.add(f"row {number}: time repeats or goes back; sort the file")
            continue
        times.append(moment)
        rates.append(rate)
    problems.raise_if_any()
    if not times:
        raise DataError(source, ["has a header but no rows"])
    return FundingSeries(source, np.array(times, dtype=np.int64), tuple(rates))


def first_complete_row(table: PriceTable) -> int:
    """Index of the first bar where every column has a price (-1 when there is none)."""
    complete = ~np.isnan(table.closes).any(axis=1)
    return int(np.argmax(complete)) if complete.any() else -1
