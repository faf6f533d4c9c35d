"""`rebalancer carry` and `status` as a user runs them, against the emulator's funding
payments on each venue: the figures are the venue's own, read once however often asked."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.emulator import Emulator
from tests.cli import Ran
from tests.cli import rebalancer as run_cli
from tests.integration.harness import (
    ENV,
    hedged_emulator,
    write_config,
)
from tests.integration.venues import UNIFIED, VENUES

D = Decimal


def rebalancer(*args: str) -> Ran:
    return run_cli(*args, env={**os.environ, **ENV, "COLUMNS": "200"})


def paying(venue: str) -> Emulator:
    """Short 0.02 BTC at 0.02 % (receives 0.2 a payment), long 0.4 ETH at 0.01 % (pays 0.1),
    the book set back three funding times so the venue pays them at its next request."""
    emulator = hedged_emulator(venue, funding_slots=3)
    emulator.exchange.set_funding_rate("BTCUSDT", D("0.0002"))
    return emulator


@pytest.mark.parametrize("venue", VENUES)
def test_carry_reports_the_venues_funding_per_hedge_and_in_total(
    tmp_path: Path, venue: str
) -> None:
    with paying(venue) as emu:
        config = write_config(tmp_path, emu)
        first = rebalancer("carry", "-c", str(config), "--json")
        again = rebalancer("carry", "-c", str(config), "--json")
        text = rebalancer("carry", "-c", str(config))
        booked = [b for b in emu.exchange.carry.bookings if b.kind == "funding"]
        planned = rebalancer("once", "-c", str(config), "--mode", "dry-run")  # a run to report
    page = tmp_path / "report.html"
    reported = rebalancer("report", "-c", str(config), "-o", str(page))

    assert first.returncode == 0, first.stderr
    assert len(booked) == 6
    report = json.loads(first.stdout)
    second = json.loads(again.stdout)["total"]
    # Read twice, counted once (only the annualised figure moves: its period grew).
    assert {**second, "annualised": None} == {**report["total"], "annualised": None}
    hedges = {h["instrument"]: h for h in report["hedges"]}
    btc, eth = hedges["BTC/USDT:USDT"], hedges["ETH/USDT:USDT"]
    assert (btc["funding_received"], btc["funding_paid"], btc["payments"]) == ("0.6", "0", 3)
    assert (eth["funding_received"], eth["funding_paid"], eth["payments"]) == ("0", "-0.3", 3)
    assert btc["notional"] == "-1000"
    assert eth["notional"] == "1000"
    assert btc["funding_rate"] == "0.0002"
    assert eth["funding_rate"] == "0.0001"
    # A year at today's rates: 3 payments a day x 365 on $1,000.
    assert D(btc["projected_year"]) == D("219")
    assert D(eth["projected_year"]) == D("-109.5")
    assert report["total"]["funding_received"] == "0.6"
    assert report["total"]["funding_paid"] == "-0.3"
    assert report["total"]["net"] == "0.3"
    assert report["gaps"] == []
    assert btc["basis_now"] == "0"  # the emulator's mark equals its spot price
    assert text.returncode == 0, text.stderr
    assert "BTC/USDT:USDT" in text.stdout
    assert "Gaps: none found" in text.stdout
    assert "not advice" in text.stdout
    # The journal report puts the ledger's carry beside the runs it plots.
    assert planned.returncode == 0, planned.stderr
    assert reported.returncode == 0, reported.stderr
    assert "<tr><td>carry (funding + interest)</td><td>0.30</td></tr>" in page.read_text("utf-8")


@pytest.mark.parametrize("venue", UNIFIED)
def test_carry_on_a_unified_account_shows_the_interest_on_borrowed_quote_beside_funding(
    tmp_path: Path, venue: str
) -> None:
    with paying(venue) as emu:
        account = emu.exchange.account
        account.credit_futures(-(account.wallet_balance + D(500)))  # borrow 500 USDT
        emu.exchange.carry.interest_until -= timedelta(hours=3)
        config = write_config(tmp_path, emu)
        as_json = rebalancer("carry", "-c", str(config), "--json")
        text = rebalancer("carry", "-c", str(config))
        bookings = emu.exchange.carry.bookings
        interest = sum((b.amount for b in bookings if b.kind == "interest"), D(0))
        funding = sum((b.amount for b in bookings if b.kind == "funding"), D(0))

    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert interest < 0
    assert D(report["borrowing"]["interest"]["USDT"]) == interest
    assert D(report["total"]["interest"]) == interest
    assert D(report["total"]["funding_received"]) + D(report["total"]["funding_paid"]) == funding
    assert D(report["total"]["net"]) == funding + interest
    assert text.returncode == 0, text.stderr
    line = next(x for x in text.stdout.splitlines() if x.startswith("Borrow interest"))
    assert "USDT" in line


@pytest.mark.parametrize("venue", UNIFIED)
def test_status_shows_this_months_carry_and_the_borrow_share(tmp_path: Path, venue: str) -> None:
    with paying(venue) as emu:
        account = emu.exchange.account
        account.credit_futures(-(account.wallet_balance + D(500)))  # borrow 500 USDT
        emu.exchange.carry.interest_until -= timedelta(hours=2)
        config = write_config(tmp_path, emu)
        done = rebalancer("status", "-c", str(config))
        as_json = rebalancer("status", "-c", str(config), "--json")
        month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        bookings = emu.exchange.carry.bookings
        carry = sum((b.amount for b in bookings if b.at >= month), D(0))
        borrowed = D(500) - sum((b.amount for b in bookings), D(0))

    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("Carry this month"))
    assert any(b.kind == "interest" for b in bookings)
    assert f"Carry this month: {carry:+,.2f} USDT" in line
    borrowing = next(x for x in done.stdout.splitlines() if x.startswith("Unified account"))
    assert f"borrowed {borrowed:,.2f} USDT (" in borrowing
    share = D(borrowing.split("(")[1].split("%")[0])
    assert D(0) < share < D(10)  # 500 of about 9,500 of equity
    document = json.loads(as_json.stdout)
    assert D(document["carry_this_month"]["total"]) == carry


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "2026-01-01T25:00"])
def test_a_malformed_since_is_one_line_and_exit_2(tmp_path: Path, since: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text("", encoding="utf-8")
    done = rebalancer("carry", "-c", str(config), "--since", since)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert f"--since {since!r} is not a date" in done.stderr
    assert "Traceback" not in done.stderr


def test_offline_reports_from_the_journal_alone(tmp_path: Path) -> None:
    with paying("binance") as emu:
        config = write_config(tmp_path, emu)
        assert rebalancer("carry", "-c", str(config), "--json").returncode == 0
    # The emulator is gone: without --offline, one line that says so and names the way out.
    failed = rebalancer("carry", "-c", str(config), "--json")
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot reach "), last
    assert last.endswith("; or report from the journal alone with --offline"), last
    assert failed.stdout == ""
    # Offline needs neither the exchange nor the keys.
    done = run_cli(
        *("carry", "-c", str(config), "--offline", "--json", "--since", "2000-01-01"),
        env={k: v for k, v in os.environ.items() if not k.startswith("REBALANCER_API")},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["total"]["net"] == "0.3"
    assert report["since"].startswith("2000-01-01")
