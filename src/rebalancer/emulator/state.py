"""The emulator's initial state: markets, prices, balances, positions, keys, fees.

Read from a JSON document (the `--state FILE.json` of the standalone server) or built in code
for tests. Numbers may be JSON strings or numbers; they become `Decimal` through `str` so a
float never touches money. `build_account` turns a state into a fresh `rebalancer.sim.Account`.

Example document::

    {"api_keys": {"test-key": "test-secret"},
     "spot_markets": [{"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT",
                       "step_size": "0.00001", "min_qty": "0.00001", "min_notional": "5"}],
     "perp_markets": [{"symbol": "BTCUSDT", "base": "BTC", "quote": "USDT",
                       "step_size": "0.001", "min_qty": "0.001", "min_notional": "100",
                       "tick_size": "0.10", "maintenance_margin_rate": "0.004"}],
     "spot_prices": {"BTCUSDT": "50000"}, "mark_prices": {"BTCUSDT": "50010"},
     "funding_rates": {"BTCUSDT": "0.0001"},
     "spot_balances": {"BTC": "1", "USDT": "1000"}, "futures_wallet": "2000",
     "positions": [{"symbol": "BTCUSDT", "size": "-0.01", "entry_price": "49000"}],
     "leverage": {"BTCUSDT": 1}, "taker_fee": "0.0005", "maker_fee": "0.0002",
     "slippage_bps": "0"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rebalancer.sim import Account, FeeSchedule, PerpSpec, SlippageModel, SpotSpec

DEFAULT_API_KEY = "emulator-key"
DEFAULT_API_SECRET = "emulator-secret"  # noqa: S105 - a fixture credential for loopback tests
DEFAULT_API_PASSPHRASE = "emulator-passphrase"  # noqa: S105 - OKX keys have one too


def _dec(value: object) -> Decimal:
    return Decimal(str(value))


@dataclass(frozen=True, slots=True)
class SeedPosition:
    symbol: str
    size: Decimal
    entry_price: Decimal


@dataclass(frozen=True, slots=True)
class EmulatorState:
    spot_markets: tuple[SpotSpec, ...]
    perp_markets: tuple[PerpSpec, ...]
    spot_prices: Mapping[str, Decimal]
    mark_prices: Mapping[str, Decimal]
    funding_rates: Mapping[str, Decimal] = field(default_factory=dict)
    spot_balances: Mapping[str, Decimal] = field(default_factory=dict)
    futures_wallet: Decimal = Decimal(0)
    positions: tuple[SeedPosition, ...] = ()
    leverage: Mapping[str, int] = field(default_factory=dict)
    api_keys: Mapping[str, str] = field(
        default_factory=lambda: {DEFAULT_API_KEY: DEFAULT_API_SECRET}
    )
    api_restrictions: Mapping[str, bool] = field(default_factory=dict)
    quote: str = "USDT"
    taker_fee: Decimal = Decimal("0.0005")
    maker_fee: Decimal = Decimal("0.0002")
    slippage_bps: Decimal = Decimal(0)
    default_leverage: int = 1

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> EmulatorState:
        quote = str(doc.get("quote", "USDT"))
        spot = tuple(
            SpotSpec(
                symbol=m["symbol"],
                base=m["base"],
                quote=m.get("quote", quote),
                step_size=_dec(m["step_size"]),
                min_qty=_dec(m.get("min_qty", m["step_size"])),
                min_notional=_dec(m.get("min_notional", "5")),
                tick_size=_dec(m.get("tick_size", "0.01")),
            )
            for m in doc.get("spot_markets", [])
        )
        perps = tuple(
            PerpSpec(
                symbol=m["symbol"],
                base=m["base"],
                quote=m.get("quote", quote),
                step_size=_dec(m["step_size"]),
                min_qty=_dec(m.get("min_qty", m["step_size"])),
                min_notional=_dec(m.get("min_notional", "5")),
                tick_size=_dec(m.get("tick_size", "0.01")),
                maintenance_margin_rate=_dec(m.get("maintenance_margin_rate", "0.004")),
                max_leverage=int(m.get("max_leverage", 125)),
            )
            for m in doc.get("perp_markets", [])
        )
        return cls(
            spot_markets=spot,
            perp_markets=perps,
            spot_prices={k: _dec(v) for k, v in doc.get("spot_prices", {}).items()},
            mark_prices={k: _dec(v) for k, v in doc.get("mark_prices", {}).items()},
            funding_rates={k: _dec(v) for k, v in doc.get("funding_rates", {}).items()},
            spot_balances={k: _dec(v) for k, v in doc.get("spot_balances", {}).items()},
            futures_wallet=_dec(doc.get("futures_wallet", "0")),
            positions=tuple(
                SeedPosition(p["symbol"], _dec(p["size"]), _dec(p["entry_price"]))
                for p in doc.get("positions", [])
            ),
            leverage={k: int(v) for k, v in doc.get("leverage", {}).items()},
            api_keys=dict(doc.get("api_keys", {DEFAULT_API_KEY: DEFAULT_API_SECRET})),
            api_restrictions={k: bool(v) for k, v in doc.get("api_restrictions", {}).items()},
            quote=quote,
            taker_fee=_dec(doc.get("taker_fee", "0.0005")),
            maker_fee=_dec(doc.get("maker_fee", "0.0002")),
            slippage_bps=_dec(doc.get("slippage_bps", "0")),
            default_leverage=int(doc.get("default_leverage", 1)),
        )


class StateFileError(ValueError):
    """A `--state` file that cannot be used, said in one line."""


def state_from_file(path: Path) -> EmulatorState:
    """The state in a `--state` JSON file, or `StateFileError` naming what is wrong."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StateFileError(f"{path}: cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateFileError(f"{path}: is not JSON ({exc}); see docs/emulator.md") from None
    if not isinstance(doc, dict):
        raise StateFileError(f"{path}: must hold a JSON object; see docs/emulator.md")
    try:
        return EmulatorState.from_json(doc)
    except KeyError as exc:
        raise StateFileError(
            f"{path}: a market lacks the key {exc}; each market needs symbol, base and "
            "step_size (see docs/emulator.md)"
        ) from None
    except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise StateFileError(
            f"{path}: a value is malformed ({exc}); see docs/emulator.md"
        ) from None


