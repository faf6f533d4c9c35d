"""The roll's journal record: written before the roll's first order leaves, read back by the
next run to finish a roll a crash (or a halt) cut between its hedge closes and its spot orders.

A run that performs a roll journals `roll_planned` (the whole roll: every perp close and spot
order with its client id, and the reasons) before anything is sent, and `roll_finished` once
every spot order has its answer, or the roll turned out void. The portfolio's latest of the two
tells whether a roll is open; `roll_progress` (pure) says what is left of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rebalancer.domain.lifecycle import OrderStatus
from rebalancer.domain.plan import Side
from rebalancer.domain.roll import (
    RecordedLine,
    RecordedSpot,
    RollProgress,
    RollRecord,
    SpotOrder,
    roll_progress,
)
from rebalancer.service.journal import Journal

ROLL_PLANNED = "roll_planned"
ROLL_FINISHED = "roll_finished"
KINDS = (ROLL_PLANNED, ROLL_FINISHED)


def record_to_data(record: RollRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "resumes": record.resumes,
        "lines": [
            {
                "line": line.line,
                "hedge": str(line.hedge),
                "reasons": list(line.reasons),
                "closes": list(line.closes),
                "closed": line.closed,
            }
            for line in record.lines
        ],
        "spot": [
            {
                "client_id": s.client_id,
                "leg": s.order.leg,
                "line": s.order.line,
                "asset": s.order.asset,
                "symbol": s.order.symbol,
                "side": s.order.side.value,
                "quantity": str(s.order.quantity),
                "price": str(s.order.price),
            }
            for s in record.spot
        ],
    }


def record_from_data(data: Mapping[str, Any]) -> RollRecord:
    lines = tuple(
        RecordedLine(
            str(line["line"]),
            Decimal(str(line["hedge"])),
            tuple(str(r) for r in line["reasons"]),
            tuple(str(c) for c in line["closes"]),
            bool(line["closed"]),
        )
        for line in data["lines"]
    )
    spot = tuple(
        RecordedSpot(
            str(s["client_id"]),
            SpotOrder(
                leg=int(s["leg"]),
                line=str(s["line"]),
                asset=str(s["asset"]),
                symbol=str(s["symbol"]),
                side=Side(s["side"]),
                quantity=Decimal(str(s["quantity"])),
                price=Decimal(str(s["price"])),
            ),
        )
        for s in data["spot"]
    )
    resumes = data.get("resumes")
    return RollRecord(str(data["run_id"]), lines, spot, None if resumes is None else str(resumes))


def open_roll(journal: Journal, portfolio: str) -> tuple[RollRecord, RollProgress] | None:
    """The portfolio's roll still open (recorded, not finished) and how far it got; None when
    every roll recorded has finished."""
    latest = journal.latest_event(portfolio, KINDS)
    if latest is None or latest.kind != ROLL_PLANNED:
        return None
    record = record_from_data(latest.data)
    return record, progress_in_journal(journal, record)


def progress_in_journal(journal: Journal, record: RollRecord) -> RollProgress:
    statuses: dict[str, OrderStatus] = {
        o.intent.client_id: o.status for o in journal.run_orders(record.run_id)
    }
    return roll_progress(record, statuses)
