"""Every ccxt error class, every Binance code we rely on and the HTTP statuses map to one kind."""

from __future__ import annotations

import inspect
import json
from typing import NamedTuple

import ccxt
import pytest
from ccxt.base import errors as ce
from hypothesis import given
from hypothesis import strategies as st

from rebalancer.exchange.errors import (
    CCXT_KINDS,
    AmbiguousOutcome,
    AuthenticationFailure,
    CancelRejected,
    DuplicateClientOrderId,
    ExchangeFailure,
    InsufficientMargin,
    NoChangeNeeded,
    OrderNotFound,
    OrderRejected,
    PermanentError,
    RateLimited,
    TransientError,
    classify,
    redact,
    retry_after_from_headers,
)

Kind = type[ExchangeFailure]
_T, _P, _A, _R = TransientError, PermanentError, AmbiguousOutcome, OrderRejected
_AUTH, _RATE = AuthenticationFailure, RateLimited

# (kind for a read or cancel, kind for an order-placing call), by ccxt class name.
EXPECTED_BY_CLASS: dict[str, tuple[Kind, Kind]] = {
    "BaseError": (_P, _A),
    "ExchangeError": (_P, _A),
    "AuthenticationError": (_AUTH, _AUTH),
    "PermissionDenied": (_AUTH, _AUTH),
    "AccountNotEnabled": (_AUTH, _AUTH),
    "AccountSuspended": (_AUTH, _AUTH),
    "ArgumentsRequired": (_P, _P),
    "BadRequest": (_P, _R),
    "BadSymbol": (_P, _R),
    "OperationRejected": (_P, _R),
    "NoChange": (NoChangeNeeded, NoChangeNeeded),
    "MarginModeAlreadySet": (NoChangeNeeded, NoChangeNeeded),
    "MarketClosed": (_P, _R),
    "ManualInteractionNeeded": (_P, _R),
    "RestrictedLocation": (_P, _R),
    "InsufficientFunds": (InsufficientMargin, InsufficientMargin),
    "InvalidAddress": (_P, _R),
    "AddressPending": (_P, _R),
    "InvalidOrder": (_R, _R),
    "OrderNotFound": (OrderNotFound, OrderNotFound),
    "OrderNotCached": (_P, _P),
    "OrderImmediatelyFillable": (_R, _R),
    "OrderNotFillable": (_R, _R),
    "DuplicateOrderId": (DuplicateClientOrderId, DuplicateClientOrderId),
    "ContractUnavailable": (_R, _R),
    "NotSupported": (_P, _P),
    "InvalidProxySettings": (_P, _P),
    "ExchangeClosedByUser": (_P, _P),
    "OperationFailed": (_T, _A),
    "NetworkError": (_T, _A),
    "DDoSProtection": (_RATE, _RATE),
    "RateLimitExceeded": (_RATE, _RATE),
    "ExchangeNotAvailable": (_T, _A),
    "OnMaintenance": (_T, _A),
    "InvalidNonce": (_T, _T),
    "ChecksumError": (_T, _A),
    "RequestTimeout": (_T, _A),
    "BadResponse": (_T, _A),
    "NullResponse": (_T, _A),
    "CancelPending": (_T, _A),
    "UnsubscribeError": (_P, _P),
}

CCXT_CLASSES = sorted(
    (cls for _, cls in inspect.getmembers(ce, inspect.isclass) if issubclass(cls, Exception)),
    key=lambda cls: cls.__name__,
)


class CodeRow(NamedTuple):
    code: int
    msg: str
    ccxt_class: type[Exception]  # what ccxt raises for it on a fapi.binance.com URL
    read: Kind
    order: Kind
    resync_clock: bool = False


