"""A local Binance spot + USDⓈ-M futures REST emulator for driving the real ccxt client
(`Emulator(venue="bybit")`: a Bybit V5 unified account instead, see `emulator.bybit`;
`Emulator(venue="okx")`: an OKX V5 multi-currency margin account, see `emulator.okx`).

It serves, on 127.0.0.1 only, the endpoints ccxt 4.5.x's ``binance`` class calls for the bot's
operations, with Binance-shaped JSON (string numbers, Binance field names), HMAC-SHA256 request
signing, Binance error codes and HTTP statuses, request weights with ``X-MBX-USED-WEIGHT-1M``,
and fault injection. Account state and fills come from ``rebalancer.sim``.

Pointing ccxt at it::

    with Emulator() as emu:                       # or Emulator(EmulatorState.from_json(doc))
        exchange = ccxt.binance({"apiKey": DEFAULT_API_KEY, "secret": DEFAULT_API_SECRET,
                                 **ccxt_config(emu.base_url)})

``ccxt_config(base_url)`` redirects every ``urls['api']`` family (public, private, v1, sapi,
sapiV2-4, fapiPublic/V2/V3, fapiPrivate/V2/V3, fapiData, dapi*, eapi*, papi*) to the emulator,
under the same path prefixes as Binance (``/api/v3``, ``/sapi/v1``, ``/fapi/v1`` ...), and sets
``options``: ``fetchMarkets.types = ['spot', 'linear']`` (no COIN-M/options exchangeInfo),
``fetchCurrencies = False`` and ``fetchMargins = False`` (no sapi capital/config/getall and
margin/allPairs at load; both are served anyway), ``fetchOpenOrders.warnWithoutSymbol = False``.

ccxt method -> endpoint (all served):
    load_markets            GET /api/v3/exchangeInfo, GET /fapi/v1/exchangeInfo
    fetch_time              GET /api/v3/time (or /fapi/v1/time with type swap)
    fetch_balance           GET /api/v3/account; {'type': 'future'} GET /fapi/v3/account
    fetch_positions(_risk)  GET /fapi/v1/leverageBracket (once), GET /fapi/v3/positionRisk
                            (useV2: /fapi/v2/positionRisk; method 'account': /fapi/v3/account)
    fetch_tickers           GET /api/v3/ticker/24hr or /fapi/v1/ticker/24hr
    fetch_mark_prices, fetch_funding_rate(s)   GET /fapi/v1/premiumIndex
    create_order            POST /api/v3/order, POST /fapi/v1/order
    create_orders           POST /fapi/v1/batchOrders (at most 5)
    fetch_order             GET /api/v3/order, GET /fapi/v1/order (orderId or origClientOrderId)
    fetch_open_orders       GET /api/v3/openOrders, GET /fapi/v1/openOrders
    cancel_order            DELETE /api/v3/order, DELETE /fapi/v1/order
    set_leverage            POST /fapi/v1/leverage
    set_margin_mode         POST /fapi/v1/marginType
    set/fetch_position_mode POST/GET /fapi/v1/positionSide/dual
    fapiPrivateGetMultiAssetsMargin     GET /fapi/v1/multiAssetsMargin
    fetch_leverages         GET /fapi/v1/symbolConfig
    fetch_trading_fee       GET /fapi/v1/commissionRate (the account's own rates)
    fetch_my_trades         GET /api/v3/myTrades, GET /fapi/v1/userTrades
    transfer                POST /sapi/v1/asset/transfer (MAIN_UMFUTURE / UMFUTURE_MAIN)
    sapi_get_account_apirestrictions   GET /sapi/v1/account/apiRestrictions
    fetch_ohlcv (spot, 1d)  GET /api/v3/klines (a seeded synthetic history)
    fetch_funding_rate_history   GET /fapi/v1/fundingRate (likewise)

Error classes behind a local URL: ccxt chooses Binance's per-market error tables by URL prefix
(``https://fapi.binance.com/`` ...), which a loopback URL never matches, so only the shared
table applies. Futures-only codes therefore arrive as plain ``ExchangeError`` (-2019 margin,
-2022 reduce-only, -4116 duplicate id, -4164 min notional); shared ones keep their class
(-1021 InvalidNonce, -1007 RequestTimeout, -2013 OrderNotFound, -1111/-4003/-4015 BadRequest,
"LOT_SIZE" in the body InvalidOrder, -2014/-2015/-1022 AuthenticationError, -4046
MarginModeAlreadySet by message). 429 and 418 are ``DDoSProtection``; an HTML 5xx is
``ExchangeNotAvailable`` and a JSON 5xx follows its code. tests/emulator records all of this.
"""

from rebalancer.emulator.config import API_PATHS, ccxt_config
from rebalancer.emulator.control import EmulatorControl
from rebalancer.emulator.errors import BinanceError
from rebalancer.emulator.exchange import Exchange
from rebalancer.emulator.faults import BodyKind, Fault, FaultKind, FaultPlan, malformed
from rebalancer.emulator.server import Emulator, RequestRecord
from rebalancer.emulator.state import (
    DEFAULT_API_KEY,
    DEFAULT_API_PASSPHRASE,
    DEFAULT_API_SECRET,
    EmulatorState,
    SeedPosition,
    build_account,
    default_state,
)

__all__ = [
    "API_PATHS",
    "DEFAULT_API_KEY",
    "DEFAULT_API_PASSPHRASE",
    "DEFAULT_API_SECRET",
    "BinanceError",
    "BodyKind",
    "Emulator",
    "EmulatorControl",
    "EmulatorState",
    "Exchange",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "RequestRecord",
    "SeedPosition",
    "build_account",
    "ccxt_config",
    "default_state",
    "malformed",
]
