"""Reads retry only transient failures, bounded, backing off and honouring Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import pytest
from ccxt.base import errors as ce
from structlog.testing import capture_logs

from rebalancer.exchange.errors import (
    CancelRejected,
    ExchangeFailure,
    InsufficientMargin,
    NoChangeNeeded,
    OrderNotFound,
    PermanentError,
    RateLimited,
    TransientError,
)
from rebalancer.exchange.retry import RetryPolicy, retry_cancels, retry_reads

T = TypeVar("T")
NO_WAIT = RetryPolicy(max_attempts=4, base_backoff=0, max_backoff=0, jitter=0)
CLOCK_DRIFT = 'binanceusdm {"code":-1021,"msg":"Timestamp outside of the recvWindow."}'


class Waits:
    """A sleep that records what it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


class Flaky:
    """An exchange read that raises the given exceptions in turn, then returns "ok"."""

    def __init__(self, failures: Sequence[BaseException], *, forever: bool = False) -> None:
        self.failures = list(failures)
        self.forever = forever
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.forever:
            raise self.failures[0]
        if self.calls <= len(self.failures):
            raise self.failures[self.calls - 1]
        return "ok"


def run(
    read: Callable[[], Awaitable[T]],
    policy: RetryPolicy = NO_WAIT,
    waits: Waits | None = None,
    on_resync_clock: Callable[[], Awaitable[None]] | None = None,
) -> T:
    wrapped = retry_reads(policy, on_resync_clock=on_resync_clock, sleep=waits or Waits())(read)
    return asyncio.run(wrapped())


def test_transient_failures_are_retried_until_the_read_succeeds() -> None:
    read, waits = Flaky([ce.NetworkError("reset"), ce.RequestTimeout("slow")]), Waits()

    assert run(read, waits=waits) == "ok"
    assert read.calls == 3
    assert waits.seconds == [0, 0]


@pytest.mark.parametrize("max_attempts", [1, 2, 5])
def test_attempts_are_bounded_and_the_last_failure_is_raised_as_transient(
    max_attempts: int,
) -> None:
    read, waits = Flaky([ce.RequestTimeout("slow")], forever=True), Waits()
    policy = RetryPolicy(max_attempts=max_attempts, base_backoff=0, max_backoff=0, jitter=0)

    with pytest.raises(TransientError) as raised:
        run(read, policy, waits)

    assert type(raised.value) is TransientError  # a read is never an AmbiguousOutcome
    assert read.calls == max_attempts
    assert len(waits.seconds) == max_attempts - 1


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (ce.InsufficientFunds("binanceusdm Margin is insufficient."), InsufficientMargin),
        (ce.AuthenticationError("binanceusdm Invalid API-key"), PermanentError),
        (ce.BadSymbol("binanceusdm Invalid symbol."), PermanentError),
        (ce.ExchangeError('binanceusdm {"code":-2019,"msg":"Margin is short."}'), PermanentError),
        (ce.OrderNotFound('binanceusdm {"code":-2013,"msg":"No such order."}'), OrderNotFound),
        (ce.MarginModeAlreadySet("binanceusdm No need to change margin type."), NoChangeNeeded),
        (ValueError("a parsing bug"), PermanentError),
    ],
    ids=["funds", "auth", "symbol", "emulator_margin", "not_found", "no_change", "bug"],
)  # fmt: skip
def test_permanent_failures_and_answers_are_not_retried(
    failure: Exception, kind: type[ExchangeFailure]
) -> None:
    read, waits = Flaky([failure]), Waits()

    with pytest.raises(kind):
        run(read, waits=waits)

    assert read.calls == 1
    assert waits.seconds == []


def test_backoff_doubles_up_to_the_maximum() -> None:
    read, waits = Flaky([ce.ExchangeNotAvailable("down")], forever=True), Waits()
    policy = RetryPolicy(max_attempts=6, base_backoff=1, max_backoff=5, jitter=0)

    with pytest.raises(TransientError):
        run(read, policy, waits)

    assert waits.seconds == [1, 2, 4, 5, 5]


def test_jitter_adds_at_most_its_amount() -> None:
    policy = RetryPolicy(max_attempts=3, base_backoff=1, max_backoff=10, jitter=0.5)
    for _ in range(20):
        read, waits = Flaky([ce.ExchangeNotAvailable("down")], forever=True), Waits()
        with pytest.raises(TransientError):
            run(read, policy, waits)
        first, second = waits.seconds
        assert 1 <= first <= 1.5
        assert 2 <= second <= 2.5


@pytest.mark.parametrize(
    ("retry_after", "expected_wait"),
    [(7.0, 7.0), (1000.0, 30.0), (0.1, 2.0)],
    ids=["honoured", "capped", "backoff_is_longer"],
)
def test_retry_after_sets_the_floor_of_the_wait(retry_after: float, expected_wait: float) -> None:
    # The gateway raises RateLimited itself when it captured the Retry-After header.
    read, waits = Flaky([RateLimited("429", retry_after=retry_after)]), Waits()
    policy = RetryPolicy(base_backoff=2, max_backoff=8, jitter=0, max_retry_after=30)

    assert run(read, policy, waits) == "ok"
    assert waits.seconds == [expected_wait]


def test_a_rate_limit_without_retry_after_falls_back_to_backoff() -> None:
    read, waits = (
        Flaky([ce.DDoSProtection('binanceusdm 429 Too Many Requests {"code":-1003}')]),
        Waits(),
    )
    policy = RetryPolicy(base_backoff=2, max_backoff=8, jitter=0)

    assert run(read, policy, waits) == "ok"
    assert waits.seconds == [2]


