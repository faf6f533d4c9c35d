"""Account settings and wallet transfers as Binance answers them: leverage (-4028 out of
range), margin type (-4046 when unchanged, -4048 with a position), position mode (-4059 /
-4068) and spot <-> USDⓈ-M transfers of the quote asset (-5013 when short).
"""

from __future__ import annotations

from decimal import Decimal

from rebalancer.emulator.errors import BinanceError, invalid_symbol
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.orders import Segment
from rebalancer.sim import MarginMode


def set_leverage(exchange: Exchange, symbol: str, leverage: int) -> None:
    with exchange.lock:
        rejection = exchange.account.set_leverage(symbol, leverage)
        if rejection is not None:
            if exchange.account.perp_spec(symbol) is None:
                raise invalid_symbol()
            raise BinanceError(-4028, f"Leverage {leverage} is not valid")


def set_margin_type(exchange: Exchange, symbol: str, margin_type: str) -> None:
    modes = {"CROSSED": MarginMode.CROSS, "ISOLATED": MarginMode.ISOLATED}
    with exchange.lock:
        if exchange.account.perp_spec(symbol) is None:
            raise invalid_symbol()
        if margin_type not in modes:
            raise BinanceError(-4044, "The margin type is not valid.")
        if exchange.account.margin_mode(symbol) is modes[margin_type]:
            raise BinanceError(-4046, "No need to change margin type.")
        if exchange.account.position(symbol).size:
            raise BinanceError(-4048, "Margin type cannot be changed if there exists position.")
        exchange.account.set_margin_mode(symbol, modes[margin_type])


def set_dual_side_position(exchange: Exchange, dual: bool) -> None:
    with exchange.lock:
        if dual == exchange.dual_side_position:
            raise BinanceError(-4059, "No need to change position side.")
        if exchange.account.positions() or exchange.store.open_orders(Segment.FUTURES):
            raise BinanceError(-4068, "Position side cannot be changed if there exists position.")
        exchange.dual_side_position = dual


def transfer(exchange: Exchange, transfer_type: str, asset: str, amount: Decimal) -> int:
    with exchange.lock:
        if asset != exchange.account.quote:
            raise BinanceError(-5013, "Asset transfer failed: insufficient balance")
        if transfer_type == "MAIN_UMFUTURE":
            rejection = exchange.account.transfer_to_futures(amount)
        elif transfer_type == "UMFUTURE_MAIN":
            rejection = exchange.account.transfer_to_spot(amount)
        else:
            raise BinanceError(-1100, "Illegal characters found in parameter 'type'.")
        if rejection is not None:
            raise BinanceError(-5013, "Asset transfer failed: insufficient balance")
        return exchange.new_transfer_id()
