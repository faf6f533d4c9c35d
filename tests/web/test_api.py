"""The JSON API answers with the CLI's own documents, and pages through the journal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx

from tests.web.conftest import cli_json
from tests.web.journal import FULL_RUNS, BuiltJournal


def test_history_api_is_the_cli_history_json(
    journal: BuiltJournal, make_client: Callable[..., httpx.Client]
) -> None:
    expected = cli_json("history", "-c", str(journal.config), "--limit", "40")
    answer = make_client().get("/api/history", params={"limit": "40"})
    assert answer.status_code == 200
    assert answer.json() == expected


def test_run_api_is_the_cli_show_json(
    journal: BuiltJournal, make_client: Callable[..., httpx.Client]
) -> None:
    expected = cli_json("show", FULL_RUNS[1], "-c", str(journal.config))
    answer = make_client().get(f"/api/runs/{FULL_RUNS[1]}")
    assert answer.json() == expected
    assert expected["orders"]  # a run with orders and fills, so the comparison means something


def test_unknown_run_is_a_404_naming_it(make_client: Callable[..., httpx.Client]) -> None:
    answer = make_client().get("/api/runs/nope")
    assert answer.status_code == 404
    assert answer.json() == {"error": "no run 'nope' in this journal"}


def test_history_pages_cover_every_run_once_newest_first(
    journal: BuiltJournal, make_client: Callable[..., httpx.Client]
) -> None:
    client = make_client()
    everything = cli_json("history", "-c", str(journal.config), "--limit", "10000")["runs"]
    seen: list[str] = []
    url: str | None = "/api/history?limit=25"
    while url is not None:
        answer = client.get(url)
        seen += [run["run_id"] for run in answer.json()["runs"]]
        links = answer.links
        url = links["next"]["url"] if "next" in links else None
    assert seen == [run["run_id"] for run in everything]
    assert len(seen) == journal.bulk + len(FULL_RUNS)


def test_the_previous_page_link_returns_the_page_before(
    make_client: Callable[..., httpx.Client],
) -> None:
    client = make_client()
    first = client.get("/api/history?limit=10")
    second = client.get(first.links["next"]["url"])
    back = client.get(second.links["prev"]["url"])
    assert back.json() == first.json()
    assert "prev" not in first.links


def test_history_filters_by_mode_trigger_state_and_dates(
    journal: BuiltJournal, make_client: Callable[..., httpx.Client]
) -> None:
    everything = cli_json("history", "-c", str(journal.config), "--limit", "10000")["runs"]
    params = {"mode": "paper", "trigger": "manual", "state": "completed"}
    params |= {"from": "2026-02-01", "to": "2026-03-31", "limit": "500"}
    answer = make_client().get("/api/history", params=params)
    expected = [
        r
        for r in everything
        if r["mode"] == "paper"
        and r["trigger"] == "manual"
        and r["state"] == "completed"
        and "2026-02-01" <= r["started_at"][:10] <= "2026-03-31"
    ]
    assert expected  # the filter keeps some runs and drops others
    assert answer.json()["runs"] == expected


def test_a_bad_filter_is_a_400_naming_the_parameter_and_the_fix(
    make_client: Callable[..., httpx.Client],
) -> None:
    client = make_client()
    cases = {
        "mode=livee": "mode: 'livee' is not one of live, paper, dry-run; pick one",
        "from=yesterday": "from: 'yesterday' is not a date; use YYYY-MM-DD",
        "limit=0": "limit: '0' is not a page size; use 1 to 500",
        "before=xyz": "before: 'xyz' is not a page cursor; follow the page links",
    }
    for query, message in cases.items():
        answer = client.get(f"/api/history?{query}")
        assert (answer.status_code, answer.json()) == (400, {"error": message})


def test_overview_api_values_the_newest_snapshot_with_the_config_targets(
    journal: BuiltJournal, make_client: Callable[..., httpx.Client]
) -> None:
    doc = make_client().get("/api/overview").json()
    newest = cli_json("show", FULL_RUNS[1], "-c", str(journal.config))
    after = newest["after"]
    assert doc["snapshot"]["run_id"] == FULL_RUNS[1]
    assert doc["snapshot"]["phase"] == "after"
    assert doc["margin"]["futures_equity"] == after["futures_equity"]
    weights = {line["name"]: Decimal(line["weight"]) for line in doc["lines"]}
    targets = {line["name"]: line["target_weight"] for line in doc["lines"]}
    assert targets == {"BTC": "0.5", "ETH": "0.3333333333"}
    # The seed example's after-trade account is on target: 50 % BTC, 33.3 % ETH, net of hedges.
    assert abs(weights["BTC"] - Decimal("0.5")) < Decimal("0.001")
    assert abs(weights["ETH"] - Decimal("1") / 3) < Decimal("0.001")
    assert abs(sum(weights.values()) + Decimal(doc["cash"]["weight"]) - 1) <= Decimal("2e-10")
    assert doc["last_run"]["run_id"] == FULL_RUNS[1]
    assert doc["trading"]["state"] == "running"
    assert doc["schedule"]["next_calendar"] == "2026-07-01T00:00:00Z"


def test_pages_answer_a_bad_filter_or_an_unknown_run_in_one_line(
    make_client: Callable[..., httpx.Client],
) -> None:
    client = make_client()
    bad = client.get("/history?state=done")
    missing = client.get("/runs/nope")
    assert bad.status_code == 400
    assert "state: &#39;done&#39; is not one of started, snapshot" in bad.text
    assert missing.status_code == 404
    assert "no run &#39;nope&#39; in this journal; see the history" in missing.text
