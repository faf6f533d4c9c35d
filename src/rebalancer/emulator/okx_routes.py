"""The OKX V5 routes the emulator serves: (method, path) -> (handler, signed)."""

from __future__ import annotations

from rebalancer.emulator.okx import Handler
from rebalancer.emulator.okx_account import (
    account_config,
    balance,
    currencies,
    funding_rate,
    instruments,
    leverage_info,
    mark_price,
    positions,
    public_time,
    set_leverage,
    tickers,
    trade_fee,
)
from rebalancer.emulator.okx_bills import bills, bills_archive
from rebalancer.emulator.okx_orders import batch_orders, create_order, fills, get_order

ROUTES: dict[tuple[str, str], tuple[Handler, bool]] = {
    ("GET", "/api/v5/public/time"): (public_time, False),
    ("GET", "/api/v5/public/instruments"): (instruments, False),
    ("GET", "/api/v5/public/mark-price"): (mark_price, False),
    ("GET", "/api/v5/public/funding-rate"): (funding_rate, False),
    ("GET", "/api/v5/market/tickers"): (tickers, False),
    ("GET", "/api/v5/asset/currencies"): (currencies, True),
    ("GET", "/api/v5/account/config"): (account_config, True),
    ("GET", "/api/v5/account/balance"): (balance, True),
    ("GET", "/api/v5/account/positions"): (positions, True),
    ("GET", "/api/v5/account/trade-fee"): (trade_fee, True),
    ("GET", "/api/v5/account/leverage-info"): (leverage_info, True),
    ("POST", "/api/v5/account/set-leverage"): (set_leverage, True),
    ("POST", "/api/v5/trade/order"): (create_order, True),
    ("POST", "/api/v5/trade/batch-orders"): (batch_orders, True),
    ("GET", "/api/v5/trade/order"): (get_order, True),
    ("GET", "/api/v5/trade/fills"): (fills, True),
    ("GET", "/api/v5/account/bills"): (bills, True),
    ("GET", "/api/v5/account/bills-archive"): (bills_archive, True),
}
