"""The emulator's OKX V5 public data and account endpoints (see `emulator.okx`): instruments,
mark prices, funding rates, tickers, currencies, the account config and balance with its
multi-currency margin figures, positions, fee rates and the leverage settings."""

from __future__ import annotations

from decimal import Decimal

from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.okx import (
    OkxError,
    Params,
    ct_val,
    lot,
    ok,
    spot_id,
    swap_id,
    swap_spec,
    text,
)

LIST_TIME = "1606468572000"

# -- public data ---------------------------------------------------------------------------------


def _inst_type(params: Params) -> str:
    inst_type = str(params.get("instType", ""))
    if inst_type not in ("SPOT", "SWAP"):
        raise OkxError(51000, f"Parameter instType error: {inst_type!r} not served")
    return inst_type


def instruments(exchange: Exchange, params: Params) -> object:
    account = exchange.account
    if _inst_type(params) == "SPOT":
        rows = [
            {
                "instType": "SPOT",
                "instId": spot_id(spot),
                "uly": "",
                "instFamily": "",
                "baseCcy": spot.base,
                "quoteCcy": spot.quote,
                "settleCcy": "",
                "ctVal": "",
                "ctMult": "",
                "ctValCcy": "",
                "ctType": "",
                "lotSz": text(spot.step_size),
                "minSz": text(spot.min_qty),
                "tickSz": text(spot.tick_size),
                "lever": "10",
                "state": "live",
                "listTime": LIST_TIME,
                "maxLmtSz": "10000000",
                "maxMktSz": "1000000",
                "ruleType": "normal",
            }
            for spot in account.spot.markets
        ]
        return ok(rows)
    rows = [
        {
            "instType": "SWAP",
            "instId": swap_id(perp),
            "uly": f"{perp.base}-{perp.quote}",
            "instFamily": f"{perp.base}-{perp.quote}",
            "baseCcy": "",
            "quoteCcy": "",
            "settleCcy": perp.quote,
            "ctVal": text(ct_val(perp)),
            "ctMult": "1",
            "ctValCcy": perp.base,
            "ctType": "linear",
            "lotSz": text(lot(perp)),
            "minSz": text(perp.min_qty / ct_val(perp)),
            "tickSz": text(perp.tick_size),
            "lever": str(perp.max_leverage),
            "state": "live",
            "listTime": LIST_TIME,
            "maxLmtSz": "100000000",
            "maxMktSz": "100000",
            "ruleType": "normal",
        }
        for perp in account.perps
    ]
    return ok(rows)


def mark_price(exchange: Exchange, params: Params) -> object:
    if _inst_type(params) != "SWAP":
        raise OkxError(51000, "Parameter instType error: the emulator marks SWAP only")
    account = exchange.account
    rows = []
    for perp in account.perps:
        mark = account.mark(perp.symbol)
        if mark is not None and params.get("instId") in (None, "", swap_id(perp)):
            rows.append(
                {
                    "instType": "SWAP",
                    "instId": swap_id(perp),
                    "markPx": text(mark),
                    "ts": str(exchange.now_ms()),
                }
            )
    return ok(rows)


def funding_rate(exchange: Exchange, params: Params) -> object:
    wanted = str(params.get("instId", ""))
    if not wanted:
        raise OkxError(50014, "Parameter instId can not be empty")
    rows = []
    for perp in exchange.account.perps:
        if wanted not in ("ANY", swap_id(perp)):
            continue
        rate = exchange.funding_rates.get(perp.symbol, Decimal(0))
        rows.append(
            {
                "instType": "SWAP",
                "instId": swap_id(perp),
                "fundingRate": text(rate),
                "nextFundingRate": "",
                "fundingTime": str(exchange.next_funding_ms()),
                "nextFundingTime": str(exchange.next_funding_ms() + 8 * 3_600_000),
                "method": "current_period",
                "ts": str(exchange.now_ms()),
            }
        )
    return ok(rows)


