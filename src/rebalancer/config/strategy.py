"""From the config file's terms to the domain's `Strategy` (the planner's rules)."""

from __future__ import annotations

from rebalancer.config.model import AppConfig
from rebalancer.domain.strategy import Band, Group, Hedge, RebalanceTo, Strategy


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
        max_borrow=hedging.max_borrow,
        borrow_stress=hedging.borrow_stress,
    )
