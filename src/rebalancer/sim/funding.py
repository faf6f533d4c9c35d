"""Funding payments of perpetual positions and interest on borrowed quote: the account's carry.

Binance's convention: payment = position size x mark price x funding rate. With a positive rate
longs pay and shorts receive; the result here is the signed change of the account's wallet.
Funding intervals differ per instrument and venue (1 h, 2 h, 4 h or 8 h, aligned to 00:00 UTC);
`funding_times` lists an instrument's scheduled times. Interest on a unified account's borrowed
quote accrues at an annual rate over the seconds it was borrowed (`interest_charge`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rebalancer.sim.values import FundingPayment, InterestCharge, quantize_money

YEAR_SECONDS = 365 * 86_400  # venues quote borrow rates per 365-day year (Bybit: APR / 8760 h)
FUNDING_INTERVALS_HOURS = (1, 2, 4, 8)


def funding_payment(
    symbol: str, size: Decimal, mark: Decimal, rate: Decimal, at: datetime
) -> FundingPayment:
    amount = quantize_money(-size * mark * rate)
    return FundingPayment(
        symbol=symbol, rate=rate, mark=mark, position_size=size, amount=amount, at=at
    )


def funding_times(interval_hours: int, after: datetime, until: datetime) -> list[datetime]:
    """Scheduled funding times in (`after`, `until`] for an interval aligned to 00:00 UTC."""
    if interval_hours not in FUNDING_INTERVALS_HOURS:
        raise ValueError(
            f"funding interval {interval_hours} h is not one of "
            f"{', '.join(str(h) for h in FUNDING_INTERVALS_HOURS)} h"
        )
    step = timedelta(hours=interval_hours)
    day = datetime(after.year, after.month, after.day, tzinfo=UTC)
    moment = day + step * ((after.astimezone(UTC) - day) // step + 1)
    times: list[datetime] = []
    while moment <= until:
        times.append(moment)
        moment += step
    return times


def interest_charge(
    asset: str, borrowed: Decimal, annual_rate: Decimal, start: datetime, end: datetime
) -> InterestCharge:
    """Interest on `borrowed` (>= 0) at `annual_rate` over (`start`, `end`]."""
    seconds = Decimal((end - start) // timedelta(seconds=1))
    amount = quantize_money(borrowed * annual_rate * seconds / YEAR_SECONDS)
    return InterestCharge(asset, borrowed, annual_rate, start, end, amount)
