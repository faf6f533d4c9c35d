"""`render_report` as another command reuses it: plain series and formatted metrics in, HTML out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rebalancer.backtest.report_html import render_report
from rebalancer.backtest.summary import ReportSeries


def test_render_report_takes_plain_series_and_omits_charts_without_data() -> None:
    times = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=k) for k in range(5)]
    journal = ReportSeries(times=times, value=[100.0, 101.0, 99.5, 102.0, 103.0])
    page = render_report(
        {"what really happened <live>": journal},
        {"what really happened <live>": {"fees": "1.20"}},
        "Journal",
    )
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 1  # value only: no drift, hedge or funding series given
    assert "what really happened &lt;live&gt;" in page
    assert "<td>1.20</td>" in page
    assert page == render_report(
        {"what really happened <live>": journal},
        {"what really happened <live>": {"fees": "1.20"}},
        "Journal",
    )
