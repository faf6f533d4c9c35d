"""One dialect per venue behind one interface (`Dialect`), chosen by the ccxt id.

Supported: Binance USDⓈ-M (`binance`, `binanceusdm`), Bybit V5 with a unified trading
account (`bybit`) and OKX V5 with a multi-currency margin account (`okx`). Any other id is
refused with the list of supported venues, in the config (check-config) and here, rather than
guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping

from rebalancer.config.model import SUPPORTED_VENUES
from rebalancer.domain.ledger import CarryRead
from rebalancer.exchange.venues.base import (
    Account,
    Dialect,
    FuturesAccount,
    Rejection,
    Venue,
)
from rebalancer.exchange.venues.binance import Binance
from rebalancer.exchange.venues.bybit import Bybit
from rebalancer.exchange.venues.okx import Okx

DIALECTS: Mapping[str, Dialect] = {
    "binance": Binance(),
    "binanceusdm": Binance(),
    "bybit": Bybit(),
    "okx": Okx(),
}


class UnsupportedVenueError(ValueError):
    """A ccxt id the bot has no dialect for."""


def dialect_for(ccxt_id: str) -> Dialect:
    dialect = DIALECTS.get(ccxt_id)
    if dialect is None:
        raise UnsupportedVenueError(
            f"exchange {ccxt_id!r} is not supported; supported: {', '.join(SUPPORTED_VENUES)}"
        )
    return dialect


__all__ = [
    "DIALECTS",
    "Account",
    "CarryRead",
    "Dialect",
    "FuturesAccount",
    "Rejection",
    "UnsupportedVenueError",
    "Venue",
    "dialect_for",
]