_CR, _NF, _IM = CancelRejected, OrderNotFound, InsufficientMargin
_DUP, _NC = DuplicateClientOrderId, NoChangeNeeded
BINANCE_CODES = [
    CodeRow(-1007, "Send status unknown; execution status unknown.", ce.RequestTimeout, _T, _A),
    CodeRow(-1021, "Timestamp outside of the recvWindow.", ce.InvalidNonce, _T, _T, True),
    CodeRow(-2010, "Order would immediately trigger.", ce.InvalidOrder, _R, _R),
    CodeRow(-2011, "Unknown order sent.", ce.OrderNotFound, _CR, _CR),
    CodeRow(-2013, "Order does not exist.", ce.OrderNotFound, _NF, _NF),
    CodeRow(-2019, "Margin is insufficient.", ce.InsufficientFunds, _IM, _IM),
    CodeRow(-2022, "ReduceOnly Order is rejected.", ce.InvalidOrder, _R, _R),
    CodeRow(-4116, "ClientOrderId is duplicated.", ce.InvalidOrder, _DUP, _DUP),
    CodeRow(-4164, "Order's notional must be no smaller than 5.", ce.InvalidOrder, _R, _R),
    CodeRow(-4046, "No need to change margin type.", ce.MarginModeAlreadySet, _NC, _NC),
    CodeRow(-4059, "No need to change position side.", ce.OperationRejected, _NC, _NC),
    CodeRow(-1003, "Too many requests.", ce.DDoSProtection, _RATE, _RATE),
    CodeRow(-1001, "Internal error; unable to process your request.", ce.OperationFailed, _T, _A),
    CodeRow(-1008, "Server is currently overloaded.", ce.OperationFailed, _T, _A),
]
CODE_IDS = [str(row.code) for row in BINANCE_CODES]


def _binance_message(code: int, msg: str, *, compact: bool = True) -> str:
    body = {"code": code, "msg": msg}
    text = json.dumps(body, separators=(",", ":")) if compact else json.dumps(body)
    return f"binanceusdm {text}"


def _expect(failure: ExchangeFailure, kind: Kind) -> None:
    # Exact type, not isinstance: a subclass would be a different instruction to the caller.
    assert type(failure) is kind, f"{failure!r} is {type(failure).__name__}, not {kind.__name__}"


def test_the_table_names_every_ccxt_error_class() -> None:
    assert {cls.__name__ for cls in CCXT_CLASSES} == set(EXPECTED_BY_CLASS)
    assert set(CCXT_CLASSES) == set(CCXT_KINDS), "classify has no explicit entry for some class"


@pytest.mark.parametrize("placing_order", [False, True], ids=["read", "order"])
@pytest.mark.parametrize("ccxt_class", CCXT_CLASSES, ids=lambda cls: cls.__name__)
def test_each_ccxt_class_maps_to_its_kind(ccxt_class: type[Exception], placing_order: bool) -> None:
    if ccxt_class.__name__ not in EXPECTED_BY_CLASS:
        pytest.fail(f"ccxt added {ccxt_class.__name__}: decide its kind in errors.CCXT_KINDS")
    read, order = EXPECTED_BY_CLASS[ccxt_class.__name__]

    failure = classify(ccxt_class("binanceusdm something failed"), placing_order=placing_order)

    _expect(failure, order if placing_order else read)
    assert failure.source == ccxt_class.__name__
    assert failure.resync_clock is (ccxt_class is ce.InvalidNonce)


@pytest.mark.parametrize("placing_order", [False, True], ids=["read", "order"])
@pytest.mark.parametrize(
    "delivered_as", ["ccxt_class", "exchange_error", "bad_request", "spaced_json"]
)
@pytest.mark.parametrize("row", BINANCE_CODES, ids=CODE_IDS)
def test_binance_codes_decide_whatever_class_ccxt_chose(
    row: CodeRow, delivered_as: str, placing_order: bool
) -> None:
    message = _binance_message(row.code, row.msg, compact=delivered_as != "spaced_json")
    wrapper = {"ccxt_class": row.ccxt_class, "bad_request": ce.BadRequest}.get(
        delivered_as, ce.ExchangeError
    )

    failure = classify(wrapper(message), placing_order=placing_order)

    _expect(failure, row.order if placing_order else row.read)
    assert failure.code == row.code
    assert failure.resync_clock is row.resync_clock


FAPI = "https://fapi.binance.com/fapi/v1/order"
TESTNET = "https://testnet.binancefuture.com/fapi/v1/order"
EMULATOR = "http://127.0.0.1:8080/fapi/v1/order"


