"""Why the exchange could not be reached, in words: connection refused, name not resolved,
timed out, TLS failed, and the host it was.

ccxt's network errors say only `binance GET http://…/exchangeInfo`; the reason is in the
exception chain (aiohttp's connector error and the OS error under it). `unreachable` walks that
chain; it reads attributes, never imports aiohttp, so it holds whichever HTTP stack ccxt uses.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

_REQUEST = re.compile(r"^(?P<exchange>\S+) (?P<method>[A-Z]+) (?P<url>\S+)")
_MAX_CHAIN = 8
_BY_ERRNO = {
    errno.ECONNREFUSED: "connection refused (nothing listens on that port)",
    errno.ECONNRESET: "connection reset by the server",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "timed out",
}


@dataclass(frozen=True, slots=True)
class Unreachable:
    """The cause in a few words, and where the request went."""

    cause: str
    host: str | None
    request: str | None  # "GET /fapi/v1/exchangeInfo", without the query (it may be signed)
    exchange: str | None

    def describe(self) -> str:
        where = f" at {self.host}" if self.host else ""
        who = self.exchange or "the exchange"
        tail = f" ({self.request})" if self.request else ""
        return f"cannot reach {who}{where}: {self.cause}{tail}; check exchange.urls and the network"


def unreachable(exc: BaseException) -> Unreachable | None:
    """What kept `exc`'s request from reaching the exchange, or None if it was not that."""
    cause = None
    host = None
    for link in _chain(exc):
        host = host or _host_of(link)
        cause = cause or _cause_of(link)
    if cause is None:
        return None
    request = _REQUEST.match(str(exc))
    if request is None:
        return Unreachable(cause, host, None, None)
    url = urlsplit(request["url"])
    return Unreachable(
        cause,
        host or url.netloc or None,
        f"{request['method']} {url.path}" if url.path else request["method"],
        request["exchange"],
    )


def _chain(exc: BaseException) -> list[BaseException]:
    links: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(links) < _MAX_CHAIN and current not in links:
        links.append(current)
        inner = getattr(current, "os_error", None)  # aiohttp's connector errors wrap one
        if isinstance(inner, BaseException) and inner is not current:
            links.append(inner)
        current = current.__cause__ or current.__context__
    return links


def _cause_of(link: BaseException) -> str | None:
    if isinstance(link, ssl.SSLCertVerificationError | ssl.CertificateError):
        detail = link.args[-1] if link.args else "verify failed"
        return f"TLS certificate not trusted ({detail})"
    if isinstance(link, ssl.SSLError):
        reason = getattr(link, "reason", None) or type(link).__name__
        return f"TLS handshake failed ({reason}; is it an https URL on an http server?)"
    number = errno.ETIMEDOUT if isinstance(link, TimeoutError) else getattr(link, "errno", None)
    if isinstance(link, socket.gaierror):
        return "name not resolved (check the host name and DNS)"
    if isinstance(link, OSError | TimeoutError) and number in _BY_ERRNO:
        return _BY_ERRNO[number]
    if type(link).__name__ == "ServerDisconnectedError":
        return "the server closed the connection"
    return None


def _host_of(link: BaseException) -> str | None:
    host, port = getattr(link, "host", None), getattr(link, "port", None)
    if isinstance(host, str) and host:
        return f"{host}:{port}" if isinstance(port, int) else host
    return None
