"""Halt and resume from the dashboard: refused without the token, CSRF value or origin;
with them the halt is saved in the journal naming "web" as its source, and the trading gate
every order path goes through then refuses."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from structlog.testing import capture_logs

from rebalancer.service.controls import TradingGate, TradingStopped
from rebalancer.store import SqlControls, open_store
from rebalancer.web import ControlToken
from tests.web.conftest import TOKEN
from tests.web.journal import PORTFOLIO, BuiltJournal

MakeClient = Callable[..., httpx.Client]


def _gate(journal: BuiltJournal) -> TradingGate:
    return TradingGate(SqlControls(open_store(journal.url)), PORTFOLIO)


def _form(client: httpx.Client) -> str:
    """Load the overview (which sets the CSRF cookie) and read the form's CSRF value."""
    page = client.get("/")
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found is not None, "the overview has no control form"
    return found.group(1)


def test_a_read_only_dashboard_shows_no_controls_and_refuses_them(
    journal: BuiltJournal, make_client: MakeClient
) -> None:
    client = make_client()
    assert 'action="/control/halt"' not in client.get("/").text
    form = client.post("/control/halt", data={"token": TOKEN, "csrf": "x"})
    api = client.post("/api/halt", headers={"Authorization": f"Bearer {TOKEN}"})
    assert form.status_code == api.status_code == 403
    assert "started without $REBALANCER_WEB_TOKEN" in api.json()["error"]
    _gate(journal).check()  # still allowed: nothing was changed


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-of-some-length", f"Basic {TOKEN}"]
)
def test_the_api_refuses_a_missing_or_wrong_token(
    journal: BuiltJournal, make_client: MakeClient, authorization: str | None
) -> None:
    client = make_client(token=TOKEN)
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = client.post("/api/halt", headers=headers)
    assert answer.status_code == 403
    assert answer.json() == {"error": "wrong or missing control token; nothing was changed"}
    _gate(journal).check()


def test_the_api_halts_with_the_token_and_the_gate_then_refuses(
    journal: BuiltJournal, make_client: MakeClient
) -> None:
    client = make_client(token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answer = client.post("/api/halt", params={"reason": "checking the hedges"}, headers=auth)
    assert answer.json()["state"] == "halted"
    with pytest.raises(TradingStopped, match=r"web: checking the hedges"):
        _gate(journal).check()
    assert client.get("/api/overview").json()["trading"]["state"] == "halted"
    assert client.post("/api/resume", headers=auth).json()["state"] == "running"
    _gate(journal).check()


def test_the_halt_form_needs_its_csrf_value_the_token_and_this_origin(
    journal: BuiltJournal, make_client: MakeClient
) -> None:
    client = make_client(token=TOKEN)
    csrf = _form(client)
    refused = [
        client.post("/control/halt", data={"token": TOKEN}),
        client.post("/control/halt", data={"token": TOKEN, "csrf": "0" * 64}),
        client.post("/control/halt", data={"token": "wrong-token-of-length", "csrf": csrf}),
        client.post(
            "/control/halt",
            data={"token": TOKEN, "csrf": csrf},
            headers={"Origin": "http://evil.example"},
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    _gate(journal).check()
    done = client.post("/control/halt", data={"token": TOKEN, "csrf": csrf, "reason": "holiday"})
    assert (done.status_code, done.headers["location"]) == (303, "/?done=halted")
    with pytest.raises(TradingStopped, match=r"web: holiday"):
        _gate(journal).check()
    assert "Trading halted." in client.get("/?done=halted").text


def test_the_token_never_appears_in_a_page_a_header_or_a_log(
    make_client: MakeClient,
) -> None:
    client = make_client(token=TOKEN)
    with capture_logs() as logs:
        csrf = _form(client)
        answers = [
            client.get("/"),
            client.post("/control/halt", data={"token": TOKEN + "x", "csrf": csrf}),
            client.post("/control/halt", data={"token": TOKEN, "csrf": csrf}),
            client.post("/api/resume", headers={"Authorization": "Bearer nope-nope-nope"}),
        ]
    assert {e["event"] for e in logs} >= {"web_control_refused", "web_halted"}
    assert TOKEN not in repr(logs)
    for answer in answers:
        assert TOKEN not in answer.text
        assert TOKEN not in str(answer.headers)
    assert TOKEN not in repr(ControlToken(TOKEN))


def test_every_response_carries_the_security_headers(make_client: MakeClient) -> None:
    client = make_client()
    for path in ("/", "/history", "/runs/nope", "/api/history", "/static/charts.js", "/nope"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_a_foreign_host_name_is_refused(make_client: MakeClient) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 gets nothing."""
    answer = make_client().get("/api/overview", headers={"Host": "evil.example"})
    assert answer.status_code == 400


def test_pages_load_scripts_and_styles_from_this_server_only(make_client: MakeClient) -> None:
    client = make_client()
    for path in ("/", "/history", "/runs/full-2", "/carry"):
        html = client.get(path).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
        assert "<script>" not in html  # no inline script: the CSP forbids it anyway
    chart_lib = client.get("/static/uPlot.iife.min.js")
    assert chart_lib.status_code == 200
    assert "uPlot" in chart_lib.text
