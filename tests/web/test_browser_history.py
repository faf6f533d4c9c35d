"""The history page in a real browser over 132 runs: pages follow each other with no run
lost or repeated, "newer" goes back, and the filter form narrows the list to what it says."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rebalancer import bootstrap
from rebalancer.web import WebContext, create_app
from tests.web.browser import Tab, check_accessibility, wait_for_chart
from tests.web.conftest import NOW, cli_json
from tests.web.journal import BuiltJournal
from tests.web.server import serving


@pytest.fixture
def site(journal: BuiltJournal) -> Iterator[str]:
    settings = journal.settings()
    with bootstrap.open_journal(settings, create=False) as handle:
        context = WebContext(settings, handle.store, handle.controls, lambda: NOW)
        with serving(create_app(context)) as url:
            yield url


def _ids(tab: Tab) -> list[str]:
    ids: list[str] = tab.page.eval_on_selector_all(
        "#runs tbody tr", "rows => rows.map(r => r.dataset.runId)"
    )
    return ids


def _all_runs(journal: BuiltJournal) -> list[dict[str, str]]:
    runs: list[dict[str, str]] = cli_json("history", "-c", str(journal.config), "--limit", "10000")[
        "runs"
    ]
    return runs


def test_pages_follow_each_other_and_newer_goes_back(
    site: str, journal: BuiltJournal, tab: Tab
) -> None:
    tab.page.goto(site + "/history")
    pages = [_ids(tab)]
    assert tab.page.locator("#newer").count() == 0
    while tab.page.locator("#older").count():
        tab.page.click("#older")
        pages.append(_ids(tab))
    assert [len(p) for p in pages] == [50, 50, 32]
    assert [i for p in pages for i in p] == [r["run_id"] for r in _all_runs(journal)]
    tab.page.click("#newer")
    assert _ids(tab) == pages[1]
    tab.page.click("#newer")
    assert _ids(tab) == pages[0]
    assert tab.page.locator("#newer").count() == 0
    assert tab.errors == []


def test_the_filter_form_narrows_the_runs_and_keeps_its_choices(
    site: str, journal: BuiltJournal, tab: Tab
) -> None:
    keep: Callable[[dict[str, str]], bool] = lambda r: (  # noqa: E731
        r["mode"] == "live" and r["state"] == "failed" and r["started_at"] >= "2026-02-01"
    )
    expected = [r["run_id"] for r in _all_runs(journal) if keep(r)]
    assert 0 < len(expected) < 50
    page = tab.page
    page.goto(site + "/history")
    page.get_by_label("Mode").select_option("live")
    page.get_by_label("State").select_option("failed")
    page.get_by_label("From (UTC)").fill("2026-02-01")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/history?*state=failed*")
    assert _ids(tab) == expected
    assert page.get_by_label("Mode").input_value() == "live"
    assert page.get_by_label("State").input_value() == "failed"
    assert page.get_by_label("From (UTC)").input_value() == "2026-02-01"
    wait_for_chart(tab)
    check_accessibility(tab)
    tab.shot("history-filtered")
    assert tab.errors == []
