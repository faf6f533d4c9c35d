"""Margin health: how far prices may move against the hedges before liquidation.

With cross margin every position draws on the same collateral K (F, or a unified account's
collateral value). For each position alone, the adverse move that would bring K down to the
maintenance margin is (K - MM) / |h m|; for all positions moving against the account together
it is (K - MM) / gross. In a unified account the coins are collateral too, so all prices moving
together is the stress: falling, K loses at most the coins' value (a haircut only lessens it)
plus what the net hedge loses; rising, the coins' collateral gains are not counted and a net
short loses. The smallest distance is what the daemon watches. Maintenance margin is the
exchange's figure where the snapshot has one, else the notional times a maintenance rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rebalancer.domain.snapshot import AccountKind, Snapshot


@dataclass(frozen=True, slots=True)
class PositionRisk:
    instrument: str
    notional: Decimal  # signed
    distance: Decimal  # adverse price move, as a fraction, that alone would liquidate


@dataclass(frozen=True, slots=True)
class MarginHealth:
    futures_equity: Decimal  # the collateral K: F when segregated, the exchange's when unified
    gross: Decimal
    maintenance: Decimal
    leverage: Decimal | None  # gross / K; None without positive collateral
    distance: Decimal | None  # the smallest adverse move to liquidation (None: no positions)
    positions: tuple[PositionRisk, ...]
    unified: bool = False  # K is a unified account's collateral value, not a futures wallet

    def below(self, threshold: Decimal) -> bool:
        return self.distance is not None and self.distance < threshold


def margin_health(snapshot: Snapshot, maintenance_rate: Decimal) -> MarginHealth:
    # The collateral the positions draw on: F, or a unified account's collateral value.
    equity = snapshot.collateral
    gross = snapshot.gross_notional
    # The exchange's own maintenance figure where the snapshot carries one.
    maintenance = (
        snapshot.maintenance_margin
        if snapshot.maintenance_margin is not None
        else gross * maintenance_rate
    )
    buffer = equity - maintenance
    risks = tuple(
        PositionRisk(symbol, perp.notional, max(buffer, Decimal(0)) / abs(perp.notional))
        for symbol, perp in sorted(snapshot.perps.items())
        if perp.position != 0
    )
    if snapshot.kind is AccountKind.UNIFIED:
        net = sum((p.notional for p in snapshot.perps.values()), Decimal(0))
        coins = sum((h.exchange * h.price for h in snapshot.spot.values()), Decimal(0))
        exposures = [coins + net, -net]  # loss per unit move: all prices down, all up
    else:
        exposures = [gross]
    together = [max(buffer, Decimal(0)) / e for e in exposures if e > 0]
    distances = [r.distance for r in risks] + together
    return MarginHealth(
        futures_equity=equity,
        gross=gross,
        maintenance=maintenance,
        leverage=gross / equity if equity > 0 else None,
        distance=min(distances) if distances else None,
        positions=risks,
        unified=snapshot.kind is AccountKind.UNIFIED,
    )
