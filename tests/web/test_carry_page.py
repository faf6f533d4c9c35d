"""The dashboard's carry page shows the ledger as `rebalancer carry --offline` reports it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import httpx

from rebalancer.domain.ledger import CarryEntry, CarryKind
from rebalancer.store import SqlCarryLedger, open_store
from tests.store.builders import T0
from tests.web.conftest import cli_json
from tests.web.journal import PORTFOLIO, BuiltJournal


def test_the_carry_page_has_the_cli_figures_per_hedge_and_in_total(
    journal: BuiltJournal, make_client: Callable[..., httpx.Client]
) -> None:
    store = open_store(journal.url)
    try:
        SqlCarryLedger(store).add(
            PORTFOLIO,
            [
                CarryEntry(
                    CarryKind.FUNDING,
                    f"web-{i}",
                    T0 + timedelta(days=2, hours=8 * i),
                    "BTC/USDT:USDT",
                    Decimal("0.125") * (1 if i % 3 else -1),
                    "paper",
                )
                for i in range(6)
            ],
        )
    finally:
        store.close()
    since = (T0 + timedelta(days=1)).date().isoformat()
    expected = cli_json("carry", "-c", str(journal.config), "--offline", "--since", since)

    page = make_client().get("/carry")

    assert page.status_code == 200
    btc = next(h for h in expected["hedges"] if h["instrument"] == "BTC/USDT:USDT")
    row = re.search(r'<tr data-instrument="BTC/USDT:USDT">(.*?)</tr>', page.text, re.S)
    assert row is not None
    values = dict(re.findall(r'data-field="(\w+)" data-value="([^"]*)"', row.group(1)))
    assert values["funding_paid"] == btc["funding_paid"] == "-0.25"
    assert values["funding_received"] == btc["funding_received"] == "0.5"
    assert values["net"] == btc["net"]
