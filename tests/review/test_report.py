"""The journal report keeps live, paper and dry-run runs apart and always draws the fees."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from rebalancer.domain.ledger import CarryEntry, CarryKind
from rebalancer.review.report import journal_report
from rebalancer.store import SqlCarryLedger, SqlJournal, Store
from tests.store.builders import T0, full_cycle


def test_each_mode_is_its_own_series_and_column(store: Store) -> None:
    journal = SqlJournal(store)
    full_cycle(journal, "p1", mode="paper")
    full_cycle(journal, "l1", at=T0.replace(day=6), mode="live")
    full_cycle(journal, "l2", at=T0.replace(day=7), mode="live")

    page = journal_report(store, "main")

    assert page is not None
    assert "<th>live</th><th>paper</th>" in page  # one column of figures per mode
    assert "<tr><td>runs</td><td>2</td><td>1</td></tr>" in page
    assert "live fees" in page
    assert "paper fees" in page
    assert "Cumulative funding and trading costs" in page


def test_mode_keeps_only_that_mode(store: Store) -> None:
    journal = SqlJournal(store)
    full_cycle(journal, "p1", mode="paper")
    full_cycle(journal, "l1", at=T0.replace(day=6), mode="live")

    page = journal_report(store, "main", mode="live")

    assert page is not None
    assert "<th>live</th>" in page
    assert "paper" not in page.split("<h2>")[0]
    assert journal_report(store, "main", mode="dry-run") is None


def test_the_carry_ledger_is_drawn_cumulative_per_mode(store: Store) -> None:
    journal = SqlJournal(store)
    full_cycle(journal, "p1", mode="paper")
    full_cycle(journal, "p2", at=T0.replace(day=7), mode="paper")
    full_cycle(journal, "l1", at=T0.replace(day=6), mode="live")
    payments = [
        CarryEntry(
            CarryKind.FUNDING,
            f"k{i}",
            T0 + timedelta(hours=8 * i),
            "BTC/USDT:USDT",
            Decimal("0.25"),
            "paper",
        )
        for i in range(4)
    ]
    SqlCarryLedger(store).add("main", payments)

    page = journal_report(store, "main")

    assert page is not None
    assert "<tr><td>carry (funding + interest)</td><td></td><td>1.00</td></tr>" in page
    assert "paper funding" in page  # the paper series has its carry line
    assert "live funding" not in page  # the venue's ledger is empty: nothing drawn for live
