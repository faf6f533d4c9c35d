"""The plan and status lines name the collateral the cap is on: futures equity when the account
is segregated, the exchange's collateral value when it is unified (not a futures wallet of 0)."""

from __future__ import annotations

from rich.console import Console

from rebalancer.domain.margin import margin_health
from rebalancer.domain.planner import plan
from rebalancer.render.margin_line import margin_line
from rebalancer.render.plan_table import print_plan
from tests.unit.domain.builders import perp, snapshot, strategy
from tests.unit.domain.test_account_kinds import D, seed_unified


def _printed(snapshot_plan: object) -> str:
    console = Console(width=200, record=True)
    print_plan(snapshot_plan, console)  # type: ignore[arg-type]
    return " ".join(console.export_text().split())


def test_a_unified_plan_speaks_of_collateral_and_its_leverage_is_on_it() -> None:
    snap = seed_unified("11500")
    planned = plan(snap, strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6"))
    text = _printed(planned)
    assert "collateral 11,500.00" in text
    assert "futures equity" not in text
    assert planned.leverage_after == planned.gross_after / D(11500)
    line = margin_line(snap.equity, "USDT", margin_health(snap, D("0.005")), D(1))
    assert "; collateral 11,500.00 USDT" in line


def test_a_segregated_plan_speaks_of_futures_equity() -> None:
    snap = snapshot(
        {"BTC": ("50000", "0.14"), "ETH": ("2500", "1.2")},
        [perp("BTC/USDT:USDT", "50000"), perp("ETH/USDT:USDT", "2500")],
        futures_equity="2000",
    )
    text = _printed(plan(snap, strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6")))
    assert "futures equity 2,000.00" in text
    assert "collateral 2,000" not in text
