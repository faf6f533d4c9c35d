"""The account line of `status`: equity, hedges, leverage and distance to liquidation, in words.

With no position open it says so plainly ("no positions: nothing to liquidate") instead of a
leverage of "n/a" and a liquidation "at no positions".
"""

from __future__ import annotations

from decimal import Decimal

from rebalancer.domain.margin import MarginHealth
from rebalancer.render.numbers import money


def margin_line(equity: Decimal, quote: str, health: MarginHealth, cap: Decimal) -> str:
    k = "collateral" if health.unified else "futures equity"
    head = f"Equity {money(equity)} {quote}; {k} {money(health.futures_equity)} {quote}"
    if not health.positions:
        return f"{head}; no positions: no hedge is open, nothing to liquidate (cap {cap}x)"
    lev = "leverage unknown" if health.leverage is None else f"{health.leverage:.2f}x"
    count = len(health.positions)
    dist = (
        "no liquidation price"
        if health.distance is None
        else f"liquidation at a {health.distance:.1%} adverse move"
    )
    return (
        f"{head}; {count} position{'s' if count > 1 else ''}, gross hedge "
        f"{money(health.gross)} ({lev}, cap {cap}x); {dist}"
    )
