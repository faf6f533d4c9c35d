"""Commands that read or trade the account once: `snapshot`, `once`, `reconcile`, `paper`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from rebalancer import bootstrap
from rebalancer.cli.common import (
    CONFIG_OPTION,
    EXIT_FAILED,
    EXIT_STOPPED,
    console,
    fail,
    settings_from,
    user_errors,
    utcnow,
)
from rebalancer.config import Mode, Settings
from rebalancer.exchange.port import ExchangeGateway
from rebalancer.notify import NotifierPort
from rebalancer.output_file import OUTPUT_FILE
from rebalancer.render.cycle_table import render_cycle
from rebalancer.render.plan_table import print_plan
from rebalancer.service.cycle import CycleResult, read_snapshot, run_cycle
from rebalancer.service.reconcile import Reconciliation, reconcile
from rebalancer.snapshot_file import snapshot_to_dict

T = TypeVar("T")
MODE_OPTION = click.option(
    "--mode", type=click.Choice([m.value for m in Mode]), help="Override the config's mode."
)


@click.command("snapshot")
@CONFIG_OPTION
@MODE_OPTION
@click.option(
    "-o",
    "--output",
    type=OUTPUT_FILE,
    help="Write the snapshot here instead of standard output.",
)
def snapshot_command(config_path: Path, mode: str | None, output: Path | None) -> None:
    """Read the account now and write a snapshot file (the format `plan --snapshot` reads).

    Reads only: balances, positions, mark and spot prices, and market rules.
    """
    settings = settings_from(config_path)
    run_mode = Mode(mode) if mode else settings.mode
    describe_account(settings, run_mode)  # a paper config without an account stops here

    async def read(gateway: ExchangeGateway) -> dict[str, object]:
        return snapshot_to_dict(await read_snapshot(settings, gateway))

    with user_errors():
        document = _with_gateway(settings, run_mode, read)
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"snapshot written to {output}", err=True)


@click.command("once")
@CONFIG_OPTION
@MODE_OPTION
@click.option("--yes", is_flag=True, help="Confirm live trading for this run.")
def once_command(config_path: Path, mode: str | None, yes: bool) -> None:
    """Run one rebalance cycle now: snapshot, plan, orders, post-trade check.

    Prints the plan, each order's outcome and the drift left, and journals the run. `--mode
    dry-run` reads the account and plans but places nothing; `--mode paper` trades a simulated
    account on real prices. `--mode live` places real orders and refuses to start without
    --yes (or `confirm_live = true`); it names the account it trades. The plan shows each
    hedge's projected carry beside the spot trade it replaces (`[carry]`; figures only, no tax
    advice). With `[policy] enabled = ["roll"]` the run journals whether a roll is due, and a
    due roll closes the rolled lines' hedges, then trades their spot to target (spot market
    orders, journaled like perp orders; Binance, Bybit, OKX and paper); a roll an earlier run left
    between its closes and its spot orders is finished first, never re-sent blindly. With
    `enabled = ["top-up"]` the run moves up to `safety.top_up_max` of spot quote to futures
    when the margin is below `safety.margin_alert_distance`, and says why not otherwise. A
    dry-run only says what a policy would do; what a policy did or would do goes to
    `[notify]`.
    """
    settings = settings_from(config_path)
    run_mode = Mode(mode) if mode else settings.mode
    account = describe_account(settings, run_mode)
    if run_mode is Mode.LIVE and not (yes or settings.config.confirm_live):
        fail(
            settings.source,
            [f"live mode places real orders on {account}; pass --yes or set confirm_live = true"],
        )
    out = console()
    out.print(
        f"[bold]{run_mode.value}[/] cycle on {account}, portfolio "
        f"{settings.config.portfolio.name!r}"
    )

    async def cycle(gateway: ExchangeGateway, journal: bootstrap.Journal) -> CycleResult:
        if run_mode is Mode.LIVE:
            await check_key(settings, gateway)
        notifier = bootstrap.notifier(settings)  # a missing webhook secret stops us here
        try:
            await _reconcile_first(settings, gateway, journal)
            result = await run_cycle(
                settings,
                gateway,
                journal.journal,
                utcnow,
                gate=bootstrap.trading_gate(settings, journal),
                mode=run_mode.value,
            )
            await _notify_policies(notifier, settings, result)
            return result
        finally:
            await notifier.aclose()

    with user_errors():
        result = _with_journal(settings, run_mode, cycle)
    if result.refused:
        fail("", [f"{result.error} (run {result.run_id}; nothing was sent)"], EXIT_STOPPED)
    if result.plan is not None:
        print_plan(result.plan, out, result.before.borrowing if result.before else None)
    out.print(render_cycle(result))
    sys.exit(0 if result.ok else EXIT_FAILED)


@click.command("reconcile")
@CONFIG_OPTION
@MODE_OPTION
def reconcile_command(config_path: Path, mode: str | None) -> None:
    """Resolve runs a crash left open: look each unconfirmed order up by client id.

    Nothing is sent. Runs whose orders are all known are closed with their reason; an order
    the exchange cannot be asked about stays unresolved (exit code 1).
    """
    settings = settings_from(config_path)
    run_mode = Mode(mode) if mode else settings.mode

    async def go(gateway: ExchangeGateway, journal: bootstrap.Journal) -> Reconciliation:
        return await reconcile(settings.config.portfolio.name, gateway, journal.journal, utcnow)

    with user_errors():
        done = _with_journal(settings, run_mode, go)
    click.echo(
        f"runs closed: {len(done.runs_closed)}; orders resolved: "
        f"{len(done.orders_resolved)}; unresolved: {len(done.unresolved)}"
    )
    for client_id in done.unresolved:
        click.echo(f"unresolved: {client_id}")
    sys.exit(0 if done.clean else EXIT_FAILED)


@click.group("paper")
def paper_group() -> None:
    """The simulated account of paper mode."""


@paper_group.command("reset")
@CONFIG_OPTION
def paper_reset(config_path: Path) -> None:
    """Forget the paper account; the next paper run starts again from `[paper]`."""
    settings = settings_from(config_path, credentials=False)
    with (
        user_errors(),
        bootstrap.open_journal(settings) as journal,
        bootstrap.writer_lock(settings, journal),
    ):
        existed = journal.paper.reset(settings.config.portfolio.name)
    click.echo("paper account reset" if existed else "no paper account to reset")


def describe_account(settings: Settings, mode: Mode) -> str:
    if mode is Mode.PAPER:
        try:
            bootstrap.require_paper_account(settings)
        except bootstrap.SetupError as exc:
            fail(settings.source, [str(exc)])
        return f"paper account over {settings.config.exchange.id} prices"
    try:
        credentials = bootstrap.require_credentials(settings, mode)
    except bootstrap.SetupError as exc:
        fail(settings.source, [str(exc)])
    return f"{settings.config.exchange.id} ({credentials.fingerprint()})"


async def check_key(settings: Settings, gateway: ExchangeGateway) -> None:
    permissions = await gateway.key_permissions()
    if permissions is None:
        return
    if permissions.can_withdraw and not settings.config.exchange.accept_withdrawal_permission:
        fail(
            settings.source,
            [
                "the API key can withdraw funds; use a key without withdrawal "
                "permission, or set exchange.accept_withdrawal_permission = true"
            ],
        )
    if not permissions.can_trade_futures:
        fail(settings.source, ["the API key cannot trade futures; enable futures on the key"])


async def _reconcile_first(
    settings: Settings, gateway: ExchangeGateway, journal: bootstrap.Journal
) -> None:
    done = await reconcile(settings.config.portfolio.name, gateway, journal.journal, utcnow)
    if not done.clean:
        fail(
            "",
            [
                f"{len(done.unresolved)} earlier order(s) have an unknown outcome: "
                f"{', '.join(done.unresolved)}; run `rebalancer reconcile` when the exchange "
                "answers"
            ],
            EXIT_FAILED,
        )


async def _notify_policies(notifier: NotifierPort, settings: Settings, result: CycleResult) -> None:
    """What a policy did in this run, or was about to do, through `[notify]` (once per run;
    a failed webhook never fails the run)."""
    for note in result.policies:
        notifier.notify_in_background(
            note.notification(settings.config.portfolio.name, result.run_id, utcnow())
        )
    await notifier.drain(10.0)


def _with_journal(
    settings: Settings,
    mode: Mode,
    action: Callable[[ExchangeGateway, bootstrap.Journal], Awaitable[T]],
) -> T:
    """Open the journal, take the writer lock, build the gateway, run `action`, clean up."""
    with bootstrap.open_journal(settings) as journal, bootstrap.writer_lock(settings, journal):
        gateway = bootstrap.exchange_gateway(settings, mode, journal)
        return asyncio.run(_closing(gateway, action(gateway, journal)))


def _with_gateway(
    settings: Settings, mode: Mode, action: Callable[[ExchangeGateway], Awaitable[T]]
) -> T:
    """A read that needs no journal (paper mode does: its account lives there)."""
    if mode is Mode.PAPER:
        return _with_journal(settings, mode, lambda gateway, _: action(gateway))
    gateway = bootstrap.exchange_gateway(settings, mode, None)
    return asyncio.run(_closing(gateway, action(gateway)))


async def _closing(gateway: ExchangeGateway, work: Awaitable[T]) -> T:
    try:
        return await work
    finally:
        await gateway.close()


COMMANDS = [snapshot_command, once_command, reconcile_command, paper_group]
