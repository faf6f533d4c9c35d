"""Exports parse back to exactly what was journaled; JSON exports are stable byte for byte."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal

import pytest

from rebalancer.review import COLUMNS, export
from rebalancer.store import SqlJournal, Store
from tests.store.builders import T0, full_cycle, run_start

D = Decimal


@pytest.fixture
def journaled(store: Store) -> Store:
    journal = SqlJournal(store)
    full_cycle(journal, "r1")
    full_cycle(journal, "r2", at=T0.replace(day=6), portfolio="other", mode="live")
    journal.start_run(run_start("r3", mode="dry-run", at=T0.replace(day=7)))
    return store


def _export(store: Store, what: str, fmt: str, **filters: object) -> str:
    out = io.StringIO()
    export(store, what, fmt, out, **filters)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("what", ["runs", "orders", "fills"])
def test_csv_parses_back_with_the_documented_columns(journaled: Store, what: str) -> None:
    reader = csv.DictReader(io.StringIO(_export(journaled, what, "csv")))
    rows = list(reader)

    assert tuple(reader.fieldnames or ()) == COLUMNS[what]
    assert len(rows) == {"runs": 3, "orders": 4, "fills": 8}[what]


def test_csv_numbers_and_times_are_exact(journaled: Store) -> None:
    runs = list(csv.DictReader(io.StringIO(_export(journaled, "runs", "csv"))))
    orders = list(csv.DictReader(io.StringIO(_export(journaled, "orders", "csv"))))

    assert [r["run_id"] for r in runs] == ["r1", "r2", "r3"]  # oldest first
    assert D(runs[0]["notional_traded"]) == D(2000)
    assert D(runs[0]["largest_drift_before"]) == D("0.08333333333333333333333333333")
    assert datetime.fromisoformat(runs[0]["started_at"]) == T0
    assert runs[0]["started_at"].endswith("Z")
    assert runs[2]["finished_at"] == ""
    assert runs[2]["fees"] == ""
    assert (orders[0]["amount"], orders[0]["reduce_only"], orders[0]["side"]) == (
        "0.020",
        "false",
        "sell",
    )


def test_json_export_is_stable_and_ordered(journaled: Store) -> None:
    first = _export(journaled, "orders", "json")
    assert first == _export(journaled, "orders", "json")

    document = json.loads(first)
    assert list(document) == ["format", "rows"]
    assert document["format"] == "futures-rebalancer/export-orders@1"
    assert all(tuple(row) == COLUMNS["orders"] for row in document["rows"])
    row = document["rows"][0]
    assert (row["leg"], row["reduce_only"], row["filled"], row["fee"]) == (0, False, "0.020", "0.2")


def test_exports_filter_by_portfolio_and_time(journaled: Store) -> None:
    other = json.loads(_export(journaled, "fills", "json", portfolio="other"))["rows"]
    assert {r["run_id"] for r in other} == {"r2"}
    recent = json.loads(_export(journaled, "runs", "json", since=T0.replace(day=6)))["rows"]
    assert [r["run_id"] for r in recent] == ["r2", "r3"]


def test_an_empty_export_is_still_valid(store: Store) -> None:
    assert json.loads(_export(store, "fills", "json")) == {
        "format": "futures-rebalancer/export-fills@1",
        "rows": [],
    }
    assert _export(store, "runs", "csv") == ",".join(COLUMNS["runs"]) + "\n"


def test_an_unknown_export_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="cannot export 'positions'"):
        _export(store, "positions", "csv")
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        _export(store, "runs", "xml")
