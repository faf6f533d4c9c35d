"""Our vocabulary for exchange outcomes, and the pure classifier from ccxt's exceptions into it.

No ccxt exception leaves the gateway: `classify` turns each into an `ExchangeFailure` that says
what the caller may do next. A read or cancel may be retried after a `TransientError` and never
after a `PermanentError`; an order-placing call that hits an `AmbiguousOutcome` may or may not have
executed and is resolved by looking the order up by client id. `OrderNotFound`,
`DuplicateClientOrderId` and `NoChangeNeeded` are answers about state rather than failures.
The decision uses the venue's error code in the body first (Binance `code`, Bybit `retCode`,
looked up in the venue dialect's table: ccxt's own tables depend on URLs and miss meanings such
as "duplicate id, look it up"), then the HTTP status, then ccxt's class. Messages are redacted
on construction, because ccxt embeds the signed request URL in them. A request that never
reached the exchange says why and where (`exchange.unreachable`): connection refused, name not
resolved, timed out, TLS.
"""

# The kinds are named for what the caller learns (`OrderRejected`, `RateLimited`), as the design
# names them; an "Error" suffix would misdescribe answers such as `NoChangeNeeded`.
# ruff: noqa: N818

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Not `import ccxt.base.errors`: ccxt/__init__.py rebinds the name `ccxt.base` to a list.
from ccxt.base import errors as ce

from rebalancer.exchange.unreachable import unreachable

_MAX_MESSAGE = 300
_SECRET = re.compile(
    r"""(?P<key>["']?\b(?:signature|sign|api[-_]?key|x-mbx-apikey|secret(?:[-_]?key)?
                      |passphrase|password|token|listen[-_]?key)\b["']?)
        (?P<sep>\s*[=:]\s*)
        (?P<value>"[^"]*"|'[^']*'|[^&\s,;"'}\]]+)""",
    re.IGNORECASE | re.VERBOSE,
)
# ccxt's own formats: base `handle_http_status_code` ("id METHOD url 503 reason body") and
# Binance's 418/429 branch ("id 429 reason body").
_STATUS_IN_MESSAGE = (
    re.compile(r"^\S+ (?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ ([1-5]\d\d) "),
    re.compile(r"^\S+ ([45]\d\d) "),
)
_CODE_IN_MESSAGE = re.compile(r"""["']code["']\s*:\s*"?(-?\d+)""")


def redact_text(text: str) -> str:
    """`text` with signatures, keys and secrets replaced, whatever its length."""
    return _SECRET.sub(r"\g<key>\g<sep><redacted>", text)


def redact(message: str) -> str:
    """`message` with signatures, keys and secrets replaced, cut to a loggable length."""
    clean = redact_text(message)
    return clean if len(clean) <= _MAX_MESSAGE else clean[: _MAX_MESSAGE - 1] + "…"