def tickers(exchange: Exchange, params: Params) -> object:
    inst_type = _inst_type(params)
    account = exchange.account
    priced: list[tuple[str, Decimal | None]]
    if inst_type == "SPOT":
        priced = [(spot_id(s), account.spot.price(s.symbol)) for s in account.spot.markets]
    else:
        priced = [(swap_id(p), account.mark(p.symbol)) for p in account.perps]
    rows = [
        {
            "instType": inst_type,
            "instId": inst_id,
            "last": text(price),
            "lastSz": "1",
            "askPx": text(price),
            "askSz": "1",
            "bidPx": text(price),
            "bidSz": "1",
            "open24h": text(price),
            "high24h": text(price),
            "low24h": text(price),
            "volCcy24h": "0",
            "vol24h": "0",
            "sodUtc0": text(price),
            "sodUtc8": text(price),
            "ts": str(exchange.now_ms()),
        }
        for inst_id, price in priced
        if price is not None
    ]
    return ok(rows)


def public_time(exchange: Exchange, params: Params) -> object:
    return ok([{"ts": str(exchange.now_ms())}])


def currencies(exchange: Exchange, params: Params) -> object:
    """Coins and their chains (ccxt's load_markets reads them once with keys)."""
    account = exchange.account
    coins = sorted({m.base for m in account.spot.markets} | {account.quote})
    rows = [
        {
            "ccy": c,
            "chain": f"{c}-{c}",
            "name": c,
            "canDep": True,
            "canWd": True,
            "canInternal": True,
            "minWd": "0",
            "maxWd": "1000000",
            "minFee": "0",
            "maxFee": "0",
            "fee": "0",
            "wdTickSz": "8",
        }
        for c in coins
    ]
    return ok(rows)


# -- account -------------------------------------------------------------------------------------


def account_config(exchange: Exchange, params: Params) -> object:
    withdraw = exchange.state.api_restrictions.get("enableWithdrawals", False)
    perm = "read_only,trade" + (",withdraw" if withdraw else "")
    settings = exchange.venue_settings
    return ok(
        [
            {
                "uid": "44705892343619584",
                "mainUid": "44705892343619584",
                "acctLv": settings.get("acctLv", "3"),
                "posMode": "long_short_mode" if exchange.dual_side_position else "net_mode",
                "autoLoan": True,
                "greeksType": "PA",
                "level": "Lv1",
                "levelTmp": "",
                "ctIsoMode": "automatic",
                "mgnIsoMode": "automatic",
                "spotOffsetType": "",
                "roleType": "0",
                "traderInsts": [],
                "opAuth": "0",
                "kycLv": "2",
                "label": "emulator",
                "ip": "",
                "perm": perm,
            }
        ]
    )


def balance(exchange: Exchange, params: Params) -> object:
    account = exchange.account
    quote = account.quote
    upl = account.unrealized_pnl()
    details: list[dict[str, object]] = []
    total = Decimal(0)
    for held in account.spot.balances():
        if held.asset == quote or not held.total:
            continue
        price = account.spot.price(f"{held.asset}{quote}") or Decimal(0)
        ratio = account.haircuts.get(held.asset, Decimal(1))
        value = held.total * price
        total += value
        details.append(_detail(held.asset, held.total, Decimal(0), value, value * ratio))
    cash = account.quote_balance()  # unified: the futures wallet and the spot quote
    total += cash
    details.append(_detail(quote, cash, upl, cash + upl, cash + upl))
    adj, imr, mmr = account.margin_balance(), account.initial_margin(), account.maintenance_margin()
    return ok(
        [
            {
                "uTime": str(exchange.now_ms()),
                "totalEq": text(total + upl),
                "isoEq": "0",
                "adjEq": text(adj),
                "ordFroz": "0",
                "imr": text(imr),
                "mmr": text(mmr),
                "borrowFroz": "0",
                "mgnRatio": text((adj / mmr).quantize(Decimal("0.01"))) if mmr else "",
                "upl": text(upl),
                "details": details,
            }
        ]
    )


