"""The venues the integration suites run on, from one place.

`VENUES` parametrises every suite that judges behaviour common to all venues (a cycle, a
fault, a crash, the kill switch); `PATHS` names, per venue, the emulator paths those tests
aim their faults at and count requests on. Adding a venue is one entry in each.
"""

from __future__ import annotations

from dataclasses import dataclass

VENUES = ("binance", "bybit", "okx")
UNIFIED = ("bybit", "okx")  # the emulator plays these with one account: coins are collateral


@dataclass(frozen=True, slots=True)
class VenuePaths:
    """Where a venue's emulator serves what a test aims at."""

    batch: str  # the order placement (POST) path the gateway uses
    lookup: str  # the first path an order lookup by client id reads
    lookup_reads: int  # how often one lookup reads `lookup` when the order is not there
    read: str  # a read every snapshot makes (a target for throttling storms)


PATHS: dict[str, VenuePaths] = {
    "binance": VenuePaths(
        batch="/fapi/v1/batchOrders",
        lookup="/fapi/v1/order",
        lookup_reads=1,
        read="/fapi/v1/premiumIndex",
    ),
    "bybit": VenuePaths(
        batch="/v5/order/create-batch",
        lookup="/v5/order/history",
        lookup_reads=2,  # history, open orders, history again
        read="/v5/account/wallet-balance",
    ),
    "okx": VenuePaths(
        batch="/api/v5/trade/batch-orders",
        lookup="/api/v5/trade/order",
        lookup_reads=1,
        read="/api/v5/account/balance",
    ),
}
