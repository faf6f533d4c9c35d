"""Security around the dashboard: response headers, the CSRF check, and the token check.

Every response carries a content security policy that allows scripts, styles and data only
from this origin (no inline script), forbids framing, turns off content sniffing and sends
the referrer to this origin only. Control forms carry a CSRF value: an HMAC, under a key
made fresh for each server process, of a random nonce held in a SameSite=Strict, HttpOnly
cookie (a signed double submit): a page on another site can neither read nor forge it; and
a form post must come from this origin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "rebalancer_csrf"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: under no-referrer browsers send "Origin: null" on our
    # own form posts, which the origin check must refuse. Other sites still get no referrer.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)


class SecurityHeaders:
    """ASGI middleware adding `HEADERS` to every HTTP response (errors included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((n, v) for n, v in HEADERS if n not in names),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class Csrf:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    @staticmethod
    def nonce(request: Request) -> tuple[str, bool]:
        """The browser's nonce, or a new one (True: the response must set the cookie)."""
        found = request.cookies.get(CSRF_COOKIE)
        if found and len(found) == 43:
            return found, False
        return secrets.token_urlsafe(32), True

    def form_value(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def valid(self, request: Request, offered: str | None) -> bool:
        nonce = request.cookies.get(CSRF_COOKIE)
        if not nonce or not offered:
            return False
        return hmac.compare_digest(self.form_value(nonce), offered)


def same_origin(request: Request) -> bool:
    """A form post from this origin (browsers send Origin on POST; absent: not a browser)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")
