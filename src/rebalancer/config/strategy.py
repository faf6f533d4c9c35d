"""From the config file's terms to the domain's `Strategy` (the planner's rules)."""

from __future__ import annotations

from decimal import Decimal

from rebalancer.config.model import AppConfig
from rebalancer.domain.carry import CarryTerms
from rebalancer.domain.roll import RollRules
from rebalancer.domain.strategy import Band, Group, Hedge, RebalanceTo, Strategy
from rebalancer.domain.top_up import TopUpRules

_HOUR = Decimal(3600)


def to_strategy(config: AppConfig) -> Strategy:
    hedging = config.hedging
    hedges = {}
    for asset in config.portfolio.asset_weights:
        proxy = hedging.proxies.get(asset)
        if proxy is not None:
            hedges[asset] = Hedge(proxy.instrument, proxy.beta)
        else:
            hedges[asset] = Hedge(config.instrument_for(asset))
    return Strategy(
        weights=config.portfolio.asset_weights,
        hedges=hedges,
        cash_weight=config.portfolio.cash_weight,
        groups=tuple(Group(g.name, g.members, g.index) for g in config.portfolio.groups),
        max_leverage=hedging.max_leverage,
        rebalance_to=RebalanceTo(hedging.rebalance_to),
        band=Band(config.schedule.drift_abs, config.schedule.drift_rel),
        min_trade_notional=hedging.min_trade_notional,
        collateral_buffer=hedging.collateral_buffer,
        cap_slack=hedging.cap_slack,
        max_borrow=hedging.max_borrow,
        borrow_stress=hedging.borrow_stress,
    )


def to_carry_terms(config: AppConfig) -> CarryTerms:
    carry = config.carry
    return CarryTerms(
        horizon_hours=Decimal(str(carry.horizon)) / _HOUR,
        funding_rate=carry.funding_rate,
        funding_interval_hours=Decimal(str(carry.funding_interval)) / _HOUR,
        borrow_rate=carry.borrow_rate,
        spot_fee=carry.spot_fee,
        slippage_bps=carry.slippage_bps,
    )


def to_roll_rules(config: AppConfig) -> RollRules:
    """The roll policy's conditions; its borrowing limit is `hedging.max_borrow` (one place)."""
    policy = config.policy
    on = set(policy.roll_on)
    return RollRules(
        enabled=policy.roll,
        on_cap="cap" in on,
        collateral_floor=policy.collateral_floor if "collateral" in on else None,
        max_borrow=config.hedging.max_borrow if "borrowing" in on else None,
        on_carry="carry" in on,
    )


def to_top_up_rules(config: AppConfig) -> TopUpRules:
    """The top-up policy: on with `policy.enabled = ["top-up"]` (or `safety.top_up_from_spot`),
    moving at most `safety.top_up_max` once the margin distance is below its alert."""
    safety = config.safety
    return TopUpRules(
        enabled=config.top_up_enabled,
        most=safety.top_up_max,
        alert_distance=safety.margin_alert_distance,
    )
