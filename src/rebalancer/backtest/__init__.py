"""Backtesting: replay price history through hold, spot rebalancing and the futures overlay.

One engine (`engine.run`) drives the shared sim account (fills, fees, slippage, funding,
margin, liquidation) and plans every rebalance with the live planner; `command` is the
`rebalancer backtest` click command and `report_html.render_report` the reusable HTML report.
"""

from rebalancer.backtest.data import DataError, FundingSeries, PriceTable, load_funding, load_prices
from rebalancer.backtest.engine import Market, RunResult, run
from rebalancer.backtest.metrics import Metrics, compute
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.report_html import render_report
from rebalancer.backtest.setup import Costs, RunSpec
from rebalancer.backtest.summary import ReportSeries

__all__ = [
    "Costs",
    "DataError",
    "FundingSeries",
    "Market",
    "Metrics",
    "Policy",
    "PriceTable",
    "ReportSeries",
    "RunResult",
    "RunSpec",
    "compute",
    "load_funding",
    "load_prices",
    "render_report",
    "run",
]