# Every asset the shipped example configs name (config/*.toml), so each of them can be pointed
# at `rebalancer emulator` as it is: (base, price, spot step, perp step, perp min notional).
_DEFAULT_MARKETS = (
    ("BTC", "70000", "0.00001", "0.001", "100"),
    ("ETH", "3000", "0.0001", "0.001", "20"),
    ("SOL", "150", "0.001", "1", "5"),
    ("UNI", "10", "0.01", "1", "5"),
    ("AAVE", "200", "0.001", "0.1", "5"),
)


def default_state() -> EmulatorState:
    """The seed's worked example 1 at BTC 70,000 and ETH 3,000 ($7k BTC, $3k ETH in spot, $500
    of spot USDT, $2k in the futures wallet), with SOL, UNI, AAVE and a DEFI index perp listed
    too so every example config finds its markets."""
    spot_markets: list[dict[str, str]] = []
    perp_markets: list[dict[str, str]] = []
    prices: dict[str, str] = {}
    for base, price, spot_step, perp_step, min_notional in _DEFAULT_MARKETS:
        symbol = f"{base}USDT"
        spot_markets.append(
            {"symbol": symbol, "base": base, "step_size": spot_step, "min_notional": "5"}
        )
        perp_markets.append(
            {"symbol": symbol, "base": base, "step_size": perp_step, "min_notional": min_notional}
        )
        prices[symbol] = price
    perp_markets.append(
        {"symbol": "DEFIUSDT", "base": "DEFI", "step_size": "0.001", "min_notional": "5"}
    )
    return EmulatorState.from_json(
        {
            "spot_markets": spot_markets,
            "perp_markets": perp_markets,
            "spot_prices": prices,
            "mark_prices": {**prices, "DEFIUSDT": "1000"},
            "funding_rates": dict.fromkeys([*prices, "DEFIUSDT"], "0.0001"),
            "spot_balances": {"BTC": "0.1", "ETH": "1", "USDT": "500"},
            "futures_wallet": "2000",
        }
    )


def seed_example_state(**overrides: Any) -> EmulatorState:
    """DESIGN §2 example 1 at BTC 50,000 and ETH 2,500: $7,000 of BTC and $3,000 of ETH in
    spot, $2,000 of USDT in the futures wallet; `overrides` replace top-level state keys."""
    doc: dict[str, Any] = {
        "spot_markets": [
            {"symbol": "BTCUSDT", "base": "BTC", "step_size": "0.00001", "min_notional": "5"},
            {"symbol": "ETHUSDT", "base": "ETH", "step_size": "0.0001", "min_notional": "5"},
        ],
        "perp_markets": [
            {"symbol": "BTCUSDT", "base": "BTC", "step_size": "0.001", "min_notional": "100"},
            {"symbol": "ETHUSDT", "base": "ETH", "step_size": "0.001", "min_notional": "20"},
        ],
        "spot_prices": {"BTCUSDT": "50000", "ETHUSDT": "2500"},
        "mark_prices": {"BTCUSDT": "50000", "ETHUSDT": "2500"},
        "funding_rates": {"BTCUSDT": "0.0001", "ETHUSDT": "0.0001"},
        "spot_balances": {"BTC": "0.14", "ETH": "1.2", "USDT": "0"},
        "futures_wallet": "2000",
    }
    doc.update(overrides)
    return EmulatorState.from_json(doc)


def build_account(state: EmulatorState) -> Account:
    account = Account(
        quote=state.quote,
        fees=FeeSchedule(taker_rate=state.taker_fee, maker_rate=state.maker_fee),
        slippage=SlippageModel(state.slippage_bps),
        default_leverage=state.default_leverage,
    )
    for spot in state.spot_markets:
        account.add_spot(spot)
    for perp in state.perp_markets:
        account.add_perp(perp)
    for symbol, price in state.spot_prices.items():
        account.spot.set_price(symbol, price)
    for symbol, price in state.mark_prices.items():
        account.set_mark(symbol, price)
    for asset, amount in state.spot_balances.items():
        account.spot.credit(asset, amount)
    account.credit_futures(state.futures_wallet)
    for position in state.positions:
        account.seed_position(position.symbol, position.size, position.entry_price)
    for symbol, leverage in state.leverage.items():
        rejection = account.set_leverage(symbol, leverage)
        if rejection is not None:
            raise ValueError(f"state file: {rejection.detail}")
    return account
