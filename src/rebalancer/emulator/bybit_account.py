"""The emulator's Bybit V5 market data and account endpoints (see `emulator.bybit`): instruments,
tickers, the unified wallet with its collateral figures, positions, fee rates, key permissions,
account info and the leverage and position-mode settings."""

from __future__ import annotations

from decimal import Decimal

from rebalancer.emulator.bybit import BybitError, Params, ok, text
from rebalancer.emulator.exchange import Exchange

# -- market data ---------------------------------------------------------------------------------


def _category(params: Params) -> str:
    category = str(params.get("category", ""))
    if category not in ("spot", "linear"):
        raise BybitError(10001, f"params error: category {category!r} not served")
    return category


def instruments(exchange: Exchange, params: Params) -> object:
    category = _category(params)
    if params.get("status") == "PreLaunch":
        return ok({"category": category, "list": []})
    account = exchange.account
    rows: list[dict[str, object]] = []
    if category == "spot":
        for spot in account.spot.markets:
            rows.append(
                {
                    "symbol": spot.symbol,
                    "baseCoin": spot.base,
                    "quoteCoin": spot.quote,
                    "innovation": "0",
                    "status": "Trading",
                    "marginTrading": "utaOnly",
                    "lotSizeFilter": {
                        "basePrecision": text(spot.step_size),
                        "quotePrecision": "0.0000001",
                        "minOrderQty": text(spot.min_qty),
                        "maxOrderQty": "10000",
                        "minOrderAmt": text(spot.min_notional),
                        "maxOrderAmt": "10000000",
                    },
                    "priceFilter": {"tickSize": text(spot.tick_size)},
                }
            )
    else:
        for perp in account.perps:
            rows.append(
                {
                    "symbol": perp.symbol,
                    "contractType": "LinearPerpetual",
                    "status": "Trading",
                    "baseCoin": perp.base,
                    "quoteCoin": perp.quote,
                    "settleCoin": perp.quote,
                    "launchTime": "1585526400000",
                    "priceScale": "2",
                    "leverageFilter": {
                        "minLeverage": "1",
                        "maxLeverage": f"{perp.max_leverage}.00",
                        "leverageStep": "0.01",
                    },
                    "priceFilter": {
                        "minPrice": text(perp.tick_size),
                        "maxPrice": "1999999.80",
                        "tickSize": text(perp.tick_size),
                    },
                    "lotSizeFilter": {
                        "maxOrderQty": "1190.000",
                        "minOrderQty": text(perp.min_qty),
                        "qtyStep": text(perp.step_size),
                        "postOnlyMaxOrderQty": "1190.000",
                        "maxMktOrderQty": "500.000",
                        "minNotionalValue": text(perp.min_notional),
                    },
                    "unifiedMarginTrade": True,
                    "fundingInterval": 480,
                }
            )
    return ok({"category": category, "list": rows})


def tickers(exchange: Exchange, params: Params) -> object:
    category = _category(params)
    account = exchange.account
    wanted = params.get("symbol")
    rows: list[dict[str, object]] = []
    if category == "spot":
        for spot in account.spot.markets:
            price = account.spot.price(spot.symbol)
            if price is None or (wanted and wanted != spot.symbol):
                continue
            rows.append({"symbol": spot.symbol, "lastPrice": text(price), **_book(price)})
    else:
        for perp in account.perps:
            mark = account.mark(perp.symbol)
            if mark is None or (wanted and wanted != perp.symbol):
                continue
            rate = exchange.funding_rates.get(perp.symbol, Decimal(0))
            rows.append(
                {
                    "symbol": perp.symbol,
                    "lastPrice": text(mark),
                    "markPrice": text(mark),
                    "indexPrice": text(mark),
                    "fundingRate": text(rate),
                    "nextFundingTime": str(exchange.next_funding_ms()),
                    **_book(mark),
                }
            )
    return ok({"category": category, "list": rows})


def _book(price: Decimal) -> dict[str, str]:
    return {
        "bid1Price": text(price),
        "bid1Size": "1",
        "ask1Price": text(price),
        "ask1Size": "1",
        "volume24h": "0",
        "turnover24h": "0",
    }


# -- account -------------------------------------------------------------------------------------


def wallet_balance(exchange: Exchange, params: Params) -> object:
    if params.get("accountType") != "UNIFIED":
        raise BybitError(10001, "accountType only support UNIFIED.")
    account = exchange.account
    quote = account.quote
    upl = account.unrealized_pnl()
    coins: list[dict[str, object]] = []
    total_wallet = Decimal(0)
    for balance in account.spot.balances():
        if balance.asset == quote or not balance.total:
            continue
        price = account.spot.price(f"{balance.asset}{quote}") or Decimal(0)
        value = balance.total * price
        total_wallet += value
        coins.append(_coin(balance.asset, balance.total, value, Decimal(0), Decimal(0)))
    cash = account.quote_balance()  # unified: the futures wallet and the spot quote
    total_wallet += cash
    coins.append(_coin(quote, cash, cash, upl, max(-cash, Decimal(0))))
    margin_balance = account.margin_balance()
    im, mm = account.initial_margin(), account.maintenance_margin()
    return ok(
        {
            "list": [
                {
                    "accountType": "UNIFIED",
                    "totalEquity": text(total_wallet + upl),
                    "totalWalletBalance": text(total_wallet),
                    "totalMarginBalance": text(margin_balance),
                    "totalAvailableBalance": text(max(margin_balance - im, Decimal(0))),
                    "totalPerpUPL": text(upl),
                    "totalInitialMargin": text(im),
                    "totalMaintenanceMargin": text(mm),
                    "accountIMRate": text(_ratio(im, margin_balance)),
                    "accountMMRate": text(_ratio(mm, margin_balance)),
                    "accountLTV": "0",
                    "coin": coins,
                }
            ]
        }
    )


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(Decimal("0.0001")) if whole > 0 else Decimal(0)


