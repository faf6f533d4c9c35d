"""The carry report as a rich table for people and as stable JSON for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from rebalancer.domain.ledger import CarryEntry, CarryKind
from rebalancer.render.numbers import json_money, json_weight, money
from rebalancer.review.carry import CarryReport, HedgeCarry

NOTE = "figures only, from the journal and the venue's own records; not advice"


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.2f}%"


def _bps(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value * 10_000:+.1f}bp"


def _opt_money(value: Decimal | None) -> str:
    return "n/a" if value is None else money(value, signed=True)


def carry_view(report: CarryReport) -> Group:
    """Per hedge and in total, then borrowing, the projection and any gaps."""
    table = Table(
        title=f"Carry {report.since:%Y-%m-%d %H:%M} .. {report.until:%Y-%m-%d %H:%M} UTC "
        f"({report.quote})",
        title_justify="left",
    )
    headers = (
        "hedge",
        "notional",
        "funding paid",
        "received",
        "fees",
        "net",
        "annualised",
        "rate now",
        "basis now",
        "basis range",
        "projected / yr",
    )
    for header in headers:
        table.add_column(header, justify="left" if header == "hedge" else "right")
    for hedge in report.hedges:
        table.add_row(*_row(report, hedge))
    table.add_row(
        "total",
        money(report.notional),
        money(report.funding_paid, signed=True),
        money(report.funding_received, signed=True),
        money(-report.fees, signed=True),
        money(report.hedges_net, signed=True),
        _pct(report.annualised(report.hedges_net, report.notional)),
        "",
        "",
        "",
        _opt_money(report.projected_funding_year()),
        style="bold",
    )
    lines: list[Any] = [table]
    share = report.borrow_share
    lines.append(
        Text(
            f"Borrow interest: {money(report.interest_total, signed=True)}"
            + (
                " ("
                + ", ".join(
                    f"{c} {money(v, signed=True)}" for c, v in sorted(report.interest.items())
                )
                + ")"
                if report.interest
                else ""
            )
            + f"; borrowed now {money(report.borrowed)}"
            + ("" if share is None else f" ({share * 100:.2f}% of equity)")
            + f"; implied rate {_pct(report.borrow_rate)}/yr"
            + f"; projected {_opt_money(report.projected_interest_year())}/yr"
        )
    )
    lines.append(
        Text(
            f"Net carry (funding + interest - fees): {money(report.net, signed=True)}, "
            f"{_pct(report.annualised(report.net, report.notional))}/yr on hedge notional; "
            f"projected at current rates {_opt_money(report.projected_year())}/yr"
        )
    )
    if report.gaps:
        lines.append(Text(f"Gaps ({len(report.gaps)}): not counted, not zero", style="bold red"))
        lines.extend(
            Text(f"  {g.subject} {g.start:%Y-%m-%d %H:%M} .. {g.end:%Y-%m-%d %H:%M}: {g.reason}")
            for g in report.gaps
        )
    else:
        lines.append(Text("Gaps: none found"))
    lines.append(Text(NOTE, style="dim"))
    return Group(*lines)


def _row(report: CarryReport, hedge: HedgeCarry) -> tuple[str, ...]:
    band = (
        "n/a"
        if hedge.basis_low is None or hedge.basis_high is None
        else f"{_bps(hedge.basis_low)} .. {_bps(hedge.basis_high)}"
    )
    return (
        hedge.instrument,
        money(hedge.notional, signed=True),
        money(hedge.funding_paid, signed=True),
        money(hedge.funding_received, signed=True),
        money(-hedge.fees, signed=True),
        money(hedge.net, signed=True),
        _pct(report.annualised(hedge.net, abs(hedge.notional))),
        _pct(hedge.funding_rate),
        _bps(hedge.basis_now),
        band,
        _opt_money(hedge.projected_year()),
    )


def _j(value: Decimal | None, weight: bool = False) -> str | None:
    if value is None:
        return None
    return json_weight(value) if weight else json_money(value)


def carry_to_dict(report: CarryReport) -> dict[str, Any]:
    """Stable JSON: money and rates as strings, times ISO UTC, null where unknown."""
    return {
        "quote": report.quote,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "hedges": [
            {
                "instrument": h.instrument,
                "notional": _j(h.notional),
                "funding_paid": _j(h.funding_paid),
                "funding_received": _j(h.funding_received),
                "fees": _j(h.fees),
                "net": _j(h.net),
                "payments": h.payments,
                "annualised": _j(report.annualised(h.net, abs(h.notional)), weight=True),
                "funding_rate": _j(h.funding_rate, weight=True),
                "funding_interval_hours": h.interval.total_seconds() / 3600,
                "basis_now": _j(h.basis_now, weight=True),
                "basis_low": _j(h.basis_low, weight=True),
                "basis_high": _j(h.basis_high, weight=True),
                "projected_year": _j(h.projected_year()),
            }
            for h in report.hedges
        ],
        "total": {
            "notional": _j(report.notional),
            "funding_paid": _j(report.funding_paid),
            "funding_received": _j(report.funding_received),
            "fees": _j(report.fees),
            "interest": _j(report.interest_total),
            "net": _j(report.net),
            "annualised": _j(report.annualised(report.net, report.notional), weight=True),
            "projected_year": _j(report.projected_year()),
        },
        "borrowing": {
            "interest": {c: json_money(v) for c, v in sorted(report.interest.items())},
            "borrowed": _j(report.borrowed),
            "borrow_share": _j(report.borrow_share, weight=True),
            "implied_rate": _j(report.borrow_rate, weight=True),
            "projected_year": _j(report.projected_interest_year()),
        },
        "gaps": [
            {
                "subject": g.subject,
                "start": g.start.isoformat(),
                "end": g.end.isoformat(),
                "reason": g.reason,
            }
            for g in report.gaps
        ],
        "note": NOTE,
    }


def _sums(entries: Sequence[CarryEntry]) -> tuple[Decimal, Decimal]:
    funding = sum((e.amount for e in entries if e.kind is CarryKind.FUNDING), Decimal(0))
    interest = sum((e.amount for e in entries if e.kind is CarryKind.INTEREST), Decimal(0))
    return funding, interest


def carry_status_line(entries: Sequence[CarryEntry], quote: str) -> str:
    """`status`'s line: this month's carry (entries from the 1st). The borrow share of a unified
    account is its own line (`render.borrowing`)."""
    funding, interest = _sums(entries)
    return (
        f"Carry this month: {money(funding + interest, signed=True)} {quote} "
        f"(funding {money(funding, signed=True)}, interest {money(interest, signed=True)})"
    )


def carry_month_to_dict(entries: Sequence[CarryEntry]) -> dict[str, str]:
    """`status --json`'s `carry_this_month`: the same sums as the line, as strings."""
    funding, interest = _sums(entries)
    return {"funding": str(funding), "interest": str(interest), "total": str(funding + interest)}