@pytest.mark.parametrize(
    "drift",
    [ce.InvalidNonce(CLOCK_DRIFT), ce.ExchangeError(CLOCK_DRIFT), ce.BadRequest(CLOCK_DRIFT)],
    ids=["fapi", "emulator", "portfolio_margin"],
)
def test_clock_drift_resyncs_the_clock_before_the_retry(drift: Exception) -> None:
    events: list[str] = []

    async def read() -> str:
        events.append("read")
        if len(events) == 1:
            raise drift
        return "ok"

    async def resync() -> None:
        events.append("resync")

    assert run(read, on_resync_clock=resync) == "ok"
    assert events == ["read", "resync", "read"]


def test_other_transient_failures_leave_the_clock_alone() -> None:
    resyncs: list[None] = []

    async def resync() -> None:
        resyncs.append(None)

    assert run(Flaky([ce.RequestTimeout("slow")]), on_resync_clock=resync) == "ok"
    assert resyncs == []


def test_no_resync_after_the_last_attempt() -> None:
    resyncs: list[None] = []

    async def resync() -> None:
        resyncs.append(None)

    read = Flaky([ce.InvalidNonce(CLOCK_DRIFT)], forever=True)
    with pytest.raises(TransientError):
        run(read, RetryPolicy(max_attempts=2, base_backoff=0, jitter=0), on_resync_clock=resync)

    assert resyncs == [None]


def test_a_failing_resync_does_not_stop_the_retries() -> None:
    async def resync() -> None:
        raise ce.RequestTimeout("time endpoint down")

    with capture_logs() as logs:
        assert run(Flaky([ce.InvalidNonce(CLOCK_DRIFT)]), on_resync_clock=resync) == "ok"

    assert [log["event"] for log in logs] == ["exchange_read_retried", "clock_resync_failed"]


def test_a_retry_of_an_exchange_answer_names_its_code_and_a_rounded_wait() -> None:
    policy = RetryPolicy(max_attempts=2, base_backoff=0.123456, max_backoff=1, jitter=0)
    with capture_logs() as logs:
        run(
            Flaky([ce.ExchangeNotAvailable('binance {"code":-1001,"msg":"Internal error"}')]),
            policy,
        )

    (retried,) = logs
    assert retried["cause"] == "code -1001"
    assert retried["wait_s"] == round(retried["wait_s"], 1)


def test_each_retry_is_logged_as_an_event() -> None:
    with capture_logs() as logs:
        run(Flaky([ce.RequestTimeout("slow")]))

    assert logs == [
        {
            "event": "exchange_read_retried",
            "log_level": "warning",
            "attempt": 1,
            "wait_s": 0,
            "kind": "TransientError",
            "cause": "slow",
        }
    ]


@pytest.mark.parametrize(
    "name",
    ["create_order", "createOrder", "create_orders", "create_market_buy_order", "edit_order",
     "createOrderWs"],
)  # fmt: skip
def test_order_placing_calls_cannot_be_wrapped(name: str) -> None:
    async def place() -> None:
        return None

    place.__name__ = name

    with pytest.raises(TypeError, match="never retry"):
        retry_reads(NO_WAIT)(place)


def test_cancels_retry_like_reads_and_stop_at_a_rejected_cancel() -> None:
    calls: list[str] = []

    async def cancel_order(order_id: str, symbol: str) -> None:
        calls.append(order_id)
        if len(calls) == 1:
            raise ce.RequestTimeout("slow")
        raise ce.OrderNotFound('binanceusdm {"code":-2011,"msg":"Unknown order sent."}')

    cancel = retry_cancels(NO_WAIT, sleep=Waits())(cancel_order)

    with pytest.raises(CancelRejected):
        asyncio.run(cancel("42", symbol="BTC/USDT:USDT"))
    assert calls == ["42", "42"]
    assert cancel.__name__ == "cancel_order"


def test_a_failure_the_read_classified_itself_passes_through_unchanged() -> None:
    answer = OrderNotFound("no such client id", code=-2013)

    with pytest.raises(OrderNotFound) as raised:
        run(Flaky([answer]))

    assert raised.value is answer


def test_the_raised_failure_carries_no_signed_url() -> None:
    signed = "https://fapi.binance.com/fapi/v1/balance?timestamp=1&signature=c0ffee1234"
    read = Flaky([ce.RequestTimeout(f"binanceusdm GET {signed}")], forever=True)

    with pytest.raises(TransientError) as raised:
        run(read)

    assert "c0ffee1234" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_cancellation_propagates_without_retry() -> None:
    read = Flaky([asyncio.CancelledError()])

    with pytest.raises(asyncio.CancelledError):
        run(read)

    assert read.calls == 1


def test_concurrent_reads_retry_independently() -> None:
    first = Flaky([ce.RequestTimeout("slow")] * 2)
    second = Flaky([ce.NetworkError("reset")])

    async def both() -> list[str]:
        return list(
            await asyncio.gather(retry_reads(NO_WAIT)(first)(), retry_reads(NO_WAIT)(second)())
        )

    assert asyncio.run(both()) == ["ok", "ok"]  # with the real asyncio.sleep(0)
    assert (first.calls, second.calls) == (3, 2)


@pytest.mark.parametrize(
    "field",
    [{"max_attempts": 0}, {"base_backoff": -1}, {"max_backoff": -1}, {"jitter": -0.1},
     {"max_retry_after": -5}],
)  # fmt: skip
def test_policy_rejects_nonsense(field: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=">="):
        RetryPolicy(**field)  # type: ignore[arg-type]
