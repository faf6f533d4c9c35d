"""`rebalancer carry`: what the overlay has cost and will cost, per hedge and in total."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from rebalancer import bootstrap
from rebalancer.cli.common import (
    CONFIG_OPTION,
    JSON_OPTION,
    console,
    settings_from,
    user_errors,
    utcnow,
)
from rebalancer.cli.review import parse_since
from rebalancer.cli.trading import MODE_OPTION, describe_account
from rebalancer.config import Mode, Settings
from rebalancer.domain.snapshot import Snapshot
from rebalancer.exchange.port import ExchangeGateway
from rebalancer.review.carry_query import journal_carry
from rebalancer.review.render_carry import carry_to_dict, carry_view
from rebalancer.service.carry import CarryLedger, sync_carry
from rebalancer.service.cycle import read_snapshot


@click.command("carry")
@CONFIG_OPTION
@MODE_OPTION
@click.option(
    "--since", help="Start of the report (UTC date or ISO time); default: the ledger's start."
)
@click.option(
    "--offline",
    is_flag=True,
    help="From the journal alone: no exchange read (no keys needed); basis and rates are "
    "those of the last journaled snapshot.",
)
@JSON_OPTION
def carry_command(
    config_path: Path, mode: str | None, since: str | None, offline: bool, as_json: bool
) -> None:
    """Funding paid and received, borrow interest and fees per hedge and in total; the basis
    now and its range; carry annualised on hedge notional; a projection at current rates.

    First brings the carry ledger up to date from the venue (or the paper account), then
    reports from the journal. Gaps in the venue's records are listed, never counted as zero.
    Figures only, not advice.
    """
    start = parse_since(since)
    settings = settings_from(config_path, credentials=not offline)
    run_mode = Mode(mode) if mode else settings.mode
    if not offline:
        describe_account(settings, run_mode)
    portfolio = settings.config.portfolio.name
    offline_hint = "or report from the journal alone with --offline"
    with (
        user_errors(exchange_hint=offline_hint),
        bootstrap.open_journal(settings, create=not offline) as journal,
    ):
        now: Snapshot | None = None
        if not offline:
            gateway = bootstrap.exchange_gateway(settings, run_mode, journal)
            now = asyncio.run(read_with_carry(settings, gateway, journal.carry))
        report = journal_carry(
            journal.store,
            portfolio,
            quote=settings.config.portfolio.quote,
            since=start,
            until=now.taken_at if now is not None else utcnow(),
            now=now,
        )
    if as_json:
        click.echo(json.dumps(carry_to_dict(report), indent=2))
    else:
        console().print(carry_view(report))


async def read_with_carry(
    settings: Settings, gateway: ExchangeGateway, ledger: CarryLedger
) -> Snapshot:
    """A fresh snapshot (which settles a paper account's funding), then the carry ledger brought
    up to date (`carry` and `status`; a failed ledger read is logged, not fatal); closes the
    gateway."""
    try:
        snapshot = await read_snapshot(settings, gateway)
        await sync_carry(gateway, ledger, settings.config.portfolio.name, snapshot.taken_at)
        return snapshot
    finally:
        await gateway.close()


COMMANDS = [carry_command]
