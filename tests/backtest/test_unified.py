"""Backtests on a unified account: the same engine, the cap on collateral value, interest on
borrowed quote at every bar; `--account` on the command line; funding gaps said, never zero."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rebalancer.backtest.command import backtest_command
from rebalancer.backtest.engine import RunResult, run
from rebalancer.backtest.funding import funding_gaps
from rebalancer.backtest.metrics import compute
from rebalancer.backtest.policy import Policy
from rebalancer.backtest.setup import RunSpec, open_account
from rebalancer.backtest.view import snapshot_of
from rebalancer.domain.snapshot import AccountKind
from tests.backtest.helpers import HOUR, T0, constant_funding, market, random_walk, strategy

UNIFIED = AccountKind.UNIFIED


def _trending(seed: int, bars: int = 1_200) -> np.ndarray:
    """BTC rallies, ETH drifts: short BTC hedges lose and the unified account borrows."""
    closes = random_walk(bars, ["BTC", "ETH"], seed=seed, vol=0.01)
    closes[:, 0] *= np.exp(np.linspace(0.0, 1.2, bars))
    return np.round(closes, 6)


def _market(closes: np.ndarray, rate: str = "0.0002"):  # type: ignore[no-untyped-def]
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6")
    times = T0 + HOUR * np.arange(len(closes), dtype=np.int64)
    funding = {f"{a}/USDT:USDT": constant_funding(times, rate, 4 * HOUR) for a in ("BTC", "ETH")}
    return s, market(closes, ["BTC", "ETH"], s, funding=funding)


def _same(a: RunResult, b: RunResult) -> None:
    assert a.ledger == b.ledger
    assert a.holdings == b.holdings
    assert a.final_value == b.final_value
    for name in ("value", "largest_drift", "gross", "futures", "borrowed"):
        left, right = getattr(a.series, name), getattr(b.series, name)
        assert (left is None) == (right is None), name
        if left is not None:
            assert np.array_equal(left, right), name


@pytest.mark.parametrize("policy", [Policy.OVERLAY_BAND, Policy.ROLL, Policy.SPOT_BAND])
@pytest.mark.parametrize("seed", [3, 11])
def test_scan_and_loop_agree_on_a_unified_account(policy: Policy, seed: int) -> None:
    s, m = _market(_trending(seed))
    spec = RunSpec(policy.value, policy, s, Decimal(10_000), account=UNIFIED)
    scanned, looped = run(spec, m, scan=True), run(spec, m, scan=False)
    _same(scanned, looped)
    if policy is Policy.OVERLAY_BAND:
        assert scanned.ledger.interest > 0  # the rally made it borrow


def test_the_unified_overlay_tracks_where_the_segregated_one_is_capped() -> None:
    s, m = _market(_trending(5))
    base = RunSpec("o", Policy.OVERLAY_BAND, s, Decimal(10_000))
    segregated = compute(run(base, m))
    unified = compute(run(replace(base, account=UNIFIED), m))
    assert segregated.cap_bound_share > 0.5
    assert unified.cap_bound_share < segregated.cap_bound_share / 4
    assert unified.drift_mean < segregated.drift_mean / 2
    assert unified.spot_sold == 0 == segregated.spot_sold
    assert unified.liquidations == 0
    assert 0 < unified.max_borrowed_share < 1
    assert unified.interest > 0
    assert segregated.interest == 0
    assert segregated.max_borrowed_share == 0


def test_a_unified_account_that_borrows_nothing_pays_no_interest() -> None:
    # Hold keeps its cash weight as quote: the account never goes short of quote.
    s, m = _market(_trending(2, bars=300), rate="0")
    spec = RunSpec("h", Policy.HOLD, s, Decimal(10_000), account=UNIFIED)
    account = open_account(spec, m.universe, [Decimal(100), Decimal(100)])
    assert account.unified
    assert account.borrow_rate == Decimal("0.10")
    result = run(spec, m)
    assert result.ledger.interest == 0
    assert result.series.borrowed is not None
    assert not result.series.borrowed.any()


def test_the_ledger_books_every_interest_charge_at_its_bar() -> None:
    s, m = _market(_trending(3))
    result = run(RunSpec("o", Policy.OVERLAY_BAND, s, Decimal(10_000), account=UNIFIED), m)
    charges = result.ledger.interest_by_bar
    assert charges
    assert sum(charges.values()) == result.ledger.interest
    # Charged only on bars where the account was borrowing (at the bar's close).
    borrowed = result.series.borrowed
    assert borrowed is not None
    assert all(borrowed[bar] > 0 for bar in charges)


def test_a_unified_snapshot_puts_the_cap_on_collateral_value() -> None:
    closes = np.full((3, 2), 100.0)
    s, m = _market(closes)
    spec = RunSpec("o", Policy.OVERLAY_BAND, s, Decimal(12_000), account=UNIFIED)
    account = open_account(spec, m.universe, [Decimal(100), Decimal(100)])
    snap = snapshot_of(account, m.universe, spec.costs, _at())
    assert snap.kind is UNIFIED
    # 6,000 BTC + 4,000 ETH at 95 % + 2,000 quote; V counts each unit once.
    assert snap.collateral == Decimal(11_500)
    assert snap.equity == Decimal(12_000)


def test_a_missing_collateral_ratio_is_a_config_error() -> None:
    closes = np.full((3, 2), 100.0)
    s, m = _market(closes)
    spec = RunSpec("o", Policy.OVERLAY_BAND, s, account=UNIFIED, haircuts=(("BTC", Decimal(1)),))
    with pytest.raises(ValueError, match=r"no collateral ratio for ETH; add it"):
        run(spec, m)


def _at():  # type: ignore[no-untyped-def]
    from rebalancer.backtest.data import to_time  # noqa: PLC0415

    return to_time(T0)


# -- funding gaps ------------------------------------------------------------------------------


def _times(*hours: int) -> np.ndarray:
    return T0 + HOUR * np.array(hours, dtype=np.int64)


def test_regular_funding_of_any_venue_interval_has_no_gaps() -> None:
    for every in (1, 2, 4, 8):
        assert funding_gaps(_times(*range(0, 10 * every, every))) == ()


def test_a_change_of_interval_is_not_a_gap() -> None:
    assert funding_gaps(_times(0, 8, 16, 24, 28, 32, 36)) == ()
    assert funding_gaps(_times(0, 4, 8, 12, 20, 28, 36)) == ()


def test_missing_payments_are_found_and_counted() -> None:
    (gap,) = funding_gaps(_times(0, 8, 16, 40, 48, 56))
    assert (gap.after, gap.before, gap.interval, gap.missing) == (
        T0 + 16 * HOUR, T0 + 40 * HOUR, 8 * HOUR, 2,
    )  # fmt: skip
    (gap,) = funding_gaps(_times(0, 4, 8, 16, 20, 24))  # one 4 h payment missing
    assert (gap.interval, gap.missing) == (4 * HOUR, 1)
    assert "1 payment of 4 h missing" in gap.describe()
    (gap,) = funding_gaps(_times(0, 1, 2, 5, 6, 7))  # a 3 h step among 1 h steps
    assert gap.missing == 2


def test_early_or_uneven_payments_are_not_gaps() -> None:
    assert funding_gaps(_times(0, 8, 15, 24, 32)) == ()


# -- the command -------------------------------------------------------------------------------

CONFIG = """
mode = "paper"
[portfolio]
name = "seed"
targets = { BTC = "1/2", ETH = "1/3", cash = "1/6" }
[schedule]
drift_abs = 0.05
"""


def _files(folder: Path, *, skip: str | None = None) -> list[str]:
    days = [f"2024-01-{d:02d}" for d in range(1, 31)]
    prices = folder / "prices.csv"
    rows = [f"{day},{40000 * 1.08**i:.2f},{2000 - 10 * i}" for i, day in enumerate(days)]
    prices.write_text("date,BTC,ETH\n" + "\n".join(rows) + "\n", encoding="utf-8")
    funding = folder / "funding"
    funding.mkdir()
    for pair in ("BTCUSDT", "ETHUSDT"):
        lines = [f"{day}T{h:02d}:00:00Z,0.0001" for day in days for h in (0, 8, 16)]
        lines = [line for line in lines if not (skip and pair == "ETHUSDT" and skip in line)]
        text = "timestamp,funding_rate\n" + "\n".join(lines) + "\n"
        (funding / f"funding_{pair}.csv").write_text(text, encoding="utf-8")
    config = folder / "c.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return ["-c", str(config), "--prices", str(prices), "--funding-dir", str(funding),
            "--jobs", "1"]  # fmt: skip


def test_account_compares_both_kinds_per_policy(tmp_path: Path) -> None:
    args = [*_files(tmp_path), "--policy", "overlay-band", "--policy", "hold",
            "--account", "segregated", "--account", "unified", "--json"]  # fmt: skip
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    runs = {r["name"]: r for r in doc["runs"]}
    assert set(runs) == {
        "overlay-band account=segregated", "overlay-band account=unified",
        "hold account=segregated", "hold account=unified",
    }  # fmt: skip
    assert runs["overlay-band account=unified"]["params"] == {"account": "unified"}
    unified = runs["overlay-band account=unified"]["metrics"]
    segregated = runs["overlay-band account=segregated"]["metrics"]
    assert Decimal(unified["interest"]) > 0
    assert Decimal(unified["max_borrowed_share"]) > 0
    assert Decimal(segregated["interest"]) == 0
    assert Decimal(unified["cap_bound_share"]) < Decimal(segregated["cap_bound_share"])
    assert runs["hold account=unified"]["metrics"] == runs["hold account=segregated"]["metrics"]
    assert "funding for ETH/USDT:USDT: 87 payments every 8 h, no gaps" in doc["notes"]


def test_the_table_shows_interest_and_borrowing(tmp_path: Path) -> None:
    args = [*_files(tmp_path), "--policy", "overlay-band", "--account", "unified"]
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 0, result.output
    assert "interest" in result.output  # "borrow interest", wrapped in the header
    assert "max borrowed" in result.output
    assert "overlay-band account=unified" in result.output


def test_a_funding_gap_is_said_not_counted_as_zero_silently(tmp_path: Path) -> None:
    args = [*_files(tmp_path, skip="2024-01-10T08"), "--policy", "hold", "--json"]
    result = CliRunner().invoke(backtest_command, args)
    assert result.exit_code == 0, result.output
    notes = json.loads(result.output)["notes"]
    assert (
        "funding for ETH/USDT:USDT has 1 gap (1 payments missing, counted as no funding): "
        "2024-01-10T00:00:00Z .. 2024-01-10T16:00:00Z (1 payment of 8 h missing)"
    ) in notes


def test_account_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    args = _files(tmp_path)
    both = [*args, "--account", "unified", "--sweep", "account=segregated"]
    result = CliRunner().invoke(backtest_command, both)
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: give account kinds either with --account or with --sweep account=, not both"
    )
    result = CliRunner().invoke(backtest_command, [*args, "--sweep", "account=cross"])
    assert result.exit_code == 2
    assert "'cross' is not unified or segregated" in result.output
    config = Path(args[1])
    config.write_text(CONFIG + "[simulation]\nhaircuts = { BTC = 0.9 }\n", encoding="utf-8")
    result = CliRunner().invoke(backtest_command, [*args, "--account", "unified"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {config}: simulation.haircuts has no collateral ratio for ETH; add it under "
        "[simulation], e.g. haircuts = { ETH = 0.8 }"
    )
    config.write_text(CONFIG + "[simulation]\nhaircuts = { BTC = 1.5 }\n", encoding="utf-8")
    result = CliRunner().invoke(backtest_command, [*args, "--account", "unified"])
    assert result.exit_code == 2
    assert "BTC = 1.5 is out of range" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_on_minute_bars_interest_accrues_at_each_new_hour_and_scan_matches_loop() -> None:
    s = strategy({"BTC": "1/2", "ETH": "1/3"}, "1/6")
    closes = random_walk(3_000, ["BTC", "ETH"], seed=4, vol=0.002)
    closes[:, 0] *= np.exp(np.linspace(0.0, 1.0, len(closes)))
    times = T0 + 60 * np.arange(len(closes), dtype=np.int64)
    funding = {f"{a}/USDT:USDT": constant_funding(times, "0.0001", HOUR) for a in ("BTC", "ETH")}
    m = market(np.round(closes, 6), ["BTC", "ETH"], s, step=60, funding=funding)
    spec = RunSpec("o", Policy.OVERLAY_BAND, s, Decimal(10_000), account=UNIFIED)
    scanned = run(spec, m)
    _same(scanned, run(spec, m, scan=False))
    charged = sorted(scanned.ledger.interest_by_bar)
    assert charged
    assert all(int(m.prices.times[bar]) % HOUR == 0 for bar in charged)
    assert len(charged) <= len(closes) // 60
