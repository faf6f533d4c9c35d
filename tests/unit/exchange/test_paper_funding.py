"""Paper funding follows each perp's own interval (1, 2, 4 or 8 h, as the venue says) and
settles every payment once, across reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from rebalancer.exchange.ccxt_gateway import CcxtGateway, PriceBoard
from rebalancer.exchange.paper import PaperGateway
from rebalancer.sim import Account, PerpSpec

T0 = datetime(2026, 1, 5, tzinfo=UTC)
BTC = "BTC/USDT:USDT"


class _Store:
    def __init__(self) -> None:
        self.saves = 0

    def load(self, portfolio: str) -> dict[str, Any] | None:
        return None

    def save(self, portfolio: str, document: dict[str, Any]) -> None:
        self.saves += 1


def _gateway(clock: list[datetime]) -> tuple[PaperGateway, Account]:
    account = Account()
    account.add_perp(PerpSpec(BTC, "BTC", "USDT", Decimal("0.001"), Decimal(0), Decimal(0)))
    account.set_mark(BTC, Decimal(50_000))
    account.credit_futures(Decimal(10_000))
    account.seed_position(BTC, Decimal(-1), Decimal(50_000))  # short: receives a positive rate
    gateway = PaperGateway(
        cast(CcxtGateway, None),
        account,
        _Store(),
        portfolio="p",
        orders={},
        funded_until=T0,
        clock=lambda: clock[0],
    )
    return gateway, account


@pytest.mark.parametrize(("interval", "payments"), [(1, 24), (4, 6), (8, 3), (None, 3), (3, 3)])
def test_each_perp_pays_on_its_own_interval(interval: int | None, payments: int) -> None:
    clock = [T0 + timedelta(days=1, minutes=5)]
    gateway, account = _gateway(clock)
    gateway._settle_funding({BTC: Decimal("0.0001")}, {BTC: interval})
    # 1 BTC short at 50,000 receives 5 USDT a payment; an unknown interval (3 h) counts as 8 h.
    assert account.wallet_balance == Decimal(10_000) + 5 * payments
    # Reading again at the same time settles nothing twice; a later read only what is new.
    gateway._settle_funding({BTC: Decimal("0.0001")}, {BTC: interval})
    assert account.wallet_balance == Decimal(10_000) + 5 * payments
    clock[0] += timedelta(hours=8)
    gateway._settle_funding({BTC: Decimal("0.0001")}, {BTC: interval})
    assert account.wallet_balance == Decimal(10_000) + 5 * (payments + payments // 3)


def test_the_venues_interval_is_read_from_the_funding_rate() -> None:
    marks = {BTC: {"interval": "4h"}, "ETH/USDT:USDT": {"interval": None}, "X": {}}
    board = PriceBoard(cast(CcxtGateway, None), marks, {})
    assert board.funding_interval(BTC) == 4
    assert board.funding_interval("ETH/USDT:USDT") is None
    assert board.funding_interval("X") is None
    assert board.funding_interval("missing") is None