def _raised_by_ccxt(status: int, body: str, url: str, method: str = "POST") -> Exception:
    """What ccxt's own Binance handlers raise for this reply (no network involved)."""
    exchange = ccxt.binanceusdm()
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    try:
        exchange.handle_errors(status, "Reason", url, method, {}, body, parsed, {}, "")
        exchange.handle_http_status_code(status, "Reason", url, method, body)
    except ce.BaseError as exc:
        raised: Exception = exc  # ccxt is untyped
        return raised
    raise AssertionError(f"ccxt raised nothing for {status} {body}")


@pytest.mark.parametrize("url", [FAPI, TESTNET, EMULATOR], ids=["fapi", "testnet", "emulator"])
@pytest.mark.parametrize("row", BINANCE_CODES, ids=CODE_IDS)
def test_real_ccxt_error_handling_classifies_the_same_behind_any_url(
    row: CodeRow, url: str
) -> None:
    status = 429 if row.code == -1003 else 400
    body = json.dumps({"code": row.code, "msg": row.msg}, separators=(",", ":"))

    raised = _raised_by_ccxt(status, body, url)

    _expect(classify(raised, placing_order=False), row.read)
    _expect(classify(raised, placing_order=True), row.order)


def test_behind_an_emulator_ccxt_loses_the_futures_table() -> None:
    # Why codes come first: the same -2019 is a bare ExchangeError unless ccxt knows the URL.
    body = '{"code":-2019,"msg":"Margin is insufficient."}'

    assert type(_raised_by_ccxt(400, body, FAPI)) is ce.InsufficientFunds
    assert type(_raised_by_ccxt(400, body, EMULATOR)) is ce.ExchangeError


# (status, class ccxt raises for it, read kind, order kind)
HTTP_STATUSES: list[tuple[int, type[Exception], Kind, Kind]] = [
    (429, ce.DDoSProtection, _RATE, _RATE),
    (418, ce.DDoSProtection, _RATE, _RATE),
    (408, ce.RequestTimeout, _T, _A),
    (500, ce.ExchangeNotAvailable, _T, _A),
    (502, ce.ExchangeNotAvailable, _T, _A),
    (503, ce.ExchangeNotAvailable, _T, _A),
    (504, ce.RequestTimeout, _T, _A),
    (400, ce.ExchangeNotAvailable, _P, _R),
    (403, ce.ExchangeNotAvailable, _P, _R),
    (404, ce.ExchangeNotAvailable, _P, _R),
    (422, ce.ExchangeError, _P, _R),
]


@pytest.mark.parametrize("placing_order", [False, True], ids=["read", "order"])
@pytest.mark.parametrize(
    ("status", "ccxt_class", "read", "order"), HTTP_STATUSES, ids=[str(r[0]) for r in HTTP_STATUSES]
)
def test_html_error_pages_are_classified_by_the_status_in_ccxts_message(
    status: int, ccxt_class: type[Exception], read: Kind, order: Kind, placing_order: bool
) -> None:
    raised = _raised_by_ccxt(status, "<html>x</html>", FAPI, "GET")
    assert type(raised) is ccxt_class

    failure = classify(raised, placing_order=placing_order)

    _expect(failure, order if placing_order else read)
    assert failure.http_status == status


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_json_5xx_with_an_unlisted_code_is_unavailable_given_the_status_hint(status: int) -> None:
    # Binance's handler raises "id {body}" for a coded reply: the status is not in the message.
    exc = ce.ExchangeError(_binance_message(-9999, "Something odd."))

    _expect(classify(exc, placing_order=False, http_status=status), TransientError)
    _expect(classify(exc, placing_order=True, http_status=status), AmbiguousOutcome)


def test_an_unlisted_code_without_a_status_is_an_answer_so_the_order_was_refused() -> None:
    exc = ce.ExchangeError(_binance_message(-9999, "Something odd."))

    _expect(classify(exc, placing_order=False), PermanentError)
    _expect(classify(exc, placing_order=True), OrderRejected)


