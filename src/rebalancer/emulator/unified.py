"""A unified account over the sim engine, shared by the Bybit and OKX dialects: one quote balance
that fees and PnL settle into and that may go negative (borrowed), and spot coins that back the
perps at a collateral ratio (`HAIRCUTS`; 1 for stablecoins)."""

from __future__ import annotations

from decimal import Decimal

from rebalancer.emulator.carry_book import DEFAULT_BORROW_RATE
from rebalancer.emulator.exchange import Exchange

HAIRCUTS = {"BTC": Decimal("0.95"), "ETH": Decimal("0.95")}
DEFAULT_HAIRCUT = Decimal("0.9")
STABLE = ("USDT", "USDC")


def unify(exchange: Exchange) -> None:
    """Make the emulated account unified: one quote wallet, coins as collateral."""
    account = exchange.account
    exchange.carry.borrow_rate = DEFAULT_BORROW_RATE  # interest on a negative quote balance
    quote = account.spot.balance(account.quote).total
    if quote:
        account.transfer_to_futures(quote)
    for spec in account.spot.markets:
        if spec.base not in STABLE:
            account.haircuts[spec.base] = HAIRCUTS.get(spec.base, DEFAULT_HAIRCUT)
