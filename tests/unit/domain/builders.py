"""Small builders for domain values, so tests state only what matters to them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from rebalancer.domain.market import MarketRules
from rebalancer.domain.snapshot import PerpState, Snapshot, SpotHolding
from rebalancer.domain.strategy import Band, Group, Hedge, RebalanceTo, Strategy

D = Decimal
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def perp(
    symbol: str,
    mark: str | Decimal,
    position: str | Decimal = "0",
    *,
    step: str = "0.001",
    min_amount: str | None = None,
    min_notional: str = "0",
    contract_size: str = "1",
    fee: str = "0",
) -> PerpState:
    rules = MarketRules(
        symbol,
        amount_step=D(step),
        min_amount=D(min_amount if min_amount is not None else step),
        min_notional=D(min_notional),
        contract_size=D(contract_size),
        taker_fee=D(fee),
    )
    return PerpState(rules, mark=D(mark), position=D(position))


def snapshot(
    spot: dict[str, tuple[str, str]],
    perps: list[PerpState],
    futures_equity: str,
    cash: str = "0",
) -> Snapshot:
    """spot: asset -> (price, quantity)."""
    return Snapshot(
        taken_at=T0,
        quote="USDT",
        cash=D(cash),
        futures_equity=D(futures_equity),
        spot={a: SpotHolding(a, D(p), D(q)) for a, (p, q) in spot.items()},
        perps={p.rules.symbol: p for p in perps},
    )


def strategy(
    weights: dict[str, str],
    cash: str = "0",
    *,
    proxies: dict[str, tuple[str, str]] | None = None,
    groups: tuple[Group, ...] = (),
    max_leverage: str = "1",
    to: RebalanceTo = RebalanceTo.TARGET,
    band: Band | None = None,
    min_trade: str = "0",
) -> Strategy:
    hedges = {a: Hedge(f"{a}/USDT:USDT") for a in weights}
    for asset, (instrument, beta) in (proxies or {}).items():
        hedges[asset] = Hedge(instrument, D(beta))
    return Strategy(
        weights={a: _num(w) for a, w in weights.items()},
        hedges=hedges,
        cash_weight=_num(cash),
        groups=groups,
        max_leverage=D(max_leverage),
        rebalance_to=to,
        band=band or Band(),
        min_trade_notional=D(min_trade),
    )


def _num(text: str) -> Decimal:
    if "/" in text:
        num, den = text.split("/")
        return D(num) / D(den)
    return D(text)


def seed_snapshot(futures_equity: str = "2000") -> Snapshot:
    """DESIGN §2 example 1: spot BTC $7,000 + ETH $3,000, futures wallet $2,000."""
    return snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [
            perp("BTC/USDT:USDT", "50000", min_notional="100"),
            perp("ETH/USDT:USDT", "2500", min_notional="20"),
        ],
        futures_equity,
    )


def seed_strategy(**kwargs: object) -> Strategy:
    return strategy({"BTC": "1/2", "ETH": "1/3"}, cash="1/6", **kwargs)  # type: ignore[arg-type]