def test_binance_temporary_ban_on_2015_stays_rate_limited() -> None:
    # ccxt raises DDoSProtection for -2015 once the key has worked before; keep that reading.
    exc = ce.DDoSProtection(_binance_message(-2015, "Invalid API-key, IP, or permissions."))

    _expect(classify(exc, placing_order=True), RateLimited)


def test_message_only_matches_are_classified_by_class() -> None:
    # ccxt drops the code when it matches the "msg" text exactly: "id msg".
    exc = ce.InsufficientFunds("binanceusdm Account has insufficient balance for requested action.")

    failure = classify(exc, placing_order=True)

    _expect(failure, InsufficientMargin)
    assert failure.code is None


@pytest.mark.parametrize("placing_order", [False, True], ids=["read", "order"])
def test_retry_after_and_status_hints_are_carried(placing_order: bool) -> None:
    exc = ce.DDoSProtection("binanceusdm 429 Too Many Requests {}")

    failure = classify(exc, placing_order=placing_order, retry_after=12.0)

    _expect(failure, RateLimited)
    assert (failure.http_status, failure.retry_after) == (429, 12.0)


@pytest.mark.parametrize(
    ("exc", "read", "order"),
    [
        (TimeoutError("read timed out"), _T, _A),
        (ConnectionResetError("reset by peer"), _T, _A),
        (KeyError("price"), _P, _A),
        (ValueError("bad json"), _P, _A),
    ],
    ids=["timeout", "connection", "key_error", "value_error"],
)
def test_non_ccxt_exceptions_are_classified_conservatively(
    exc: Exception, read: Kind, order: Kind
) -> None:
    _expect(classify(exc, placing_order=False), read)
    _expect(classify(exc, placing_order=True), order)


def test_an_already_classified_failure_is_returned_unchanged() -> None:
    failure = RateLimited("slow down", retry_after=3.0)

    assert classify(failure, placing_order=True) is failure


SIGNED_URL = (
    "https://fapi.binance.com/fapi/v1/openOrders?symbol=BTCUSDT&timestamp=1700000000000"
    "&recvWindow=5000&signature=5f2b1c0ffee0ddba11"
)


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        (f"binanceusdm GET {SIGNED_URL}", "5f2b1c0ffee0ddba11"),
        ("binanceusdm GET https://x.test/api?apiKey=AK123&sign=S456", "AK123"),
        ("binanceusdm GET https://x.test/api?apiKey=AK123&sign=S456", "S456"),
        ("request headers {'X-MBX-APIKEY': 'vmPUZE6mv9SD5'}", "vmPUZE6mv9SD5"),
        ('body {"secret": "hunter2", "passphrase":"p4ss"}', "hunter2"),
        ('body {"secret": "hunter2", "passphrase":"p4ss"}', "p4ss"),
        ("POST https://x.test/listenKey?listenKey=LK789", "LK789"),
    ],
)
def test_secrets_are_redacted_from_messages(message: str, secret: str) -> None:
    failure = classify(ce.RequestTimeout(message), placing_order=True)

    assert secret not in str(failure)
    assert secret not in failure.message
    assert "<redacted>" in failure.message


def test_redaction_keeps_what_helps_debugging() -> None:
    clean = redact(f"binanceusdm GET {SIGNED_URL}")

    assert "symbol=BTCUSDT" in clean
    assert "timestamp=1700000000000" in clean
    assert clean.endswith("signature=<redacted>")


def test_failures_built_directly_are_redacted_and_short() -> None:
    failure = TransientError("x" * 1000 + "&signature=abc")

    assert "abc" not in failure.message
    assert len(failure.message) <= 300


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=8, max_size=64))
def test_no_signature_survives_in_a_timeout_message(signature: str) -> None:
    url = f"https://fapi.binance.com/fapi/v1/order?symbol=BTCUSDT&signature={signature}"

    failure = classify(ce.RequestTimeout(f"binanceusdm DELETE {url}"), placing_order=False)

    assert signature not in str(failure)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"Retry-After": "-3"}, None),
        ({"Content-Type": "application/json"}, None),
    ],
)
def test_retry_after_is_read_from_headers_in_seconds(
    headers: dict[str, str], expected: float | None
) -> None:
    assert retry_after_from_headers(headers) == expected
