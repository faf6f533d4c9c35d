"""A readable summary of a valid config, for `check-config`. Never shows a secret."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from apscheduler.triggers.cron import CronTrigger
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

from rebalancer.config.load import Settings
from rebalancer.config.model import SUPPORTED_VENUES, Mode
from rebalancer.config.values import readable


def render_summary(settings: Settings) -> RenderableType:
    cfg = settings.config
    head = Text()
    head.append(f"{settings.source}: OK\n", style="bold green")
    head.append(f"portfolio {cfg.portfolio.name!r}, quote {cfg.portfolio.quote}, ")
    head.append(f"mode {cfg.mode.value}")
    if cfg.mode.value == "live":
        head.append(" (confirmed in config)" if cfg.confirm_live else " (needs --yes to trade)")
    head.append("\n")

    table = Table(title="Targets", title_justify="left")
    for header in ("asset", "weight", "hedged with", "group", "off-exchange"):
        table.add_column(header)
    groups = {m: g.name for g in cfg.portfolio.groups for m in g.members}
    for asset, weight in sorted(cfg.portfolio.asset_weights.items()):
        hedge = settings.strategy.hedges[asset]
        how = hedge.instrument + (f" (proxy, beta {hedge.beta})" if hedge.is_proxy else "")
        table.add_row(
            asset,
            f"{weight * 100:.2f}%",
            how,
            groups.get(asset, ""),
            str(cfg.portfolio.off_exchange.get(asset, "")),
        )
    table.add_row("cash", f"{cfg.portfolio.cash_weight * 100:.2f}%", "", "", "")

    tail = Text()
    for group in cfg.portfolio.groups:
        how = f"index {group.index}" if group.index else "pro rata on members"
        tail.append(f"group {group.name}: {', '.join(group.members)}, hedged via {how}\n")
    h = cfg.hedging
    tail.append(
        f"hedging: max leverage {h.max_leverage}x, {h.margin_mode} margin, rebalance to "
        f"{h.rebalance_to}, minimum trade {h.min_trade_notional} {cfg.portfolio.quote}\n"
    )
    if h.collateral_buffer or h.cap_slack:
        parts = []
        if h.collateral_buffer:
            parts.append(f"{readable(h.collateral_buffer * 100)} % of collateral kept free")
        if h.cap_slack:
            # With a buffer the hold reaches the slack over the buffered cap (planner.py).
            where = "of the cap either side" if h.collateral_buffer else "under the cap"
            parts.append(
                f"while capped, hedges held within {readable(h.cap_slack * 100)} % {where}, "
                "never over max_leverage"
            )
        tail.append(f"cap: {'; '.join(parts)}\n")
    s = cfg.schedule
    tail.append(
        f"schedule: trigger {s.trigger}, drift check every {s.drift_check_interval:g}s, "
        f"thresholds abs {s.drift_abs if s.drift_abs is not None else '-'} / "
        f"rel {s.drift_rel if s.drift_rel is not None else '-'}\n"
    )
    if s.cron:
        trigger = CronTrigger.from_crontab(s.cron, timezone="UTC")
        nxt = trigger.get_next_fire_time(None, datetime.now(UTC))
        tail.append(f"calendar: {s.cron!r} (UTC), next {nxt:%Y-%m-%d %H:%M} UTC\n")
    ex = cfg.exchange
    creds = (
        f"credentials from ${ex.api_key_env} ({settings.credentials.fingerprint()})"
        if settings.credentials
        else f"no credentials (${ex.api_key_env} not set)"
    )
    extra = ", custom urls" if ex.urls else ""
    tail.append(f"exchange: {ex.id}{' sandbox' if ex.sandbox else ''}{extra}; {creds}\n")
    tail.append(f"supported venues: {', '.join(SUPPORTED_VENUES)}\n")
    for hook in cfg.notify.webhooks:
        name = hook.token_env or hook.url_env or ""
        state = "set" if (os.environ.get(name) or os.environ.get(f"{name}_FILE")) else "NOT SET"
        tail.append(
            f"notify: {hook.kind} via ${name} ({state})\n", style="" if state == "set" else "yellow"
        )
    if cfg.health.enabled:
        tail.append(f"health: http://{cfg.health.host}:{cfg.health.port}/healthz and /metrics\n")
    if cfg.mode is Mode.PAPER or cfg.paper.funded:
        held = ", ".join(f"{v} {k}" for k, v in cfg.paper.spot.items() if v) or "nothing"
        tail.append(
            f"paper account (until it is first saved): spot {held}; futures wallet "
            f"{cfg.paper.futures_wallet} {cfg.portfolio.quote}; taker fee {cfg.paper.taker_fee}\n"
        )
    url = make_url(cfg.storage.url)
    tail.append(f"storage: {url.render_as_string(hide_password=True)}\n")
    return Group(head, table, tail)
