"""The snapshot JSON format: round trip, exact decimals, and one-line errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from rebalancer.snapshot_file import (
    SnapshotFileError,
    parse_snapshot,
    read_snapshot,
    snapshot_to_dict,
)

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "config" / "snapshots" / "seed-60-40.json"


def test_the_seed_snapshot_reads_and_round_trips() -> None:
    snap = read_snapshot(SEED)
    assert snap.equity == Decimal(12000)
    again = parse_snapshot(json.dumps(snapshot_to_dict(snap)))
    assert again == snap


def test_json_numbers_are_read_as_exact_decimals_not_floats() -> None:
    data = json.loads(SEED.read_text())
    data["spot"]["BTC"]["exchange"] = 0.1  # a JSON number, not a string
    snap = parse_snapshot(json.dumps(data))
    assert snap.spot["BTC"].exchange == Decimal("0.1")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["perps"]["BTC/USDT:USDT"].update(mark="-1"), "perps.BTC/USDT:USDT.mark:"),
        (lambda d: d["spot"]["ETH"].update(price="abc"), "spot.ETH.price:"),
        (lambda d: d.update(taken_at="2026-01-05T00:00:00"), "taken_at: Value error, has no time"),
        (lambda d: d.update(futures_equity=None), "futures_equity:"),
        (lambda d: d.update(extra=1), "extra: Extra inputs are not permitted"),
        (lambda d: d.update(format="other@9"), "format: Value error, unsupported format"),
        (
            lambda d: d["perps"]["ETH/USDT:USDT"].pop("amount_step"),
            "perps.ETH/USDT:USDT.amount_step",
        ),
    ],
)
def test_bad_fields_are_named(mutate: object, expected: str) -> None:
    data = json.loads(SEED.read_text())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(SnapshotFileError) as info:
        parse_snapshot(json.dumps(data), "s.json")
    assert len(info.value.problems) == 1
    assert (
        info.value.problems[0]
        .replace("Value error, ", "")
        .startswith(expected.replace("Value error, ", ""))
    )


def test_broken_json_says_where() -> None:
    with pytest.raises(SnapshotFileError, match=r"is not valid JSON \(line 1, column 2"):
        parse_snapshot("{,}")
