"""The Bybit V5 routes the emulator serves: (method, path) -> (handler, signed)."""

from __future__ import annotations

from rebalancer.emulator.bybit import Handler, ok
from rebalancer.emulator.bybit_account import (
    account_info,
    coin_info,
    fee_rate,
    instruments,
    position_list,
    query_api,
    set_leverage,
    switch_mode,
    tickers,
    wallet_balance,
)
from rebalancer.emulator.bybit_orders import create_batch, create_order, orders_handler
from rebalancer.emulator.carry_views import executions, transaction_log

ROUTES: dict[tuple[str, str], tuple[Handler, bool]] = {
    ("GET", "/v5/market/time"): (
        lambda e, p: ok(
            {"timeSecond": str(e.now_ms() // 1000), "timeNano": str(e.now_ms() * 10**6)}
        ),
        False,
    ),
    ("GET", "/v5/market/instruments-info"): (instruments, False),
    ("GET", "/v5/market/tickers"): (tickers, False),
    ("GET", "/v5/account/wallet-balance"): (wallet_balance, True),
    ("GET", "/v5/position/list"): (position_list, True),
    ("GET", "/v5/account/fee-rate"): (fee_rate, True),
    ("GET", "/v5/account/info"): (account_info, True),
    ("GET", "/v5/asset/coin/query-info"): (coin_info, True),
    ("GET", "/v5/user/query-api"): (query_api, True),
    ("POST", "/v5/order/create"): (create_order, True),
    ("POST", "/v5/order/create-batch"): (create_batch, True),
    ("GET", "/v5/order/realtime"): (orders_handler(open_only=True), True),
    ("GET", "/v5/order/history"): (orders_handler(open_only=False), True),
    ("POST", "/v5/position/set-leverage"): (set_leverage, True),
    ("POST", "/v5/position/switch-mode"): (switch_mode, True),
    ("GET", "/v5/execution/list"): (executions, True),
    ("GET", "/v5/account/transaction-log"): (transaction_log, True),
}
