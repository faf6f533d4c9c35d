"""A self-contained HTML report: a metrics table and inline SVG charts (matplotlib, no pyplot,
no display needed) of value, largest drift, hedge notional and leverage, and cumulative funding
and costs (fees alone where funding is unknown). Axis labels are plain numbers, never an offset
or scientific notation. `render_report` takes plain series and formatted metrics, so the
journal's "what really happened" report can reuse it."""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Mapping, Sequence

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from rebalancer.backtest.summary import LABELS, ReportSeries

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f4f4; }
.notes { color: #8a6d00; font-size: 0.9em; }
figure { margin: 0; }
.wide { overflow-x: auto; }
"""
TRANSPOSE_UP_TO = 8
LEVERAGE_AXIS_MAX = 5.0
LOG_SCALE_RATIO = 3.0


def render_report(
    series_by_name: Mapping[str, ReportSeries],
    metrics_by_name: Mapping[str, Mapping[str, str]],
    title: str,
    notes: Sequence[str] = (),
) -> str:
    """The whole page as one string; metrics keys may be any labels (known keys get names)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f'<ul class="notes">{items}</ul>')
    parts.append(_metrics_table(metrics_by_name))
    colors = {name: f"C{k % 10}" for k, name in enumerate(series_by_name)}
    for heading, draw, drawn in _CHARTS:
        lines = {n: (s, colors[n]) for n, s in series_by_name.items() if drawn(s)}
        if lines:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            parts.append(_svg(heading, draw, lines))
    parts.append("</body></html>")
    return "\n".join(parts)


def _metrics_table(metrics_by_name: Mapping[str, Mapping[str, str]]) -> str:
    """Runs as columns (metrics as rows) when few, so the page needs no sideways scrolling."""
    keys: list[str] = []
    for metrics in metrics_by_name.values():
        keys.extend(k for k in metrics if k not in keys)
    names = list(metrics_by_name)
    if len(names) <= TRANSPOSE_UP_TO:
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        rows = [
            f"<tr><td>{html.escape(LABELS.get(k, k))}</td>"
            + "".join(f"<td>{html.escape(metrics_by_name[n].get(k, ''))}</td>" for n in names)
            + "</tr>"
            for k in keys
        ]
        corner = "metric"
    else:
        head = "".join(f"<th>{html.escape(LABELS.get(k, k))}</th>" for k in keys)
        rows = [
            f"<tr><td>{html.escape(n)}</td>"
            + "".join(f"<td>{html.escape(metrics_by_name[n].get(k, ''))}</td>" for k in keys)
            + "</tr>"
            for n in names
        ]
        corner = "run"
    return (
        f'<div class="wide"><table><thead><tr><th>{corner}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


Lines = Mapping[str, tuple[ReportSeries, str]]  # name -> (series, colour)


def _x(series: ReportSeries) -> list[float]:
    """Matplotlib's date numbers: days since its default epoch, 1970-01-01 UTC."""
    return [t.timestamp() / 86_400 for t in series.times]


def _plain(axis: Axis) -> None:
    """Tick labels as plain numbers with separators: no "1e4", no "x10^4" offset."""
    axis.set_major_formatter(FuncFormatter(_tick))
    axis.set_minor_formatter(FuncFormatter(lambda _, __: ""))


def _tick(value: float, _: object) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 0.1 else 4
    return f"{value:,.{digits}f}"


def _value(ax: Axes, lines: Lines) -> None:
    values = [v for s, _ in lines.values() for v in s.value if v > 0]
    for name, (s, color) in lines.items():
        ax.plot(_x(s), s.value, color=color, label=name, linewidth=1)
    # A log axis only where values span a range worth it (years of a backtest).
    if values and max(values) > LOG_SCALE_RATIO * min(values):
        ax.set_yscale("log")
        ax.set_ylabel("portfolio value (quote, log scale)")
    else:
        ax.set_ylabel("portfolio value (quote)")


def _drift(ax: Axes, lines: Lines) -> None:
    for name, (s, color) in lines.items():
        ax.plot(_x(s), [d * 100 for d in s.largest_drift], color=color, label=name, linewidth=0.8)
    ax.set_ylabel("largest drift (weight points, %)")


def _hedge(ax: Axes, lines: Lines) -> None:
    twin = ax.twinx()
    highest = 0.0
    for name, (s, color) in lines.items():
        highest = max([highest, *(v for v in s.leverage if not math.isnan(v))])
        ax.plot(_x(s), s.hedge_notional, color=color, label=f"{name} notional", linewidth=1)
        twin.plot(_x(s), s.leverage, color=color, linestyle=":", linewidth=1)
    ax.set_ylabel("gross hedge notional (solid)")
    clipped = highest > LEVERAGE_AXIS_MAX
    twin.set_ylim(0, min(max(highest * 1.1, 1.2), LEVERAGE_AXIS_MAX))
    note = f", axis clipped at {LEVERAGE_AXIS_MAX:g}x; peak {highest:.1f}x" if clipped else ""
    twin.set_ylabel(f"leverage on futures equity (dotted{note})")


def _costs(ax: Axes, lines: Lines) -> None:
    funding = any(s.cumulative_funding for s, _ in lines.values())
    for name, (s, color) in lines.items():
        if s.cumulative_funding:
            ax.plot(_x(s), s.cumulative_funding, color=color, label=f"{name} funding", linewidth=1)
        costs = [-c for c in s.cumulative_costs]
        if costs:
            label = None if funding else f"{name} fees"
            ax.plot(_x(s), costs, color=color, linestyle="--", linewidth=1, label=label)
    ax.axhline(0, color="#999", linewidth=0.5)
    ax.set_ylabel(
        "cumulative funding (solid), -fees-slippage (dashed)" if funding else "-cumulative fees"
    )


_CHARTS: tuple[tuple[str, Callable[[Axes, Lines], None], Callable[[ReportSeries], bool]], ...] = (
    ("Portfolio value", _value, lambda s: bool(s.value)),
    ("Largest drift from target", _drift, lambda s: bool(s.largest_drift)),
    ("Hedge notional and leverage", _hedge, lambda s: bool(s.hedge_notional)),
    (
        "Cumulative funding and trading costs",
        _costs,
        lambda s: bool(s.cumulative_funding or s.cumulative_costs),
    ),
)


def _svg(name: str, draw: Callable[[Axes, Lines], None], lines: Lines) -> str:
    # A salt per chart keeps the SVG element ids of several charts on one page distinct.
    with rc_context({"svg.hashsalt": name, "svg.fonttype": "none"}):
        figure = Figure(figsize=(11, 4.2), layout="constrained")
        ax = figure.add_subplot()
        draw(ax, lines)
        for axes in figure.axes:  # the leverage chart adds a twin
            _plain(axes.yaxis)
        ax.xaxis_date()
        ax.grid(visible=True, linewidth=0.3)
        ax.legend(fontsize="small", loc="best")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return "<figure>" + text[text.index("<svg") :] + "</figure>"
