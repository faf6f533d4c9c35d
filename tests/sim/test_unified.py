"""The unified account model: collateral value with per-coin haircuts (every unit once),
borrowed quote accruing interest exactly, maintenance and liquidation under a joint move of all
prices; a segregated account (no haircuts) keeps its figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rebalancer.sim import (
    YEAR_SECONDS,
    Account,
    PerpSpec,
    SpotSpec,
    funding_times,
    quantize_money,
)
from tests.sim.helpers import T0

BTC, ETH = "BTCUSDT", "ETHUSDT"
ZERO = Decimal(0)

money = st.decimals(min_value=-20_000, max_value=20_000, places=2)
quantity = st.decimals(min_value=0, max_value=5, places=4)
price = st.decimals(min_value=100, max_value=100_000, places=2)
ratio = st.decimals(min_value=0, max_value=1, places=2)
size = st.decimals(min_value=-3, max_value=3, places=3)


def _account(
    *,
    unified: bool,
    wallet: Decimal,
    spot_quote: Decimal,
    coins: tuple[Decimal, Decimal],
    prices: tuple[Decimal, Decimal],
    ratios: tuple[Decimal, Decimal] = (Decimal("0.95"), Decimal("0.95")),
    positions: tuple[Decimal, Decimal] = (ZERO, ZERO),
    entries: tuple[Decimal, Decimal] | None = None,
    rate: Decimal = Decimal("0.10"),
) -> Account:
    account = Account()
    for symbol, base, p in ((BTC, "BTC", prices[0]), (ETH, "ETH", prices[1])):
        account.add_perp(PerpSpec(symbol, base, "USDT", Decimal("0.001"), ZERO, ZERO))
        account.add_spot(SpotSpec(symbol, base, "USDT", Decimal("0.0001"), ZERO, ZERO))
        account.set_mark(symbol, p)
        account.spot.set_price(symbol, p)
    account.credit_futures(wallet)
    if spot_quote:
        account.spot.credit("USDT", spot_quote)
    account.spot.credit("BTC", coins[0])
    account.spot.credit("ETH", coins[1])
    entries = entries or prices
    for symbol, h, entry in zip((BTC, ETH), positions, entries, strict=True):
        if h:
            account.seed_position(symbol, h, entry)
    if unified:
        account.haircuts.update({"BTC": ratios[0], "ETH": ratios[1]})
        account.borrow_rate = rate
    return account


def _move(account: Account, factor: Decimal) -> None:
    for symbol in (BTC, ETH):
        mark = account.mark(symbol)
        assert mark is not None
        account.set_mark(symbol, mark * factor)
        account.spot.set_price(symbol, mark * factor)


@settings(max_examples=150, deadline=None)
@given(money, st.decimals(min_value=0, max_value=5_000, places=2), quantity, quantity, price,
       price, ratio, ratio, size, size)  # fmt: skip
def test_collateral_never_counts_a_unit_twice(  # noqa: PLR0917 -- hypothesis draws
    wallet: Decimal,
    spot_quote: Decimal,
    q_btc: Decimal,
    q_eth: Decimal,
    p_btc: Decimal,
    p_eth: Decimal,
    r_btc: Decimal,
    r_eth: Decimal,
    h_btc: Decimal,
    h_eth: Decimal,
) -> None:
    account = _account(
        unified=True, wallet=wallet, spot_quote=spot_quote, coins=(q_btc, q_eth),
        prices=(p_btc, p_eth), ratios=(r_btc, r_eth), positions=(h_btc, h_eth),
        entries=(p_btc * Decimal("0.9"), p_eth * Decimal("1.1")),
    )  # fmt: skip
    prices = {"BTC": p_btc, "ETH": p_eth}
    upnl = h_btc * p_btc * Decimal("0.1") + h_eth * p_eth * Decimal("-0.1")
    coins = q_btc * p_btc + q_eth * p_eth
    quote = wallet + spot_quote
    # Equity: every coin, the quote once (wallet and spot quote are one balance), the PnL once.
    assert account.equity(prices) == coins + quote + upnl
    # Collateral: the same units, coins at their ratios; with ratios of 1 it is the equity.
    haircut = q_btc * p_btc * r_btc + q_eth * p_eth * r_eth
    assert account.collateral_value() == haircut + quote + upnl
    assert account.collateral_value() <= account.equity(prices)
    assert account.borrowed() == max(ZERO, -(quote + upnl))
    # Moving quote between the spot side and the futures side changes nothing.
    before = (account.equity(prices), account.collateral_value(), account.borrowed())
    if spot_quote > 0:
        assert account.transfer_to_futures(spot_quote) is None
    assert (account.equity(prices), account.collateral_value(), account.borrowed()) == before


@settings(max_examples=100, deadline=None)
@given(money, st.decimals(min_value=0, max_value=5_000, places=2), quantity, size, size, price)
def test_a_segregated_account_keeps_its_figures(  # noqa: PLR0917 -- hypothesis draws
    wallet: Decimal, spot_quote: Decimal, q_btc: Decimal, h_btc: Decimal, h_eth: Decimal,
    p: Decimal,
) -> None:  # fmt: skip
    account = _account(
        unified=False, wallet=abs(wallet), spot_quote=spot_quote, coins=(q_btc, ZERO),
        prices=(p, Decimal(3_000)), positions=(h_btc, h_eth),
        entries=(p * Decimal("1.05"), Decimal(2_900)),
    )  # fmt: skip
    upnl = h_btc * p * Decimal("-0.05") + h_eth * Decimal(100)
    # The futures wallet alone backs the perps: spot coins and spot quote are not collateral.
    assert account.margin_balance() == abs(wallet) + upnl
    assert account.collateral_value() == account.margin_balance()
    assert account.quote_balance() == abs(wallet)
    assert account.equity({"BTC": p, "ETH": Decimal(3_000)}) == (
        q_btc * p + spot_quote + abs(wallet) + upnl
    )
    assert account.borrowed() == 0
    account.accrue_interest(T0)
    assert account.accrue_interest(T0 + timedelta(days=30)) is None
    assert account.charges == []
    assert account.wallet_balance == abs(wallet)


@settings(max_examples=100, deadline=None)
@given(
    st.decimals(min_value=1, max_value=50_000, places=2),
    st.decimals(min_value=0, max_value=2, places=4),
    st.lists(st.integers(min_value=1, max_value=40 * 86_400), min_size=1, max_size=12),
)
def test_borrowing_accrues_exactly(debt: Decimal, rate: Decimal, spans: list[int]) -> None:
    account = _account(
        unified=True, wallet=-debt, spot_quote=ZERO, coins=(Decimal(1), ZERO),
        prices=(Decimal(60_000), Decimal(3_000)), rate=rate,
    )  # fmt: skip
    assert account.accrue_interest(T0) is None  # starts the clock
    at, expected, wallet = T0, ZERO, -debt
    for seconds in spans:
        borrowed = -wallet
        at += timedelta(seconds=seconds)
        charge = account.accrue_interest(at)
        amount = quantize_money(borrowed * rate * seconds / YEAR_SECONDS)
        if amount:
            assert charge is not None
            assert (charge.borrowed, charge.amount, charge.end - charge.start) == (
                borrowed, amount, timedelta(seconds=seconds),
            )  # fmt: skip
        else:
            assert charge is None
        expected += amount
        wallet -= amount  # interest adds to what is borrowed
    assert account.interest_paid() == expected
    assert account.wallet_balance == wallet == -debt - expected
    assert sum(c.amount for c in account.charges) == expected
    # Re-accruing at the same or an earlier time charges nothing.
    assert account.accrue_interest(at) is None
    assert account.accrue_interest(T0) is None


def test_one_year_at_ten_percent_on_1000_borrowed_is_100() -> None:
    account = _account(
        unified=True, wallet=Decimal(-1000), spot_quote=ZERO, coins=(Decimal(1), ZERO),
        prices=(Decimal(60_000), Decimal(3_000)),
    )  # fmt: skip
    account.accrue_interest(T0)
    charge = account.accrue_interest(T0 + timedelta(days=365))
    assert charge is not None
    assert charge.amount == Decimal(100)


@settings(max_examples=150, deadline=None)
@given(
    st.decimals(min_value=-30_000, max_value=5_000, places=2), quantity, quantity, size, size,
    st.decimals(min_value="0.05", max_value=3, places=3),
)  # fmt: skip
def test_liquidation_when_collateral_falls_to_maintenance_under_a_joint_move(  # noqa: PLR0917
    wallet: Decimal, q_btc: Decimal, q_eth: Decimal, h_btc: Decimal, h_eth: Decimal, g: Decimal
) -> None:
    account = _account(
        unified=True, wallet=wallet, spot_quote=ZERO, coins=(q_btc, q_eth),
        prices=(Decimal(50_000), Decimal(3_000)), positions=(h_btc, h_eth),
    )  # fmt: skip
    factor = account.liquidation_move()
    _move(account, g)
    below = account.collateral_value() <= account.maintenance_margin()
    assert account.is_liquidatable() == (below and bool(account.positions()))
    if factor is None or not account.positions():
        return
    # At the joint move the model names, collateral meets maintenance (to rounding).
    _move(account, factor / g)
    gap = account.collateral_value() - account.maintenance_margin()
    assert abs(gap) < Decimal("1e-6")


def test_the_spot_collateral_falls_with_the_hedged_prices() -> None:
    # 1 BTC held at a 95 % ratio, 0.5 BTC hedged short at 50,000, 30,000 USDT borrowed. All
    # prices x f: collateral 47,500 f - 30,000 + 25,000 (1 - f) = 22,500 f - 5,000, against
    # maintenance 100 f. The hedge gains as prices fall, the coin loses more: f = 5000/22400.
    account = _account(
        unified=True, wallet=Decimal(-30_000), spot_quote=ZERO, coins=(Decimal(1), ZERO),
        prices=(Decimal(50_000), Decimal(3_000)), positions=(Decimal("-0.5"), ZERO),
    )  # fmt: skip
    assert account.liquidation_move() == Decimal(5_000) / Decimal(22_400)
    assert not account.is_liquidatable()
    _move(account, Decimal("0.3"))
    assert not account.is_liquidatable()
    _move(account, Decimal("0.2") / Decimal("0.3"))
    assert account.is_liquidatable()
    report = account.liquidate(T0)
    # The hedge realises +20,000: the quote is -10,000, covered by the coin (worth 10,000).
    assert report.insurance_fund_loss == 0
    assert account.positions() == ()
    assert account.borrowed() == Decimal(10_000)


def test_a_liquidation_beyond_the_coins_charges_the_insurance_fund() -> None:
    account = _account(
        unified=True, wallet=Decimal(-50_000), spot_quote=ZERO, coins=(Decimal(1), ZERO),
        prices=(Decimal(50_000), Decimal(3_000)), positions=(Decimal("0.4"), ZERO),
        entries=(Decimal(60_000), Decimal(3_000)),
    )  # fmt: skip
    assert account.is_liquidatable()
    report = account.liquidate(T0)
    # Coins 50,000 against a quote of -50,000 - 4,000 realised loss: 4,000 uncovered.
    assert report.insurance_fund_loss == Decimal(4_000)
    assert account.equity({"BTC": Decimal(50_000), "ETH": Decimal(3_000)}) == 0


@pytest.mark.parametrize("hours", [1, 2, 4, 8])
def test_funding_times_follow_the_instruments_interval(hours: int) -> None:
    times = funding_times(hours, T0 + timedelta(minutes=1), T0 + timedelta(days=1))
    assert len(times) == 24 // hours
    assert times[0] == T0 + timedelta(hours=hours)
    assert all(b - a == timedelta(hours=hours) for a, b in pairwise(times))
    assert times[-1] == T0 + timedelta(days=1)
    # A time exactly on the schedule is not repeated.
    assert funding_times(hours, T0, T0 + timedelta(hours=hours)) == [T0 + timedelta(hours=hours)]


def test_an_unknown_funding_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="3 h is not one of 1, 2, 4, 8 h"):
        funding_times(3, T0, T0 + timedelta(days=1))
