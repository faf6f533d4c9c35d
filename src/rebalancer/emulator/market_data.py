"""Binance JSON for public market data: exchangeInfo (spot and USDⓈ-M), 24h tickers, latest
prices, premiumIndex (mark price and funding) and leverage brackets.
"""

from __future__ import annotations

from decimal import Decimal

from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.render import Json, fmt
from rebalancer.sim import PerpSpec, SpotSpec

_PERPETUAL_DELIVERY_MS = 4_133_404_800_000  # Binance's "no expiry" delivery date (2100-12-25)
_ONBOARD_MS = 1_569_398_400_000


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _spot_symbol(spec: SpotSpec) -> Json:
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(spec.tick_size, 8),
                "maxPrice": "1000000.00000000",
                "tickSize": fmt(spec.tick_size, 8),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(spec.min_qty, 8),
                "maxQty": "9000.00000000",
                "stepSize": fmt(spec.step_size, 8),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(spec.min_notional, 8),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _perp_symbol(spec: PerpSpec) -> Json:
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": _PERPETUAL_DELIVERY_MS,
        "onboardDate": _ONBOARD_MS,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.quote,
        "pricePrecision": _decimals(spec.tick_size),
        "quantityPrecision": _decimals(spec.step_size),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(spec.tick_size),
                "maxPrice": "4529764",
                "tickSize": fmt(spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "stepSize": fmt(spec.step_size),
                "maxQty": "1000",
                "minQty": fmt(spec.min_qty),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "stepSize": fmt(spec.step_size),
                "maxQty": "120",
                "minQty": fmt(spec.min_qty),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": fmt(spec.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def _rate_limits(weight_limit: int) -> list[Json]:
    return [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": weight_limit,
        },
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
    ]


def spot_exchange_info(exchange: Exchange) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": exchange.now_ms(),
        "rateLimits": _rate_limits(6000),
        "exchangeFilters": [],
        "symbols": [_spot_symbol(s) for s in exchange.account.spot.markets],
    }


def futures_exchange_info(exchange: Exchange) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": exchange.now_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": _rate_limits(2400),
        "exchangeFilters": [],
        "assets": [
            {"asset": exchange.account.quote, "marginAvailable": True, "autoAssetExchange": "0"}
        ],
        "symbols": [_perp_symbol(s) for s in exchange.account.perps],
    }


def _ticker(symbol: str, price: Decimal, now: int, *, spot: bool) -> Json:
    places = 8 if spot else None
    body: Json = {
        "symbol": symbol,
        "priceChange": fmt(Decimal(0), places),
        "priceChangePercent": "0.000",
        "weightedAvgPrice": fmt(price, places),
        "lastPrice": fmt(price, places),
        "lastQty": fmt(Decimal(1), places),
        "openPrice": fmt(price, places),
        "highPrice": fmt(price, places),
        "lowPrice": fmt(price, places),
        "volume": fmt(Decimal(0), places),
        "quoteVolume": fmt(Decimal(0), places),
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": 1,
        "lastId": 1,
        "count": 1,
    }
    if spot:
        body.update(
            {
                "prevClosePrice": fmt(price, 8),
                "bidPrice": fmt(price, 8),
                "bidQty": "1.00000000",
                "askPrice": fmt(price, 8),
                "askQty": "1.00000000",
            }
        )
    return body


def tickers(exchange: Exchange, symbol: str | None, *, spot: bool) -> list[Json]:
    now = exchange.now_ms()
    prices = _prices(exchange, spot=spot)
    return [_ticker(s, p, now, spot=spot) for s, p in prices.items() if symbol in (None, s)]


def latest_prices(exchange: Exchange, symbol: str | None, *, spot: bool) -> list[Json]:
    now = exchange.now_ms()
    out: list[Json] = []
    for s, p in _prices(exchange, spot=spot).items():
        if symbol in (None, s):
            out.append(
                {"symbol": s, "price": fmt(p, 8)}
                if spot
                else {"symbol": s, "price": fmt(p), "time": now}
            )
    return out


def _prices(exchange: Exchange, *, spot: bool) -> dict[str, Decimal]:
    account = exchange.account
    if spot:
        markets = [m.symbol for m in account.spot.markets]
        return {s: p for s in markets if (p := account.spot.price(s)) is not None}
    return {s.symbol: p for s in account.perps if (p := account.mark(s.symbol)) is not None}


def premium_index(exchange: Exchange, symbol: str | None) -> list[Json]:
    now = exchange.now_ms()
    out: list[Json] = []
    for s, mark in _prices(exchange, spot=False).items():
        if symbol not in (None, s):
            continue
        index = exchange.account.spot.price(s) or mark
        out.append(
            {
                "symbol": s,
                "markPrice": fmt(mark),
                "indexPrice": fmt(index),
                "estimatedSettlePrice": fmt(mark),
                "lastFundingRate": fmt(exchange.funding_rates.get(s, Decimal(0))),
                "interestRate": "0.00010000",
                "nextFundingTime": exchange.next_funding_ms(),
                "time": now,
            }
        )
    return out


def leverage_brackets(exchange: Exchange, symbol: str | None) -> list[Json]:
    return [
        {
            "symbol": spec.symbol,
            "notionalCoef": 1,
            "brackets": [
                {
                    "bracket": 1,
                    "initialLeverage": spec.max_leverage,
                    "notionalCap": 1_000_000_000,
                    "notionalFloor": 0,
                    # Binance sends JSON numbers here; a string keeps money off floats and ccxt
                    # reads both the same way.
                    "maintMarginRatio": fmt(spec.maintenance_margin_rate),
                    "cum": 0,
                }
            ],
        }
        for spec in exchange.account.perps
        if symbol in (None, spec.symbol)
    ]
