"""How ccxt's `binance` class is pointed at the emulator: every `urls['api']` entry it knows is
redirected to the emulator (unknown families answer 404 there, so nothing can leak to the real
venue), and the options that would load more than spot + linear markets are switched off.
"""

from __future__ import annotations

from typing import Any

from rebalancer.config.model import PASSPHRASE_VENUES

# Every key of ccxt 4.5.x binance `urls['api']`, with the path prefix Binance serves it under.
API_PATHS: dict[str, str] = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "sapi": "/sapi/v1",
    "sapiV2": "/sapi/v2",
    "sapiV3": "/sapi/v3",
    "sapiV4": "/sapi/v4",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "dapiPublic": "/dapi/v1",
    "dapiPrivate": "/dapi/v1",
    "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/futures/data",
    "eapiPublic": "/eapi/v1",
    "eapiPrivate": "/eapi/v1",
    "papi": "/papi/v1",
    "papiV2": "/papi/v2",
}


def ccxt_config(base_url: str) -> dict[str, Any]:
    """Constructor settings (`urls`, `options`) that make `ccxt.binance` talk to the emulator."""
    base = base_url.rstrip("/")
    return {
        "urls": {"api": {name: base + path for name, path in API_PATHS.items()}},
        "options": {
            # Only spot and USDⓈ-M markets: no COIN-M or options exchangeInfo requests.
            "fetchMarkets": {"types": ["spot", "linear"]},
            # load_markets() would call sapi capital/config/getall and margin/allPairs with
            # keys; the emulator answers both, but the bot needs neither.
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchOpenOrders": {"warnWithoutSymbol": False},
        },
    }


# ccxt 4.5.x bybit signs and sends every V5 call through these two `urls['api']` entries;
# okx through one (`rest`), and its keys need a passphrase.
BYBIT_API = ("public", "private")
OKX_API = ("rest",)
PASSPHRASE_ENV = "REBALANCER_API_PASSWORD"  # noqa: S105 - the name of a variable, not a secret


def exchange_section(base_url: str, venue: str = "binance") -> str:
    """The `[exchange]` TOML section that points a futures-rebalancer config at the emulator."""
    lines = [
        "[exchange]",
        f'id = "{venue}"',
        'api_key_env = "REBALANCER_API_KEY"',
        'api_secret_env = "REBALANCER_API_SECRET"',
        *([f'password_env = "{PASSPHRASE_ENV}"'] if venue in PASSPHRASE_VENUES else []),
        "",
        "[exchange.urls.api]",
    ]
    base = base_url.rstrip("/")
    if venue in ("bybit", "okx"):
        lines += [f'{name} = "{base}"' for name in (BYBIT_API if venue == "bybit" else OKX_API)]
    else:
        lines += [f'{name} = "{base}{path}"' for name, path in API_PATHS.items()]
    return "\n".join(lines) + "\n"
