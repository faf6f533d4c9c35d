"""What a run did, counted exactly: trades, fees, slippage, funding, borrow interest, spot sold
(the taxable volume), cap states, liquidations and rolls, plus a list of dated events for
reports and for proving that two ways of replaying the same data agree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from rebalancer.sim import (
    Fill,
    FundingPayment,
    InterestCharge,
    LiquidationReport,
    Rejection,
    SpotFill,
)

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Event:
    bar: int
    kind: str  # rebalance | roll | liquidation | rejected | skipped
    detail: str


@dataclass(slots=True)
class Ledger:
    rebalances: int = 0
    rolls: int = 0
    liquidations: int = 0
    cap_bound: int = 0  # rebalances whose plan found the cap binding (or the account over it)
    rejected: int = 0
    perp_traded: Decimal = ZERO
    spot_traded: Decimal = ZERO
    spot_sold: Decimal = ZERO
    fees: Decimal = ZERO
    slippage: Decimal = ZERO
    funding_paid: Decimal = ZERO
    funding_received: Decimal = ZERO
    insurance_loss: Decimal = ZERO
    interest: Decimal = ZERO  # unified: interest charged on borrowed quote
    events: list[Event] = field(default_factory=list)
    costs_by_bar: dict[int, Decimal] = field(default_factory=dict)  # fees + slippage
    funding_by_bar: dict[int, Decimal] = field(default_factory=dict)  # signed, received > 0
    interest_by_bar: dict[int, Decimal] = field(default_factory=dict)

    def perp_fill(self, bar: int, fill: Fill, mark: Decimal) -> None:
        slip = abs(fill.price - mark) * fill.qty
        self.perp_traded += fill.notional
        self._cost(bar, fill.fee, slip)

    def spot_fill(self, bar: int, fill: SpotFill, price: Decimal, quote: str) -> None:
        fee = fill.fee if fill.fee_asset == quote else fill.fee * fill.price
        self.spot_traded += fill.notional
        if fill.side.value == "SELL":
            self.spot_sold += fill.notional
        self._cost(bar, fee, abs(fill.price - price) * fill.qty)

    def _cost(self, bar: int, fee: Decimal, slip: Decimal) -> None:
        self.fees += fee
        self.slippage += slip
        self.costs_by_bar[bar] = self.costs_by_bar.get(bar, ZERO) + fee + slip

    def funding(self, bar: int, payments: Iterable[FundingPayment]) -> None:
        for payment in payments:
            if payment.amount < 0:
                self.funding_paid -= payment.amount
            else:
                self.funding_received += payment.amount
            self.funding_by_bar[bar] = self.funding_by_bar.get(bar, ZERO) + payment.amount

    def charge(self, bar: int, charge: InterestCharge) -> None:
        """Interest on borrowed quote, debited from the quote balance at `bar`."""
        self.interest += charge.amount
        self.interest_by_bar[bar] = self.interest_by_bar.get(bar, ZERO) + charge.amount

    def rejection(self, bar: int, what: str, rejection: Rejection) -> None:
        self.rejected += 1
        self.events.append(Event(bar, "rejected", f"{what}: {rejection.reason.value}"))

    def liquidation(self, bar: int, report: LiquidationReport) -> None:
        self.liquidations += 1
        self.insurance_loss += report.insurance_fund_loss
        closed = ", ".join(f"{f.symbol} {f.side.value} {f.qty} at {f.price}" for f in report.fills)
        self.events.append(Event(bar, "liquidation", closed))

    def note(self, bar: int, kind: str, detail: str) -> None:
        self.events.append(Event(bar, kind, detail))
