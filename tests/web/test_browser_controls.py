"""Halt and resume in a real browser, against an exchange that records every request.

The dashboard (with the control token) serves the journal of a live config pointed at the
local emulator. A wrong token is refused and changes nothing; the right one, typed and
submitted with the keyboard alone, halts: the trading gate then refuses, and `rebalancer
once` exits 4 without a single write reaching the exchange. Resume lifts it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rebalancer import bootstrap
from rebalancer.config import load_settings
from rebalancer.emulator import Emulator
from rebalancer.service.controls import TradingStopped
from rebalancer.web import ControlToken, WebContext, create_app
from tests.integration.harness import ENV, seed_state, write_config
from tests.web.browser import Tab, check_accessibility
from tests.web.conftest import TOKEN
from tests.web.server import serving

EXE = str(Path(sys.executable).with_name("rebalancer"))


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path, Emulator, bootstrap.Journal]]:
    with Emulator(seed_state()) as emulator:
        config = write_config(tmp_path, emulator)
        settings = load_settings(config, {}, credentials=False)
        with bootstrap.open_journal(settings) as journal:
            token = ControlToken(TOKEN)
            context = WebContext(settings, journal.store, journal.controls, _now, token)
            with serving(create_app(context)) as url:
                yield url, config, emulator, journal


def _writes(emulator: Emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests() if r.method != "GET"]


def test_halt_refuses_a_wrong_token_and_halts_with_the_right_one(
    site: tuple[str, Path, Emulator, bootstrap.Journal], tab: Tab
) -> None:
    url, config, emulator, journal = site
    gate = bootstrap.trading_gate(load_settings(config, ENV), journal)
    page = tab.page
    page.goto(url + "/")
    check_accessibility(tab)
    page.get_by_label("Control token").first.fill("not-the-token-at-all")
    page.get_by_role("button", name="Halt").click()
    assert "wrong or missing control token" in page.inner_text("#problem")
    gate.check()  # still allowed

    page.goto(url + "/")
    page.focus("#halt-token")
    page.keyboard.type(TOKEN)
    page.keyboard.press("Tab")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("checking the hedges")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(url + "/?done=halted")
    assert page.inner_text("#notice") == "Trading halted."
    assert page.get_attribute("#trading-state", "data-state") == "halted"
    assert "web: checking the hedges" in page.inner_text("#trading-description")
    tab.shot("overview-halted")
    with pytest.raises(TradingStopped, match="web: checking the hedges"):
        gate.check()

    before = _writes(emulator)
    once = subprocess.run(
        [EXE, "once", "-c", str(config), "--yes"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
        check=False,
    )
    assert once.returncode == 4, once.stderr
    assert "trading is halted" in once.stderr
    assert _writes(emulator) == before == []

    page.get_by_label("Control token").nth(1).fill(TOKEN)
    page.get_by_role("button", name="Resume").click()
    page.wait_for_url(url + "/?done=resumed")
    assert page.get_attribute("#trading-state", "data-state") == "running"
    gate.check()
    refused = "the server responded with a status of 403 (Forbidden)"
    assert len(tab.errors) == 1  # the wrong token's page, and nothing else
    assert refused in tab.errors[0]