def _coin(
    coin: str, wallet: Decimal, value: Decimal, upl: Decimal, borrowed: Decimal
) -> dict[str, object]:
    return {
        "coin": coin,
        "walletBalance": text(wallet),
        "equity": text(wallet + upl),
        "usdValue": text(value + upl),
        "unrealisedPnl": text(upl),
        "borrowAmount": text(borrowed),
        "locked": "0",
        "collateralSwitch": True,
        "marginCollateral": True,
    }


def position_list(exchange: Exchange, params: Params) -> object:
    if _category(params) != "linear":
        raise BybitError(10001, "params error: category")
    symbol, settle = params.get("symbol"), params.get("settleCoin")
    if not symbol and not settle:
        raise BybitError(10001, "params error: symbol or settleCoin is required")
    account = exchange.account
    rows: list[dict[str, str]] = []
    for spec in account.perps:
        if (symbol and spec.symbol != symbol) or (settle and spec.quote != settle):
            continue
        position = account.position(spec.symbol)
        if not position.size and not symbol:
            continue  # Bybit lists open positions unless a symbol is named
        mark = account.mark(spec.symbol) or Decimal(0)
        size = position.size
        entry = position.cost / size if size else Decimal(0)
        rows.append(
            {
                "symbol": spec.symbol,
                "positionIdx": "0",
                "side": "Buy" if size > 0 else "Sell" if size < 0 else "",
                "size": text(abs(size)),
                "avgPrice": text(entry),
                "markPrice": text(mark),
                "positionValue": text(abs(position.cost)),
                "unrealisedPnl": text(size * mark - position.cost),
                "leverage": str(account.leverage(spec.symbol)),
                "tradeMode": "0",
                "positionStatus": "Normal",
                "createdTime": "1700000000000",
                "updatedTime": str(exchange.now_ms()),
            }
        )
    return ok({"category": "linear", "list": rows})


def fee_rate(exchange: Exchange, params: Params) -> object:
    symbols = (
        [params["symbol"]] if params.get("symbol") else [p.symbol for p in exchange.account.perps]
    )
    fees = exchange.account.fees
    return ok(
        {
            "list": [
                {
                    "symbol": s,
                    "takerFeeRate": text(fees.taker_rate),
                    "makerFeeRate": text(fees.maker_rate),
                }
                for s in symbols
            ]
        }
    )


def query_api(exchange: Exchange, params: Params) -> object:
    withdraw = exchange.state.api_restrictions.get("enableWithdrawals", False)
    return ok(
        {
            "id": "1",
            "note": "emulator",
            "apiKey": "redacted",
            "readOnly": 0,
            "secret": "",
            "permissions": {
                "ContractTrade": ["Order", "Position"],
                "Spot": ["SpotTrade"],
                "Wallet": ["AccountTransfer", *(["Withdraw"] if withdraw else [])],
                "Options": [],
                "Derivatives": [],
                "Exchange": [],
                "NFT": [],
            },
            "ips": ["*"],
            "type": 1,
            "unified": 0,
            "uta": 1,
        }
    )


def coin_info(exchange: Exchange, params: Params) -> object:
    """Coins and their chains (ccxt's load_markets reads them once with keys)."""
    account = exchange.account
    coins = sorted({m.base for m in account.spot.markets} | {account.quote})
    rows = [
        {
            "name": c,
            "coin": c,
            "remainAmount": "1000000",
            "chains": [
                {
                    "chainType": c,
                    "chain": c,
                    "confirmation": "1",
                    "withdrawFee": "0",
                    "depositMin": "0",
                    "withdrawMin": "0",
                    "minAccuracy": "8",
                    "chainDeposit": "1",
                    "chainWithdraw": "1",
                    "withdrawPercentageFee": "0",
                }
            ],
        }
        for c in coins
    ]
    return ok({"rows": rows})


def account_info(exchange: Exchange, params: Params) -> object:
    return ok(
        {
            "unifiedMarginStatus": 5,
            "marginMode": "REGULAR_MARGIN",
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
            "updatedTime": str(exchange.now_ms()),
        }
    )


def set_leverage(exchange: Exchange, params: Params) -> object:
    symbol = str(params.get("symbol", ""))
    try:
        buy, sell = (
            int(Decimal(str(params["buyLeverage"]))),
            int(Decimal(str(params["sellLeverage"]))),
        )
    except (KeyError, ArithmeticError, ValueError):
        raise BybitError(10001, "params error: buyLeverage and sellLeverage") from None
    account = exchange.account
    if account.perp_spec(symbol) is None:
        raise BybitError(10001, "params error: symbol invalid")
    if buy != sell:
        raise BybitError(10001, "buy leverage must equal sell leverage in one-way mode")
    if account.leverage(symbol) == buy:
        raise BybitError(110043, "Set leverage not modified")
    rejection = account.set_leverage(symbol, buy)
    if rejection is not None:
        raise BybitError(10001, rejection.detail)
    return ok({})


def switch_mode(exchange: Exchange, params: Params) -> object:
    hedged = str(params.get("mode")) == "3"
    if exchange.dual_side_position == hedged:
        raise BybitError(110025, "Position mode is not modified")
    if exchange.account.positions():
        raise BybitError(110024, "You have existing positions, so position mode cannot be switched")
    exchange.dual_side_position = hedged
    return ok({})
