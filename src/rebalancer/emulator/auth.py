"""Request signing as Binance checks it: API key header, HMAC-SHA256 of the parameters, and the
`timestamp`/`recvWindow` freshness window.

The signed payload is the raw query string followed by the raw body, each without its
`signature=` pair, exactly as the client hashed them (ccxt sends one or the other).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from rebalancer.emulator.errors import BinanceError, bad_param, timestamp_outside_window

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
# Binance rejects requests stamped more than a second ahead of its own clock.
MAX_AHEAD_MS = 1_000


def _split_signature(raw: str) -> tuple[str, str | None]:
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part.removeprefix("signature=")
        else:
            kept.append(part)
    return "&".join(kept), signature


def sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify_signed_request(
    *,
    api_key: str | None,
    raw_query: str,
    raw_body: str,
    params: Mapping[str, str],
    secrets: Mapping[str, str],
    now_ms: int,
) -> None:
    """Raise the `BinanceError` Binance would answer, or return when the request is good."""
    if not api_key:
        raise BinanceError(-2014, "API-key format invalid.", status=401)
    secret = secrets.get(api_key)
    if secret is None:
        raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
    query_payload, query_signature = _split_signature(raw_query)
    body_payload, body_signature = _split_signature(raw_body)
    signature = body_signature or query_signature
    if signature is None:
        raise bad_param("signature")
    expected = sign(query_payload + body_payload, secret)
    if not hmac.compare_digest(expected, signature.lower()):
        raise BinanceError(-1022, "Signature for this request is not valid.")
    try:
        timestamp = int(params["timestamp"])
    except (KeyError, ValueError) as exc:
        raise bad_param("timestamp") from exc
    try:
        recv_window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
    except ValueError as exc:
        raise bad_param("recvWindow") from exc
    if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    if timestamp > now_ms + MAX_AHEAD_MS or now_ms - timestamp > recv_window:
        raise timestamp_outside_window()
