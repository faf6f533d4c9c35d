"""Binance JSON for private account reads: spot account, USDⓈ-M account (v2 and v3), position
risk (v2 and v3), commission rates, symbol configuration, API-key restrictions and the capital
coin list.
"""

from __future__ import annotations

from decimal import Decimal

from rebalancer.emulator.errors import invalid_symbol
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.render import Json, fmt
from rebalancer.sim import MarginLine

_ZERO = Decimal(0)

DEFAULT_RESTRICTIONS: dict[str, bool] = {
    "ipRestrict": False,
    "enableReading": True,
    "enableSpotAndMarginTrading": True,
    "enableFutures": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "permitsUniversalTransfer": True,
    "enableMargin": False,
    "enableVanillaOptions": False,
    "enablePortfolioMarginTrading": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": False,
}


def spot_account(exchange: Exchange) -> Json:
    now = exchange.now_ms()
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": fmt(exchange.account.fees.maker_rate, 8),
            "taker": fmt(exchange.account.fees.taker_rate, 8),
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now,
        "accountType": "SPOT",
        "balances": [
            {"asset": b.asset, "free": fmt(b.free, 8), "locked": fmt(b.locked, 8)}
            for b in exchange.account.spot.balances()
        ],
        "permissions": ["SPOT"],
        "uid": 354_937_868,
    }


def commission_rate(exchange: Exchange, symbol: str) -> Json:
    """The account's own USDⓈ-M rates (its fee tier), as /fapi/v1/commissionRate answers."""
    if exchange.account.perp_spec(symbol) is None:
        raise invalid_symbol()
    fees = exchange.account.fees
    return {
        "symbol": symbol,
        "makerCommissionRate": fmt(fees.maker_rate, 6),
        "takerCommissionRate": fmt(fees.taker_rate, 6),
    }


def _lines(exchange: Exchange) -> dict[str, MarginLine]:
    return {line.symbol: line for line in exchange.account.margin_lines()}


def futures_account(exchange: Exchange, *, v3: bool) -> Json:
    account = exchange.account
    now = exchange.now_ms()
    wallet = account.wallet_balance
    upnl = account.unrealized_pnl()
    initial = account.initial_margin()
    maint = account.maintenance_margin()
    available = account.available_balance()
    max_withdraw = account.max_withdraw()
    totals: Json = {
        "totalInitialMargin": fmt(initial),
        "totalMaintMargin": fmt(maint),
        "totalWalletBalance": fmt(wallet),
        "totalUnrealizedProfit": fmt(upnl),
        "totalMarginBalance": fmt(wallet + upnl),
        "totalPositionInitialMargin": fmt(initial),
        "totalOpenOrderInitialMargin": "0",
        "totalCrossWalletBalance": fmt(wallet),
        "totalCrossUnPnl": fmt(upnl),
        "availableBalance": fmt(available),
        "maxWithdrawAmount": fmt(max_withdraw),
    }
    asset: Json = {
        "asset": account.quote,
        "walletBalance": fmt(wallet),
        "unrealizedProfit": fmt(upnl),
        "marginBalance": fmt(wallet + upnl),
        "maintMargin": fmt(maint),
        "initialMargin": fmt(initial),
        "positionInitialMargin": fmt(initial),
        "openOrderInitialMargin": "0",
        "crossWalletBalance": fmt(wallet),
        "crossUnPnl": fmt(upnl),
        "availableBalance": fmt(available),
        "maxWithdrawAmount": fmt(max_withdraw),
        # ccxt skips assets whose updateTime is 0 (never touched), so report "now".
        "updateTime": now,
    }
    lines = _lines(exchange)
    positions: list[Json] = []
    for spec in account.perps:
        line = lines.get(spec.symbol)
        if v3 and line is None:
            continue
        positions.append(_account_position(exchange, spec.symbol, line, now, v3=v3))
    body: Json = {**totals, "assets": [asset], "positions": positions}
    if not v3:
        body.update(
            {
                "feeTier": 0,
                "feeBurn": False,
                "canTrade": True,
                "canDeposit": True,
                "canWithdraw": True,
                "updateTime": 0,
                "multiAssetsMargin": False,
                "tradeGroupId": -1,
            }
        )
    return body


