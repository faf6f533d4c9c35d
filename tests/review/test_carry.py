"""The carry report's figures, computed by hand from a small ledger and two snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rebalancer.domain.ledger import CarryEntry, CarryGap, CarryKind
from rebalancer.domain.snapshot import AccountKind, PerpState, Snapshot, SpotHolding
from rebalancer.review.carry import carry_report, implied_borrow_rate
from rebalancer.review.render_carry import carry_month_to_dict, carry_status_line, carry_to_dict
from tests.unit.domain.builders import perp

D = Decimal
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def funding(i: int, subject: str, amount: str) -> CarryEntry:
    return CarryEntry(
        CarryKind.FUNDING, f"{subject}{i}", T0 + timedelta(hours=8 * i), subject, D(amount), "x"
    )


def interest(hour: int, amount: str, borrowed: str) -> CarryEntry:
    return CarryEntry(
        CarryKind.INTEREST,
        f"i{hour}",
        T0 + timedelta(hours=hour),
        "USDT",
        D(amount),
        "x",
        notional=D(borrowed),
    )


def unified(at: datetime, btc_mark: str, btc_rate: str, cash: str = "-1000") -> Snapshot:
    btc = perp(BTC, btc_mark, "-0.02")
    eth = perp(ETH, "2500", "0.4")
    return Snapshot(
        at,
        "USDT",
        D(cash),
        D(0),
        {"BTC": SpotHolding("BTC", D("50000"), D("0.2")), "ETH": SpotHolding("ETH", D("2500"))},
        {
            BTC: PerpState(btc.rules, btc.mark, btc.position, D(btc_rate)),
            ETH: PerpState(eth.rules, eth.mark, eth.position, D("0.0001")),
        },
        kind=AccountKind.UNIFIED,
        collateral_value=D(8000),
    )


def test_the_report_adds_up_per_hedge_and_in_total() -> None:
    entries = [
        *(funding(i, BTC, "0.1") for i in range(3)),
        *(funding(i, ETH, "-0.1") for i in range(3)),
        funding(3, BTC, "-0.05"),
        *(interest(h, "-0.01141553", "1000") for h in (1, 2)),
    ]
    before = unified(T0 + timedelta(hours=1), "50100", "0.0001")
    now = unified(T0 + timedelta(days=1), "49950", "0.0002")
    report = carry_report(
        quote="USDT",
        since=T0,
        until=T0 + timedelta(days=1),
        entries=entries,
        recorded_gaps=[],
        snapshots=[before],
        fees={BTC: D("0.5"), ETH: D("0.25")},
        now=now,
    )
    btc, eth = report.hedges
    assert (btc.instrument, btc.funding_received, btc.funding_paid, btc.payments) == (
        BTC,
        D("0.3"),
        D("-0.05"),
        4,
    )
    assert btc.net == D("0.3") - D("0.05") - D("0.5")
    assert (eth.funding_paid, eth.net) == (D("-0.3"), D("-0.55"))
    assert btc.basis_now == D("49950") / D("50000") - 1
    assert (btc.basis_low, btc.basis_high) == (D("-0.001"), D("0.002"))
    # At 0.02 % every 8 hours on a $999 short: it receives 3 x 365 x 0.1998.
    assert btc.projected_year() == D("-0.02") * D("49950") * D("-0.0002") * 3 * 365
    assert report.interest_total == D("-0.02283106")
    assert report.borrowed == D(1000)
    assert report.borrow_rate is not None
    assert abs(report.borrow_rate - D("0.1")) < D("1e-6")  # 0.0114 on 1,000 an hour
    assert report.net == D("0.25") - D("0.3") - D("0.02283106") - D("0.75")
    # A day's net on ~$1,999 of hedges, times 365.
    assert report.annualised(report.net, report.notional) == report.net / D("1999") * 365
    assert report.gaps == ()  # the payments are consecutive
    assert [p[1] for p in report.cumulative][-1] == sum((e.amount for e in entries), D(0))


def test_a_recorded_gap_and_a_missed_payment_are_listed_never_zero() -> None:
    recorded = CarryGap("*", T0 - timedelta(days=100), T0, "the venue no longer returns", "x")
    entries = [funding(0, BTC, "0.1"), funding(2, BTC, "0.1")]
    report = carry_report(
        quote="USDT",
        since=T0 - timedelta(days=200),
        until=T0 + timedelta(days=1),
        entries=entries,
        recorded_gaps=[recorded],
        snapshots=[],
        fees={},
        now=None,
    )
    assert [(g.subject, g.start) for g in report.gaps] == [
        ("*", recorded.start),
        (BTC, T0 + timedelta(hours=8)),
    ]
    doc = carry_to_dict(report)
    assert len(doc["gaps"]) == 2
    assert doc["total"]["projected_year"] is None  # no rate known: no projection
    assert report.borrow_share is None


def test_without_interest_charges_no_borrow_rate_is_implied() -> None:
    assert implied_borrow_rate([funding(0, BTC, "1")]) is None


def test_the_status_line_and_its_json_sum_this_months_carry() -> None:
    entries = [funding(0, BTC, "0.3"), interest(1, "-0.05", "1000")]
    line = carry_status_line(entries, "USDT")
    assert line == "Carry this month: +0.25 USDT (funding +0.30, interest -0.05)"
    assert carry_month_to_dict(entries) == {"funding": "0.3", "interest": "-0.05", "total": "0.25"}


def test_without_the_borrowed_amount_the_charged_rate_implies_the_yearly_rate() -> None:
    hourly = D("0.1") / 8760
    charges = [
        CarryEntry(
            CarryKind.INTEREST,
            f"i{h}",
            T0 + timedelta(hours=h),
            "USDT",
            D("-0.05"),
            "bybit",
            rate=hourly,
        )
        for h in range(3)
    ]
    rate = implied_borrow_rate(charges)
    assert rate is not None
    assert abs(rate - D("0.1")) < D("1e-12")


def test_a_period_shorter_than_a_day_is_not_annualised() -> None:
    now = unified(T0 + timedelta(hours=6), "50000", "0.0001")
    report = carry_report(
        quote="USDT",
        since=T0,
        until=T0 + timedelta(hours=6),
        entries=[funding(0, BTC, "0.1")],
        recorded_gaps=[],
        snapshots=[],
        fees={},
        now=now,
    )
    assert report.annualised(report.net, report.notional) is None
    assert carry_to_dict(report)["total"]["annualised"] is None
