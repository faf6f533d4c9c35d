"""The emulator's OKX V5 bills (see `emulator.okx`), served from the venue's `CarryBook`.

GET /api/v5/account/bills serves the last seven days, GET /api/v5/account/bills-archive the
last three months: the funding fees the venue paid (type 8, subType 173 expense / 174 income,
on the swap's `instId`) and the hourly interest it deducted on the borrowed quote (type 7,
subType 9). Filters: `type`, `subType`, `ccy`, `instType`, `instId`, `mgnMode`, `begin` and
`end` (ms, inclusive); newest first by bill id, `limit` 1-100 (default 100), paged with `after`
(older than that bill id) and `before` (newer). The emulator books no other bill type, so any
other `type` answers an empty list.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rebalancer.emulator.carry_book import Booking
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.okx import OkxError, Params, ct_val, ok, swap_id, text

RECENT = timedelta(days=7)
ARCHIVE = timedelta(days=90)
MAX_LIMIT = 100
_TYPES = {"funding": "8", "interest": "7"}
_INTEREST_SUBTYPE = "9"


def _int(params: Params, name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    value = str(raw)
    if not value.isdigit():
        raise OkxError(51000, f"Parameter {name} error")
    return int(value)


def _ms(booking: Booking) -> int:
    return int(booking.at.timestamp() * 1000)


def _row(exchange: Exchange, booking: Booking) -> dict[str, object]:
    funding = booking.kind == "funding"
    inst_id, size, sub_type = "", "", _INTEREST_SUBTYPE
    if funding:
        spec = exchange.account.perp_spec(booking.subject)
        inst_id = swap_id(spec) if spec is not None else booking.subject
        size = text(booking.size / ct_val(spec)) if spec is not None else text(booking.size)
        sub_type = "174" if booking.amount >= 0 else "173"  # income / expense
    return {
        "bal": "" if booking.balance is None else text(booking.balance),
        "balChg": text(booking.amount),
        "billId": str(booking.id),
        "ccy": exchange.account.quote,
        "clOrdId": "",
        "execType": "",
        "fee": "0",
        "fillTime": "",
        "from": "",
        "instId": inst_id,
        "instType": "SWAP" if funding else "",
        "interest": "0" if funding else text(-booking.amount),
        "mgnMode": "cross",
        "notes": "",
        "ordId": "",
        "pnl": text(booking.amount) if funding else "0",
        "posBal": "0",
        "posBalChg": "0",
        "px": "",
        "subType": sub_type,
        "sz": size,
        "tag": "",
        "to": "",
        "tradeId": "",
        "ts": str(_ms(booking)),
        "type": _TYPES[booking.kind],
    }


def _served(span: timedelta) -> Callable[[Exchange, Params], object]:
    def bills(exchange: Exchange, params: Params) -> object:
        limit = _int(params, "limit")
        limit = MAX_LIMIT if limit is None else limit
        if not 1 <= limit <= MAX_LIMIT:
            raise OkxError(51000, "Parameter limit error")
        begin, end = _int(params, "begin"), _int(params, "end")
        after, before = _int(params, "after"), _int(params, "before")
        oldest = exchange.now_ms() - int(span.total_seconds() * 1000)
        with exchange.lock:
            rows = [_row(exchange, b) for b in exchange.carry.bookings if _ms(b) >= oldest]
        wanted = {
            name: str(params[name])
            for name in ("type", "subType", "ccy", "instType", "instId", "mgnMode")
            if params.get(name) not in (None, "")
        }
        picked = [
            r
            for r in rows
            if all(r[name] == value for name, value in wanted.items())
            and (begin is None or int(str(r["ts"])) >= begin)
            and (end is None or int(str(r["ts"])) <= end)
            and (after is None or int(str(r["billId"])) < after)
            and (before is None or int(str(r["billId"])) > before)
        ]
        picked.sort(key=lambda r: int(str(r["billId"])), reverse=True)
        if before is not None and after is None:
            # Newer than `before`: the page nearest to it, still answered newest first.
            return ok(picked[-limit:])
        return ok(picked[:limit])

    return bills


bills = _served(RECENT)
bills_archive = _served(ARCHIVE)
