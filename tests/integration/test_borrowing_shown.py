"""A unified account's borrowed quote is shown beside its equity wherever equity is: `status`
(text and --json), the plan of `once`, `show` (text and --json), `plan --json` and the web
overview; a segregated account shows nothing of the kind."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from rebalancer import bootstrap
from rebalancer.config import load_settings
from rebalancer.emulator import Emulator
from rebalancer.service.controls import Controls
from rebalancer.web import WebContext, create_app
from rebalancer.web.overview import overview
from tests.cli import rebalancer
from tests.integration.harness import ENV, seed_state, write_config
from tests.integration.venues import UNIFIED, VENUES
from tests.web.server import serving

# The seed example with the quote 500 USDT below zero: V = 7,000 + 3,000 - 500 = 9,500.
BORROWED = Decimal(500)
SHARE = BORROWED / Decimal(9500)


def _run(*args: str) -> str:
    done = rebalancer(*args, env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _state(venue: str) -> object:
    # A segregated futures wallet cannot be negative: Binance keeps the seed's 2,000.
    return seed_state(futures_wallet="-500" if venue in UNIFIED else "2000")


@pytest.mark.parametrize("venue", VENUES)
def test_borrowing_is_shown_for_a_unified_account_and_nothing_for_a_segregated_one(
    tmp_path: Path, venue: str
) -> None:
    unified = venue in UNIFIED
    with Emulator(_state(venue), venue=venue) as emu:  # type: ignore[arg-type]
        # No interest while the test runs: an hour passing would add a cent to the 500 borrowed.
        emu.exchange.carry.borrow_rate = None
        config = str(write_config(tmp_path, emu))
        status = " ".join(_run("status", "-c", config).split())
        status_json = json.loads(_run("status", "-c", config, "--json"))
        once = " ".join(_run("once", "-c", config, "--mode", "dry-run").split())
        snap = tmp_path / "snap.json"
        _run("snapshot", "-c", config, "-o", str(snap))
        planned = json.loads(_run("plan", "-c", config, "--snapshot", str(snap), "--json"))

    with sqlite3.connect(tmp_path / "journal.db") as conn:
        (run_id,) = conn.execute("SELECT run_id FROM runs").fetchone()
    shown = " ".join(_run("show", run_id, "-c", config).split())
    shown_json = json.loads(_run("show", run_id, "-c", config, "--json"))
    settings = load_settings(Path(config), ENV)
    with bootstrap.open_journal(settings) as journal:
        page = overview(journal.store, settings, Controls(), datetime.now(UTC))
        context = WebContext(settings, journal.store, journal.controls, lambda: datetime.now(UTC))
        with serving(create_app(context)) as url:
            html = " ".join(httpx.get(url + "/", timeout=30).text.split())

    line = "Unified account: borrowed 500.00 USDT (5.26% of equity)"
    documents = [status_json["borrowing"], planned["borrowing"], shown_json["borrowing"]]
    documents.append(page["borrowing"])
    if unified:
        for text in (status, once, shown):
            assert line in text, text
        assert 'data-field="borrowed" data-value="500' in html
        assert "500.00 USDT (5.26% of equity)" in html
        for document in documents:
            assert Decimal(document["borrowed"]) == BORROWED
            assert abs(Decimal(document["share_of_equity"]) - SHARE) < Decimal("1e-9")
    else:
        for text in (status, once, shown, html):
            assert "borrowed" not in text.lower()
        assert documents == [None, None, None, None]
