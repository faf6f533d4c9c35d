"""Headless Debian chromium driven by Playwright, and what the browser tests check on a page.

The browser is the system's /usr/bin/chromium (Playwright's own download is not reachable);
without it the browser tests skip with a reason, except under CI=true where they fail.
Screenshots go to $REBALANCER_WEB_SHOTS when it names a folder.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")


def launch() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page and every console error or uncaught exception it reported."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def watch(self) -> Tab:
        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"console: {message.text}")

        self.page.on("console", console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        return self

    def values(self, selector: str) -> dict[str, str]:
        """data-field -> data-value of the cells inside `selector`."""
        found: dict[str, str] = self.page.eval_on_selector(
            selector,
            """row => Object.fromEntries([...row.querySelectorAll('[data-field]')]
                .filter(c => c.hasAttribute('data-value'))
                .map(c => [c.dataset.field, c.dataset.value]))""",
        )
        return found

    def shot(self, name: str) -> None:
        folder = os.environ.get("REBALANCER_WEB_SHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def open_tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Tab(context.new_page()).watch()
    finally:
        context.close()


def expected(value: Any) -> str:
    """How a JSON value appears in a data-value attribute (null -> empty)."""
    return "" if value is None else str(value)


def wait_for_chart(tab: Tab) -> None:
    """The drift chart drew: its box says so and holds a canvas with a size."""
    box = tab.page.locator("#drift-chart")
    tab.page.wait_for_selector("#drift-chart[data-drawn]")
    assert box.get_attribute("data-drawn") == "true"
    size = tab.page.eval_on_selector("#drift-chart canvas", "c => [c.width, c.height]")
    assert size[0] > 300
    assert size[1] > 100


def check_accessibility(tab: Tab) -> None:
    """Basic checks: the language, one h1 and no skipped heading level, every control has a
    label (its <label>, aria-label or aria-labelledby, or a button's text), charts are
    described images."""
    page = tab.page
    assert page.get_attribute("html", "lang") == "en"
    levels = page.eval_on_selector_all("h1, h2, h3, h4", "hs => hs.map(h => Number(h.tagName[1]))")
    assert levels.count(1) == 1
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))
    unlabelled = page.eval_on_selector_all(
        "input:not([type=hidden]), select, textarea, button",
        """els => els.filter(e => !(
            (e.labels && e.labels.length && e.labels[0].textContent.trim()) ||
            e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') ||
            (e.tagName === 'BUTTON' && e.textContent.trim()))).map(e => e.outerHTML)""",
    )
    assert unlabelled == []
    undescribed = page.eval_on_selector_all(
        "[role=img]", "els => els.filter(e => !e.getAttribute('aria-label')).length"
    )
    assert undescribed == 0


def tab_until(tab: Tab, predicate_js: str, limit: int = 60) -> int:
    """Press Tab until the focused element satisfies `predicate_js` (a JS expression over
    `el`); return how many presses it took. Fails if never reached."""
    for presses in range(1, limit + 1):
        tab.page.keyboard.press("Tab")
        if tab.page.evaluate(
            f"(() => {{ const el = document.activeElement; return {predicate_js}; }})()"
        ):
            return presses
    raise AssertionError(f"keyboard focus never reached: {predicate_js}")