def _account_position(
    exchange: Exchange, symbol: str, line: MarginLine | None, now: int, *, v3: bool
) -> Json:
    size = line.size if line else _ZERO
    body: Json = {
        "symbol": symbol,
        "positionSide": "BOTH",
        "positionAmt": fmt(size),
        "unrealizedProfit": fmt(line.unrealized_pnl if line else _ZERO),
        "isolatedMargin": "0",
        "notional": fmt(line.size * line.mark if line else _ZERO),
        "isolatedWallet": "0",
        "initialMargin": fmt(line.initial_margin if line else _ZERO),
        "maintMargin": fmt(line.maintenance_margin if line else _ZERO),
        "updateTime": now if line else 0,
    }
    if not v3:
        position = exchange.account.position(symbol)
        body.update(
            {
                "leverage": str(exchange.account.leverage(symbol)),
                "entryPrice": fmt(position.entry_price),
                "breakEvenPrice": fmt(position.entry_price),
                "maxNotional": "1000000000",
                "bidNotional": "0",
                "askNotional": "0",
                "isolated": exchange.account.margin_mode(symbol).value == "isolated",
                "positionInitialMargin": fmt(line.initial_margin if line else _ZERO),
                "openOrderInitialMargin": "0",
            }
        )
    return body


def position_risk(exchange: Exchange, symbol: str | None, *, v3: bool) -> list[Json]:
    account = exchange.account
    lines = _lines(exchange)
    now = exchange.now_ms()
    out: list[Json] = []
    for spec in account.perps:
        if symbol not in (None, spec.symbol):
            continue
        line = lines.get(spec.symbol)
        if v3 and line is None:
            continue
        position = account.position(spec.symbol)
        mark = account.mark(spec.symbol) or _ZERO
        liquidation = account.liquidation_price(spec.symbol) if line else None
        body: Json = {
            "symbol": spec.symbol,
            "positionSide": "BOTH",
            "positionAmt": fmt(position.size),
            "entryPrice": fmt(position.entry_price),
            "breakEvenPrice": fmt(position.entry_price),
            "markPrice": fmt(mark),
            "unRealizedProfit": fmt(line.unrealized_pnl if line else _ZERO),
            "liquidationPrice": fmt(liquidation or _ZERO),
            "isolatedMargin": "0",
            "notional": fmt(position.size * mark),
            "isolatedWallet": "0",
            "updateTime": now if line else 0,
        }
        if v3:
            body.update(
                {
                    "marginAsset": account.quote,
                    "initialMargin": fmt(line.initial_margin if line else _ZERO),
                    "maintMargin": fmt(line.maintenance_margin if line else _ZERO),
                    "positionInitialMargin": fmt(line.initial_margin if line else _ZERO),
                    "openOrderInitialMargin": "0",
                    "adl": 1,
                    "bidNotional": "0",
                    "askNotional": "0",
                }
            )
        else:
            body.update(
                {
                    "leverage": str(account.leverage(spec.symbol)),
                    "maxNotionalValue": "1000000000",
                    "marginType": account.margin_mode(spec.symbol).value,
                    "isAutoAddMargin": "false",
                }
            )
        out.append(body)
    return out


def symbol_config(exchange: Exchange, symbol: str | None) -> list[Json]:
    account = exchange.account
    return [
        {
            "symbol": spec.symbol,
            "marginType": "CROSSED"
            if account.margin_mode(spec.symbol).value == "cross"
            else "ISOLATED",
            "isAutoAddMargin": False,
            "leverage": account.leverage(spec.symbol),
            "maxNotionalValue": "1000000000",
        }
        for spec in account.perps
        if symbol in (None, spec.symbol)
    ]


def api_restrictions(exchange: Exchange) -> Json:
    return {
        **DEFAULT_RESTRICTIONS,
        **exchange.state.api_restrictions,
        "createTime": 1_700_000_000_000,
        "tradingAuthorityExpirationTime": 1_900_000_000_000,
    }


def capital_config(exchange: Exchange) -> list[Json]:
    account = exchange.account
    assets = {b.asset for b in account.spot.balances()}
    assets |= {m.base for m in account.spot.markets} | {m.quote for m in account.spot.markets}
    assets |= {p.base for p in account.perps} | {account.quote}
    out: list[Json] = []
    for asset in sorted(assets):
        balance = account.balance(asset)
        out.append(
            {
                "coin": asset,
                "name": asset,
                "depositAllEnable": True,
                "withdrawAllEnable": True,
                "free": fmt(balance.free, 8),
                "locked": fmt(balance.locked, 8),
                "freeze": "0",
                "withdrawing": "0",
                "ipoing": "0",
                "ipoable": "0",
                "storage": "0",
                "isLegalMoney": False,
                "trading": True,
                "networkList": [],
            }
        )
    return out
