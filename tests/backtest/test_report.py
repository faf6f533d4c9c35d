"""`render_report` as another command reuses it: plain series and formatted metrics in, HTML out."""

from __future__ import annotations

import html
import re
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


def _tick_texts(page: str) -> list[str]:
    # svg.fonttype "none": tick labels are <text> elements holding plain text.
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", page)]


def test_axis_labels_are_plain_numbers_without_offset_or_exponent() -> None:
    times = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=k) for k in range(5)]
    journal = ReportSeries(
        times=times,
        value=[12_000.0, 12_040.0, 12_010.0, 12_080.0, 12_100.0],
        cumulative_costs=[0.0, 0.4, 0.9, 1.2, 1.5],
    )
    page = render_report({"live": journal}, {"live": {}}, "Journal")
    texts = _tick_texts(page)
    assert any(re.fullmatch(r"12,0\d0", t) for t in texts), texts
    marks = ("\N{MULTIPLICATION SIGN}", "e+", "1e", "10^")
    assert not [t for t in texts if any(mark in t for mark in marks)]


def test_fees_are_drawn_without_funding() -> None:
    times = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=k) for k in range(3)]
    journal = ReportSeries(times=times, value=[100.0, 101.0, 102.0], cumulative_costs=[0, 1, 2])
    page = render_report({"live": journal}, {"live": {}}, "Journal")
    assert "Cumulative funding and trading costs" in page
    assert "live fees" in _tick_texts(page)
