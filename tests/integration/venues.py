"""The venues the integration suites run on, from one place.

`VENUES` parametrises every suite that judges behaviour common to all venues (a cycle, a
fault, a crash, the kill switch); `PATHS` names, per venue, the emulator paths those tests
aim their faults at and count requests on. Adding a venue is one entry in each.
"""

from __future__ import annotations

from dataclasses import dataclass

VENUES = ("binance", "bybit")


@dataclass(frozen=True, slots=True)
class VenuePaths:
    """Where a venue's emulator serves what a test aims at."""

    batch: str  # the order placement (POST) path the gateway uses
    lookup: str  # the first path an order lookup by client id reads
    read: str  # a read every snapshot makes (a target for throttling storms)


PATHS: dict[str, VenuePaths] = {
    "binance": VenuePaths(
        batch="/fapi/v1/batchOrders", lookup="/fapi/v1/order", read="/fapi/v1/premiumIndex"
    ),
    "bybit": VenuePaths(
        batch="/v5/order/create-batch",
        lookup="/v5/order/history",
        read="/v5/account/wallet-balance",
    ),
}
