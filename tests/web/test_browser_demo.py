"""`rebalancer demo` then `rebalancer web`, in a real browser: every page shows the journal's
numbers exactly as the CLI's JSON has them, the charts draw, and nothing errs in the console.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from rebalancer.web.format import percent, points
from tests.web.browser import Tab, check_accessibility, expected, tab_until, wait_for_chart
from tests.web.conftest import TOKEN, cli_json

EXE = str(Path(sys.executable).with_name("rebalancer"))


@dataclass(frozen=True)
class Site:
    url: str
    config: Path

    def cli(self, *args: str) -> Any:
        return cli_json(*args, "-c", str(self.config))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("demo")
    made = subprocess.run(
        [EXE, "demo", "--journal-dir", str(folder), "--speed", "0.01"],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "REBALANCER_WEB_TOKEN": TOKEN}
    config = folder / "demo.toml"
    server = subprocess.Popen(
        [EXE, "web", "-c", str(config), "--port", str(port)],
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # bounded: up to ~10 s for the server to come up
            try:
                httpx.get(url + "/api/overview", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        yield Site(url, config)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_history_page_shows_every_demo_run_as_the_cli_json_has_it(demo: Site, tab: Tab) -> None:
    runs = demo.cli("history")["runs"]
    assert runs, "the demo journaled no runs"
    tab.page.goto(demo.url + "/history")
    shown = tab.page.eval_on_selector_all(
        "#runs tbody tr", "rows => rows.map(r => r.dataset.runId)"
    )
    assert shown == [run["run_id"] for run in runs]
    for run in runs:
        row = f'#runs tr[data-run-id="{run["run_id"]}"]'
        cells = tab.values(row)
        assert cells == {field: expected(run[field]) for field in cells}
        assert set(cells) >= {"largest_drift_before", "notional_traded", "fees", "state"}
        drift = tab.page.inner_text(f'{row} [data-field="largest_drift_before"]')
        assert drift == points(run["largest_drift_before"])
    wait_for_chart(tab)
    check_accessibility(tab)
    tab.shot("history")
    assert tab.errors == []


def test_each_run_page_shows_its_plan_orders_and_residual_drift(demo: Site, tab: Tab) -> None:
    for summary in demo.cli("history")["runs"]:
        run = demo.cli("show", summary["run_id"])
        tab.page.goto(f"{demo.url}/runs/{summary['run_id']}")
        assert tab.page.inner_text("#run-id") == summary["run_id"]
        facts = tab.values("#run-summary")
        for name in ("state", "largest_drift_before", "notional_traded", "fees"):
            assert facts[name] == expected(run["run"][name])
        assert facts["largest_residual_drift"] == expected(run["largest_residual_drift"])
        for line in run["lines"]:
            cells = tab.values(f'#plan-lines tr[data-line="{line["name"]}"]')
            assert len(cells) == 7
            assert cells == {field: expected(line[field]) for field in cells}
            reasons = tab.page.inner_text(
                f'#plan-lines tr[data-line="{line["name"]}"] td[data-field="reasons"]'
            )
            assert all(reason in reasons for reason in line["reasons"])
        for order in run["orders"]:
            cells = tab.values(f'#orders tr[data-client-id="{order["client_id"]}"]')
            assert cells.pop("fills") == str(len(order["fills"]))
            assert len(cells) == 8
            assert cells == {field: expected(order[field]) for field in cells}
        for residual in run["residual"]:
            cells = tab.values(f'#residual tr[data-line="{residual["line"]}"]')
            assert len(cells) == 2
            assert cells == {field: expected(residual[field]) for field in cells}
        events = tab.page.locator("#events tbody tr").count()
        assert events == len(run["events"])
    assert run["orders"], "the newest demo run placed orders, so the order table was checked"
    check_accessibility(tab)
    tab.shot("run")
    assert tab.errors == []


def test_overview_shows_the_newest_snapshot_against_the_targets(demo: Site, tab: Tab) -> None:
    newest = demo.cli("history")["runs"][0]
    run = demo.cli("show", newest["run_id"])
    tab.page.goto(demo.url + "/")
    assert tab.page.get_attribute("#last-run a", "href") == f"/runs/{newest['run_id']}"
    assert tab.page.get_attribute("#trading-state", "data-state") == "running"
    margin = tab.values("#margin")
    assert margin["futures_equity"] == run["after"]["futures_equity"]
    for line in run["lines"]:
        cells = tab.values(f'#weights tr[data-line="{line["name"]}"]')
        assert cells["target_weight"] == line["target_weight"]
        target = tab.page.inner_text(
            f'#weights tr[data-line="{line["name"]}"] [data-field="target_weight"]'
        )
        assert target == percent(line["target_weight"])
    # Weights as the API has them, and the residual drift the CLI measured on the same snapshot.
    for residual in run["residual"]:
        drift = tab.values(f'#weights tr[data-line="{residual["line"]}"]')["drift"]
        assert abs(float(drift) - float(residual["drift"])) < 1e-9
    wait_for_chart(tab)
    check_accessibility(tab)
    tab.shot("overview")
    assert tab.errors == []


def test_carry_page_shows_the_ledger(demo: Site, tab: Tab) -> None:
    tab.page.goto(demo.url + "/carry")
    assert "not advice" in tab.page.inner_text("#carry-note")
    assert "Net carry" in tab.page.inner_text("#carry-total")
    check_accessibility(tab)
    tab.shot("carry")
    assert tab.errors == []


def test_the_keyboard_reaches_the_skip_link_the_menu_and_the_controls(demo: Site, tab: Tab) -> None:
    tab.page.goto(demo.url + "/")
    assert tab_until(tab, "el.classList.contains('skip')") == 1
    tab.page.keyboard.press("Enter")
    assert tab.page.evaluate("document.activeElement.id") == "main"
    tab.page.goto(demo.url + "/")
    for name in ("Overview", "History", "Carry"):
        tab_until(tab, f"el.tagName === 'A' && el.textContent.trim() === '{name}'")
    tab_until(tab, "el.id === 'halt-token'")
    tab_until(tab, "el.id === 'halt-button'")
    tab_until(tab, "el.id === 'resume-button'")
    tab.page.goto(demo.url + "/history")
    tab_until(tab, "el.id === 'f-mode'")
    tab_until(tab, "el.id === 'apply'")
    assert tab.errors == []
