"""Simulated exchange account shared by the local emulator, paper trading and the backtester.

Spot balances, one cross-margined USDⓈ-M futures wallet, one-way perp positions, fills at the
mark with slippage and fees, exchange-filter validation with typed rejections, funding,
margin and liquidation. Pure Python and `Decimal`; no I/O and no clock reads.
"""

from rebalancer.sim.account import Account
from rebalancer.sim.fees import ZERO_FEES, FeeSchedule
from rebalancer.sim.fills import NO_SLIPPAGE, SlippageModel, TradeEffect, apply_trade
from rebalancer.sim.funding import (
    FUNDING_INTERVALS_HOURS,
    YEAR_SECONDS,
    funding_payment,
    funding_times,
    interest_charge,
)
from rebalancer.sim.margin import MarginLine, is_liquidatable, liquidation_price
from rebalancer.sim.spot import SpotBook
from rebalancer.sim.values import (
    MONEY_QUANTUM,
    Balance,
    Fill,
    FundingPayment,
    InterestCharge,
    LiquidationReport,
    Liquidity,
    MarginMode,
    PerpSpec,
    Position,
    Rejection,
    RejectReason,
    Side,
    SpotFill,
    SpotSpec,
    quantize_money,
)

__all__ = [
    "FUNDING_INTERVALS_HOURS",
    "MONEY_QUANTUM",
    "NO_SLIPPAGE",
    "YEAR_SECONDS",
    "ZERO_FEES",
    "Account",
    "Balance",
    "FeeSchedule",
    "Fill",
    "FundingPayment",
    "InterestCharge",
    "LiquidationReport",
    "Liquidity",
    "MarginLine",
    "MarginMode",
    "PerpSpec",
    "Position",
    "RejectReason",
    "Rejection",
    "Side",
    "SlippageModel",
    "SpotBook",
    "SpotFill",
    "SpotSpec",
    "TradeEffect",
    "apply_trade",
    "funding_payment",
    "funding_times",
    "interest_charge",
    "is_liquidatable",
    "liquidation_price",
    "quantize_money",
]
