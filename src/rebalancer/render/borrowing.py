"""The borrowed quote of a unified account, in words and as JSON: one line beside the equity
in `plan`, `once`, `status`, `show` and the web overview; nothing for a segregated account."""

from __future__ import annotations

from typing import Any

from rebalancer.domain.snapshot import Borrowing
from rebalancer.render.numbers import json_money, json_weight, money, percent


def borrowing_line(borrowing: Borrowing | None, quote: str) -> str | None:
    """`Unified account: borrowed 1,500.00 USDT (12.50% of equity)`; None when segregated."""
    if borrowing is None:
        return None
    share = "" if borrowing.share is None else f" ({percent(borrowing.share)} of equity)"
    return f"Unified account: borrowed {money(borrowing.amount)} {quote}{share}"


def borrowing_json(borrowing: Borrowing | None) -> dict[str, Any] | None:
    """`{"borrowed": "1500.00", "share_of_equity": "0.1250"}`; null for a segregated account."""
    if borrowing is None:
        return None
    return {
        "borrowed": json_money(borrowing.amount),
        "share_of_equity": None if borrowing.share is None else json_weight(borrowing.share),
    }