class ExchangeFailure(Exception):
    """An exchange call did not return a result; the subclass says what that means."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
        resync_clock: bool = False,
        source: str | None = None,
        cause: str | None = None,
    ) -> None:
        self.message = redact(message)
        self.cause = cause  # why the exchange was not reached, when it was not
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after
        self.resync_clock = resync_clock
        self.source = source
        super().__init__(self.message)


class TransientError(ExchangeFailure):
    """Retry a read or cancel after a pause. For order placement: refused before execution."""


class RateLimited(TransientError):
    """The exchange throttled or banned us; `retry_after` says how long, when it is known."""


class PermanentError(ExchangeFailure):
    """Retrying the same request cannot succeed."""


class AuthenticationFailure(PermanentError):
    """Keys, signature, IP allow-list or account permissions are wrong."""


class OrderRejected(PermanentError):
    """The exchange refused the order; nothing was placed."""


class InsufficientMargin(OrderRejected):
    """The order was refused for lack of margin or balance."""


class CancelRejected(PermanentError):
    """Binance -2011: the order is not open (filled, cancelled or unknown); fetch it to know."""


class MalformedResponse(PermanentError):
    """The exchange answered, but not with something we can trust (missing or absurd fields)."""


class OrderNotFound(PermanentError):
    """The exchange has no order with that id or client id."""


class AmbiguousOutcome(ExchangeFailure):
    """The order may or may not exist: look it up by client id before anything is re-sent."""


class DuplicateClientOrderId(AmbiguousOutcome):
    """The client order id is taken, so an earlier send did arrive: look it up, never re-send.

    It subclasses `AmbiguousOutcome` so that a handler written for that case does the right
    thing, where one that treats `PermanentError` as "rejected" would lose a live order.
    """


class NoChangeNeeded(ExchangeFailure):
    """The account is already in the requested state (margin type, position mode)."""


@dataclass(frozen=True, slots=True)
class FailureKinds:
    """What a failure means for a read or cancel, and for an order-placing call."""

    read: type[ExchangeFailure]
    order: type[ExchangeFailure]
    resync_clock: bool = False


# Order kinds are conservative: only answers that prove nothing executed are anything but
# ambiguous, because a wrong "rejected" leaves an untracked live order.
_UNAVAILABLE = FailureKinds(TransientError, AmbiguousOutcome)
_THROTTLED = FailureKinds(RateLimited, RateLimited)
_CLOCK = FailureKinds(TransientError, TransientError, resync_clock=True)
_REFUSED = FailureKinds(PermanentError, OrderRejected)
_LOCAL = FailureKinds(PermanentError, PermanentError)  # ccxt raised it before sending anything
_UNKNOWN = FailureKinds(PermanentError, AmbiguousOutcome)
_AUTH = FailureKinds(AuthenticationFailure, AuthenticationFailure)
_ORDER = FailureKinds(OrderRejected, OrderRejected)
_MARGIN = FailureKinds(InsufficientMargin, InsufficientMargin)
_NOT_FOUND = FailureKinds(OrderNotFound, OrderNotFound)
_DUPLICATE = FailureKinds(DuplicateClientOrderId, DuplicateClientOrderId)
_NO_CHANGE = FailureKinds(NoChangeNeeded, NoChangeNeeded)

CCXT_KINDS: Mapping[type[BaseException], FailureKinds] = MappingProxyType(
    {
        ce.BaseError: _UNKNOWN,
        ce.ExchangeError: _UNKNOWN,
        ce.AuthenticationError: _AUTH,
        ce.PermissionDenied: _AUTH,
        ce.AccountNotEnabled: _AUTH,
        ce.AccountSuspended: _AUTH,
        ce.ArgumentsRequired: _LOCAL,
        ce.BadRequest: _REFUSED,
        ce.BadSymbol: _REFUSED,
        ce.OperationRejected: _REFUSED,
        ce.NoChange: _NO_CHANGE,
        ce.MarginModeAlreadySet: _NO_CHANGE,
        ce.MarketClosed: _REFUSED,
        ce.ManualInteractionNeeded: _REFUSED,
        ce.RestrictedLocation: _REFUSED,
        ce.InsufficientFunds: _MARGIN,
        ce.InvalidAddress: _REFUSED,
        ce.AddressPending: _REFUSED,
        ce.InvalidOrder: _ORDER,
        ce.OrderNotFound: _NOT_FOUND,
        ce.OrderNotCached: _LOCAL,  # ccxt's local cache, not the exchange, lacks it
        ce.OrderImmediatelyFillable: _ORDER,
        ce.OrderNotFillable: _ORDER,
        ce.DuplicateOrderId: _DUPLICATE,
        ce.ContractUnavailable: _ORDER,
        ce.NotSupported: _LOCAL,
        ce.InvalidProxySettings: _LOCAL,
        ce.ExchangeClosedByUser: _LOCAL,
        ce.OperationFailed: _UNAVAILABLE,
        ce.NetworkError: _UNAVAILABLE,
        ce.DDoSProtection: _THROTTLED,
        ce.RateLimitExceeded: _THROTTLED,
        ce.ExchangeNotAvailable: _UNAVAILABLE,
        ce.OnMaintenance: _UNAVAILABLE,
        ce.InvalidNonce: _CLOCK,
        ce.ChecksumError: _UNAVAILABLE,  # a websocket book checksum, not a clock problem
        ce.RequestTimeout: _UNAVAILABLE,
        ce.BadResponse: _UNAVAILABLE,
        ce.NullResponse: _UNAVAILABLE,
        ce.CancelPending: _UNAVAILABLE,
        ce.UnsubscribeError: _LOCAL,
    }
)
"""ccxt 4.5 error classes → our kinds; a test keeps it complete."""

BINANCE_CODE_KINDS: Mapping[int, FailureKinds] = MappingProxyType(
    {
        -1000: _UNAVAILABLE,  # unknown error
        -1001: _UNAVAILABLE,  # internal error
        -1003: _THROTTLED,  # too much request weight
        -1006: _UNAVAILABLE,  # unexpected message-bus response, execution status unknown
        -1007: _UNAVAILABLE,  # send status unknown; execution status unknown
        -1008: _UNAVAILABLE,  # server busy (missing from ccxt's table behind unknown URLs)
        -1015: _THROTTLED,  # too many new orders
        -1021: _CLOCK,  # timestamp outside recvWindow
        -1022: _AUTH,  # signature not valid
        -2010: _ORDER,  # new order rejected
        -2011: FailureKinds(CancelRejected, CancelRejected),
        -2013: _NOT_FOUND,
        -2018: _MARGIN,  # balance insufficient
        -2019: _MARGIN,  # margin insufficient
        -2022: _ORDER,  # ReduceOnly order rejected
        -4046: _NO_CHANGE,  # no need to change margin type
        -4059: _NO_CHANGE,  # no need to change position side
        -4116: _DUPLICATE,  # ClientOrderId is duplicated
        -4164: _ORDER,  # notional too small
    }
)
"""Binance codes whose meaning must not depend on which URL ccxt saw. -2015 is left to ccxt,
which raises `DDoSProtection` for it once the key has worked (a temporary ban)."""

# A 4xx means "refused" only when ccxt had nothing better than these generic classes: it maps
# HTML 400/403/404/405/409/410/451 replies to `ExchangeNotAvailable`.
_GENERIC_FOR_STATUS = (ce.BaseError, ce.ExchangeError, ce.ExchangeNotAvailable)
# An unlisted exchange code under these classes is still an answer from the exchange.
_GENERIC_FOR_CODE = (ce.BaseError, ce.ExchangeError)


def classify(
    exc: BaseException,
    *,
    placing_order: bool,
    http_status: int | None = None,
    retry_after: float | None = None,
    codes: Mapping[int, FailureKinds] = BINANCE_CODE_KINDS,
) -> ExchangeFailure:
    """What `exc`, raised by an exchange call, means for the caller.

    `placing_order` is true for calls that create or edit orders. `http_status` and
    `retry_after` are hints the gateway captured from the response: ccxt's exceptions carry
    neither, and the status only appears in some of their messages. `codes` is the venue's
    table of error codes whose meaning must not be left to ccxt.
    """
    if isinstance(exc, ExchangeFailure):
        return exc
    raw = str(exc)
    code = _exchange_code(raw)
    status = http_status if http_status is not None else _status_in(raw)
    kinds = (
        (codes.get(code) if code is not None else None)
        or _status_kinds(status, exc)
        or _class_kinds(exc, code)
    )
    kind = kinds.order if placing_order else kinds.read
    blocked = unreachable(exc) if code is None and status is None else None
    return kind(
        blocked.describe() if blocked else raw,
        cause=blocked.cause if blocked else None,
        code=code,
        http_status=status,
        retry_after=retry_after,
        resync_clock=kinds.resync_clock,
        source=type(exc).__name__,
    )


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds from a `Retry-After` header; None for the HTTP-date form (Binance sends seconds)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                seconds = float(value)
            except ValueError:
                return None
            return seconds if seconds >= 0 else None
    return None


def _exchange_code(message: str) -> int | None:
    start = message.find("{")
    if start >= 0:
        try:
            body, _ = json.JSONDecoder().raw_decode(message, start)
        except ValueError:
            body = None
        if isinstance(body, dict):
            try:  # Binance's `code`, Bybit's `retCode`
                return int(body["code"] if "code" in body else body["retCode"])
            except (KeyError, TypeError, ValueError):
                return None
    found = _CODE_IN_MESSAGE.search(message)
    return int(found.group(1)) if found else None


def _status_in(message: str) -> int | None:
    for pattern in _STATUS_IN_MESSAGE:
        found = pattern.match(message)
        if found:
            return int(found.group(1))
    return None


def _status_kinds(status: int | None, exc: BaseException) -> FailureKinds | None:
    if status is None:
        return None
    if status in (418, 429):
        return _THROTTLED
    if status == 408 or 500 <= status <= 599:
        return _UNAVAILABLE
    if 400 <= status <= 499 and type(exc) in _GENERIC_FOR_STATUS:
        return _REFUSED
    return None


def _class_kinds(exc: BaseException, code: int | None) -> FailureKinds:
    for cls in type(exc).__mro__:
        kinds = CCXT_KINDS.get(cls)
        if kinds is None:
            continue
        if cls in _GENERIC_FOR_CODE and code is not None:
            return _REFUSED  # the exchange answered with an error code: it did not execute
        return kinds
    if isinstance(exc, OSError):  # includes TimeoutError and ConnectionError
        return _UNAVAILABLE
    # A parsing bug after the response, or a cancellation mid-flight: an order may exist.
    return _UNKNOWN
