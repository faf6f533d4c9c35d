"""Fixtures for the dashboard: a built journal, an app over it, and the CLI's JSON of it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser

from rebalancer import bootstrap
from rebalancer.cli import main
from rebalancer.service.controls import Controls
from rebalancer.web import ControlToken, WebContext, create_app
from tests.web.browser import Tab, launch, open_tab
from tests.web.journal import PORTFOLIO, BuiltJournal, build_journal
from tests.web.server import serving

TOKEN = "correct-horse-battery-staple-42"  # noqa: S105 - a test token
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> BuiltJournal:
    return build_journal(tmp_path_factory.mktemp("web"))


def cli_json(*args: str) -> Any:
    """What `rebalancer ARGS --json` prints, parsed."""
    result = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def make_client(journal: BuiltJournal) -> Iterator[Callable[..., httpx.Client]]:
    """A client of the dashboard over the journal, served for real: read-only, or with the
    control token."""
    with ExitStack() as stack:

        def make(*, token: str | None = None) -> httpx.Client:
            settings = journal.settings()
            handle = stack.enter_context(bootstrap.open_journal(settings, create=False))
            stack.callback(handle.controls.save, PORTFOLIO, Controls())  # next test: un-halted
            context = WebContext(
                settings,
                handle.store,
                handle.controls,
                lambda: NOW,
                None if token is None else ControlToken(token),
            )
            url = stack.enter_context(serving(create_app(context)))
            return stack.enter_context(httpx.Client(base_url=url, timeout=30))

        yield make


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module, not per session: while Playwright's sync API runs, its event loop holds the
    # main thread and any later test's asyncio.run() would fail.
    yield from launch()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    yield from open_tab(browser)
