"""What the emulated venue booked as carry: funding payments and interest charges, with ids.

The venue pays funding on its own schedule (every 8 hours from midnight UTC), not only when a
test asks: `Exchange.settle_due` pays every funding time the clock has passed, and a unified
(Bybit, OKX) account is charged interest every hour on its negative quote balance at
`borrow_rate` a year. Each payment is booked here with a venue id, so the income (Binance),
execution / transaction-log (Bybit) and bills (OKX) endpoints can serve them back, paged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

FUNDING_INTERVAL = timedelta(hours=8)
INTEREST_INTERVAL = timedelta(hours=1)
HOURS_A_YEAR = Decimal(365 * 24)
DEFAULT_BORROW_RATE = Decimal("0.10")  # a year, on borrowed quote


@dataclass(frozen=True, slots=True)
class Booking:
    """One carry payment: `amount` is the signed change of the account (negative: paid)."""

    id: int
    kind: str  # "funding" | "interest"
    subject: str  # exchange symbol (funding) or coin (interest)
    at: datetime
    amount: Decimal
    rate: Decimal
    notional: Decimal  # |position| x mark, or the borrowed amount
    side: str = ""  # Buy (long) / Sell (short) for funding
    size: Decimal = Decimal(0)  # |position| in base units, for funding
    balance: Decimal | None = None  # the quote balance just after (OKX bills' `bal`)


@dataclass
class CarryBook:
    funded_until: datetime
    interest_until: datetime
    borrow_rate: Decimal | None = None  # None: the account cannot borrow (classic)
    bookings: list[Booking] = field(default_factory=list)
    _next_id: int = 900_000_001

    def book(
        self,
        kind: str,
        subject: str,
        at: datetime,
        *,
        amount: Decimal,
        rate: Decimal,
        notional: Decimal,
        side: str = "",
        size: Decimal = Decimal(0),
        balance: Decimal | None = None,
    ) -> Booking:
        booking = Booking(
            self._next_id, kind, subject, at, amount, rate, notional, side, size, balance
        )
        self._next_id += 1
        self.bookings.append(booking)
        return booking

    def between(self, kind: str, start_ms: int, end_ms: int) -> list[Booking]:
        return [
            b
            for b in self.bookings
            if b.kind == kind and start_ms <= int(b.at.timestamp() * 1000) <= end_ms
        ]


def last_slot(now: datetime, interval: timedelta) -> datetime:
    """The latest time on the interval's grid from midnight UTC at or before `now`."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day + interval * ((now - day) // interval)
