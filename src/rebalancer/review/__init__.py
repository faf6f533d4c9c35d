"""Reviewing the journal: history, one run in full, exports, and their renderings.

Queries take an open `Store` and answer with the typed records of `records`; the renderers
turn those into rich tables for people or stable JSON for scripts.
"""

from rebalancer.review.export import COLUMNS, export
from rebalancer.review.queries import history, show
from rebalancer.review.records import (
    EventView,
    FillView,
    HistoryRow,
    OrderView,
    ResidualDrift,
    RunDetail,
)
from rebalancer.review.render_json import history_to_dict, run_to_dict
from rebalancer.review.render_table import history_table, run_view

__all__ = [
    "COLUMNS",
    "EventView",
    "FillView",
    "HistoryRow",
    "OrderView",
    "ResidualDrift",
    "RunDetail",
    "export",
    "history",
    "history_table",
    "history_to_dict",
    "run_to_dict",
    "run_view",
    "show",
]