def _detail(
    ccy: str, cash: Decimal, upl: Decimal, eq_usd: Decimal, dis_eq: Decimal
) -> dict[str, object]:
    return {
        "ccy": ccy,
        "eq": text(cash + upl),
        "cashBal": text(cash),
        "availBal": text(max(cash, Decimal(0))),
        "availEq": text(max(cash + upl, Decimal(0))),
        "frozenBal": "0",
        "ordFrozen": "0",
        "liab": text(max(-cash, Decimal(0))),
        "crossLiab": text(max(-cash, Decimal(0))),
        "upl": text(upl),
        "eqUsd": text(eq_usd),
        "disEq": text(dis_eq),
        "uTime": "1700000000000",
    }


def positions(exchange: Exchange, params: Params) -> object:
    if params.get("instType", "SWAP") != "SWAP":
        raise OkxError(51000, "Parameter instType error: the emulator holds SWAP only")
    account = exchange.account
    rows: list[dict[str, object]] = []
    for spec in account.perps:
        position = account.position(spec.symbol)
        size = position.size
        if not size or params.get("instId") not in (None, "", swap_id(spec)):
            continue
        mark = account.mark(spec.symbol) or Decimal(0)
        contracts = size / ct_val(spec)
        side = "net"
        if exchange.dual_side_position:  # long/short mode: one row per side, sizes unsigned
            side, contracts = ("long" if size > 0 else "short"), abs(contracts)
        rows.append(
            {
                "instType": "SWAP",
                "instId": swap_id(spec),
                "posId": swap_id(spec),
                "posSide": side,
                "pos": text(contracts),
                "ccy": spec.quote,
                "posCcy": "",
                "mgnMode": "cross",
                "avgPx": text(position.cost / size),
                "markPx": text(mark),
                "upl": text(size * mark - position.cost),
                "lever": str(account.leverage(spec.symbol)),
                "notionalUsd": text(abs(size) * mark),
                "cTime": "1700000000000",
                "uTime": str(exchange.now_ms()),
            }
        )
    return ok(rows)


def trade_fee(exchange: Exchange, params: Params) -> object:
    if params.get("instType") not in ("SPOT", "SWAP"):
        raise OkxError(51000, "Parameter instType error")
    fees = exchange.account.fees
    # OKX writes a fee paid as a negative rate.
    taker, maker = text(-fees.taker_rate), text(-fees.maker_rate)
    return ok(
        [
            {
                "instType": params["instType"],
                "level": "Lv1",
                "taker": taker,
                "maker": maker,
                "takerU": taker,
                "makerU": maker,
                "takerUSDC": taker,
                "makerUSDC": maker,
                "delivery": "",
                "exercise": "",
                "category": "1",
                "ts": str(exchange.now_ms()),
            }
        ]
    )


def leverage_info(exchange: Exchange, params: Params) -> object:
    if params.get("mgnMode") not in ("cross", "isolated"):
        raise OkxError(51000, "Parameter mgnMode error")
    ids = [i for i in str(params.get("instId", "")).split(",") if i]
    if not 1 <= len(ids) <= 20:
        raise OkxError(51000, "Parameter instId error")
    rows = []
    for inst_id in ids:
        spec = swap_spec(exchange, inst_id)
        rows.append(
            {
                "instId": inst_id,
                "mgnMode": params["mgnMode"],
                "posSide": "net",
                "lever": str(exchange.account.leverage(spec.symbol)),
            }
        )
    return ok(rows)


def set_leverage(exchange: Exchange, params: Params) -> object:
    if params.get("mgnMode") != "cross":
        raise OkxError(51000, "Parameter mgnMode error: the emulator margins cross only")
    spec = swap_spec(exchange, str(params.get("instId", "")))
    try:
        lever = int(Decimal(str(params["lever"])))
    except (KeyError, ArithmeticError, ValueError):
        raise OkxError(51000, "Parameter lever error") from None
    rejection = exchange.account.set_leverage(spec.symbol, lever)
    if rejection is not None:
        raise OkxError(51000, rejection.detail)
    return ok([{"instId": swap_id(spec), "lever": str(lever), "mgnMode": "cross", "posSide": ""}])
