"""Downloading backtest history from the exchange into the CSV formats `backtest.data` reads.

Daily closes come from ccxt `fetch_ohlcv(<ASSET>/<QUOTE>, '1d')` on spot markets and are merged
into one wide file (`date,BTC,ETH,...`; `date` is the UTC day the candle opens, the close is
written as the exchange's decimal text). Funding rates come from
`fetch_funding_rate_history(<perp>)`, one `timestamp,funding_rate` file per perp. Both are read
page by page (at most `PAGE_LIMIT` rows a request) from the start day up to the end instant;
only closed candles are kept. An existing output file is resumed: the fetch continues after its
last row and appends, so no row is ever written twice; a file with other columns is refused.
Every read is retried on transient errors; any exchange failure leaves as `ExchangeFailure`.
"""

from __future__ import annotations

import csv
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from rebalancer.backtest.data import FUNDING_PREFIX
from rebalancer.exchange.errors import ExchangeFailure
from rebalancer.exchange.retry import RetryPolicy, retry_reads

PAGE_LIMIT = 1000
DAY_MS = 86_400_000
FUNDING_INTERVAL_MS = 8 * 3_600_000
RATE_QUANTUM = Decimal("1e-8")
PRICE_KIND = "date"
FUNDING_HEADER = ("timestamp", "funding_rate")


class FetchError(Exception):
    """A problem the user must fix (bad arguments, an incompatible existing file): exit 2."""


class ProgressSink(Protocol):
    """Where per-series progress goes (a rich `Progress` satisfies it through an adapter)."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, label: str, rows: int) -> None: ...

    def finish(self, label: str) -> None: ...


class NoProgress:
    """A `ProgressSink` that shows nothing."""

    def start(self, label: str, total: int) -> None:
        return None

    def advance(self, label: str, rows: int) -> None:
        return None

    def finish(self, label: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """What to download: `start` and `end` are UTC days, both inclusive."""

    assets: tuple[str, ...]
    quote: str
    perps: Mapping[str, str]  # asset -> ccxt perp symbol, e.g. BTC -> BTC/USDT:USDT
    start: date
    end: date
    prices: Path
    funding_dir: Path | None


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """One written file: how many rows were appended and after which existing row it resumed."""

    path: Path
    label: str
    added: int
    resumed_after: str | None


def parse_day(text: str, option: str) -> date:
    """A `YYYY-MM-DD` day (an ISO time with a zone is accepted and converted to its UTC day)."""
    raw = text.strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise FetchError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None
    if moment.tzinfo is None:
        raise FetchError(f"{option} {text!r} has no time zone; write a day such as 2021-01-01")
    return moment.astimezone(UTC).date()


def day_ms(day: date) -> int:
    """Epoch milliseconds of 00:00 UTC on `day`."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


def ms_day(ms: int) -> date:
    return datetime.fromtimestamp(ms // 1000, tz=UTC).date()


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def price_text(value: object) -> str:
    """An exchange number as plain decimal text without float noise (42000.0 -> 42000)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ExchangeFailure(
            f"the exchange sent a price that is not a number: {value!r}"
        ) from None
    if not number.is_finite() or number <= 0:
        raise ExchangeFailure(f"the exchange sent a price that is not positive: {value!r}")
    return format(number.normalize(), "f")


def rate_text(value: object) -> str:
    """A funding rate as an 8-decimal plain fraction (0.0001 -> 0.00010000)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ExchangeFailure(
            f"the exchange sent a funding rate that is not a number: {value!r}"
        ) from None
    if not number.is_finite() or abs(number) >= 1:
        raise ExchangeFailure(f"the exchange sent an impossible funding rate: {value!r}")
    return format(number.quantize(RATE_QUANTUM), "f")


def _last_row(path: Path, header: Sequence[str]) -> list[str] | None:
    """The last data row of an existing output file (None: only a header, or no file)."""
    if not path.exists():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FetchError(f"{path}: cannot be read to resume ({exc})") from None
    if not rows:
        return None
    found = [cell.strip() for cell in rows[0]]
    if found != list(header):
        raise FetchError(
            f"{path}: its columns are {','.join(found)}, expected {','.join(header)}; "
            "pass another file or move this one away"
        )
    return rows[-1] if len(rows) > 1 else None


def _append(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Append `rows`, writing the header first when the file is new or empty."""
    try:
        fresh = not path.exists() or path.stat().st_size == 0
        needs_newline = False
        if not fresh:
            with path.open("rb") as handle:
                handle.seek(-1, 2)
                needs_newline = handle.read(1) not in (b"\n", b"\r")
        if not rows and not fresh:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", newline="") as handle:
            if needs_newline:
                handle.write("\n")
            writer = csv.writer(handle, lineterminator="\n")
            if fresh:
                writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise FetchError(f"{path}: cannot be written ({exc.strerror or exc})") from None


class HistoryFetcher:
    """Pages history out of one ccxt client; `now` bounds every series (no open candle)."""

    def __init__(
        self,
        client: Any,
        *,
        policy: RetryPolicy,
        now: datetime,
        progress: ProgressSink | None = None,
    ) -> None:
        self._client = client
        self._read: Callable[..., Awaitable[Any]] = retry_reads(policy)(self._call)
        self._now_ms = int(now.timestamp() * 1000)
        self._progress = progress or NoProgress()

    async def _call(self, method: str, *args: Any) -> Any:
        return await getattr(self._client, method)(*args)

    async def run(self, plan: FetchPlan) -> list[SeriesResult]:
        if plan.start > plan.end:
            raise FetchError(f"--from {plan.start} is after --to {plan.end}")
        # ccxt's binance resolves `BTC/USDT` to the perp under defaultType swap (the bot's
        # setting); this client only reads history, so spot symbols must mean spot markets.
        self._client.options["defaultType"] = "spot"
        await self._read("load_markets")
        markets: Mapping[str, Any] = self._client.markets or {}
        spots = {a: f"{a}/{plan.quote}" for a in plan.assets}
        missing = [s for s in spots.values() if s not in markets]
        if plan.funding_dir is not None:
            missing += [plan.perps[a] for a in plan.assets if plan.perps[a] not in markets]
        if missing:
            raise FetchError(f"the exchange has no market {', '.join(missing)}")
        end_ms = min(day_ms(plan.end + timedelta(days=1)), self._now_ms)
        results = [await self._prices(plan, spots, end_ms)]
        if plan.funding_dir is not None:
            for asset in plan.assets:
                path = plan.funding_dir / f"{FUNDING_PREFIX}{asset}{plan.quote}.csv"
                results.append(await self._funding(plan.perps[asset], path, plan.start, end_ms))
        return results

    async def _prices(self, plan: FetchPlan, spots: Mapping[str, str], end_ms: int) -> SeriesResult:
        header = (PRICE_KIND, *plan.assets)
        last = _last_row(plan.prices, header)
        start = plan.start
        if last is not None:
            try:
                start = date.fromisoformat(last[0].strip()) + timedelta(days=1)
            except ValueError:
                raise FetchError(
                    f"{plan.prices}: last row's date {last[0]!r} is not a day"
                ) from None
        closes: dict[str, dict[int, str]] = {}
        for asset in plan.assets:
            closes[asset] = await self._closes(spots[asset], day_ms(start), end_ms)
        days = sorted({d for series in closes.values() for d in series})
        rows = [[ms_day(d).isoformat(), *(closes[a].get(d, "") for a in plan.assets)] for d in days]
        _append(plan.prices, header, rows)
        return SeriesResult(plan.prices, "prices", len(rows), last[0] if last else None)

    async def _closes(self, symbol: str, since: int, end_ms: int) -> dict[int, str]:
        """Closes of the daily candles opening in [since, end_ms) that have closed by now."""
        label = f"{symbol} 1d"
        self._progress.start(label, max(0, -(-(end_ms - since) // DAY_MS)))
        found: dict[int, str] = {}
        while since < end_ms:
            page = await self._read(
                "fetch_ohlcv", symbol, "1d", since, PAGE_LIMIT, {"until": end_ms - 1}
            )
            fresh = [
                c
                for c in page
                if since <= int(c[0]) < end_ms and int(c[0]) + DAY_MS <= self._now_ms
            ]
            if not fresh:
                break
            for candle in fresh:
                found[int(candle[0])] = price_text(candle[4])
            self._progress.advance(label, len(fresh))
            since = max(int(c[0]) for c in fresh) + DAY_MS
            if len(page) < PAGE_LIMIT:  # a short page: nothing more before end_ms
                break
        self._progress.finish(label)
        return found

    async def _funding(self, symbol: str, path: Path, start: date, end_ms: int) -> SeriesResult:
        last = _last_row(path, FUNDING_HEADER)
        since = day_ms(start)
        if last is not None:
            try:
                moment = datetime.fromisoformat(last[0].strip())
            except ValueError:
                raise FetchError(f"{path}: last row's timestamp {last[0]!r} is not ISO") from None
            if moment.tzinfo is None:
                raise FetchError(f"{path}: last row's timestamp {last[0]!r} has no time zone")
            since = (int(moment.timestamp()) + 1) * 1000
        label = f"{symbol} funding"
        self._progress.start(label, max(0, -(-(end_ms - since) // FUNDING_INTERVAL_MS)))
        rows: list[list[str]] = []
        while since < end_ms:
            page = await self._read(
                "fetch_funding_rate_history", symbol, since, PAGE_LIMIT, {"until": end_ms - 1}
            )
            fresh = [e for e in page if since <= int(e["timestamp"]) < end_ms]
            if not fresh:
                break
            for entry in sorted(fresh, key=lambda e: int(e["timestamp"])):
                info = entry.get("info") or {}
                raw = info.get("fundingRate") if isinstance(info, dict) else None
                rate = raw if raw is not None else entry.get("fundingRate")
                rows.append([iso_utc(int(entry["timestamp"])), rate_text(rate)])
            self._progress.advance(label, len(fresh))
            since = max(int(e["timestamp"]) for e in fresh) + 1
            if len(page) < PAGE_LIMIT:
                break
        self._progress.finish(label)
        _append(path, FUNDING_HEADER, rows)
        return SeriesResult(path, symbol, len(rows), last[0] if last else None)
