"""The one place concrete adapters are chosen: the journal database, the exchange, notifiers.

Entry points (the CLI, the daemon, the demo) ask here for what they need; everything else
receives ports. Errors a user can fix come out as `SetupError` with a one-line message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from rebalancer.config import Mode, Settings
from rebalancer.config.model import PAPER_ACCOUNT_MISSING
from rebalancer.exchange.ccxt_client import build_client
from rebalancer.exchange.ccxt_gateway import CcxtGateway
from rebalancer.exchange.port import ExchangeGateway
from rebalancer.exchange.venues import dialect_for
from rebalancer.notify import NotifierPort, NotifySecretError, build_notifier
from rebalancer.secrets import Credentials
from rebalancer.service.controls import TradingGate
from rebalancer.service.gated_gateway import GatedGateway
from rebalancer.store import (
    SchemaError,
    SqlCarryLedger,
    SqlControls,
    SqlJournal,
    SqlPaperAccounts,
    Store,
    WriterLease,
    WriterLockHeld,
    acquire_writer_lock,
    check_schema,
    open_store,
    upgrade,
)

log = structlog.get_logger(__name__)


class SetupError(Exception):
    """Something the user must fix before the bot can start (config, database, lock)."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


EXIT_LOCKED = 3


@dataclass(frozen=True, slots=True)
class Journal:
    store: Store
    journal: SqlJournal
    controls: SqlControls
    paper: SqlPaperAccounts

    @property
    def carry(self) -> SqlCarryLedger:
        """The carry ledger (funding payments and interest charges) in the same database."""
        return SqlCarryLedger(self.store)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_: object) -> None:
        self.store.close()


def open_journal(settings: Settings, *, create: bool = True) -> Journal:
    """The journal database, schema checked; an empty database is created when `create`."""
    url = settings.config.storage.url
    try:
        check_schema(url)
    except SchemaError as exc:
        if not (create and exc.empty):
            raise SetupError(f"storage.url: {exc}") from None
        upgrade(url)
        log.info("journal_created", url=url.split("@")[-1])
    store = open_store(url)
    return Journal(store, SqlJournal(store), SqlControls(store), SqlPaperAccounts(store))


@contextmanager
def writer_lock(settings: Settings, journal: Journal | None = None) -> Iterator[WriterLease]:
    """One writer per portfolio and database; a second one gets exit code 3. With `journal`,
    its run starts and order intents commit only while the lock is still held (the fence)."""
    try:
        with acquire_writer_lock(
            settings.config.storage.url, settings.config.portfolio.name
        ) as lease:
            if journal is not None:
                journal.journal.fence(lease)
            yield lease
    except WriterLockHeld as exc:
        raise SetupError(str(exc), exit_code=EXIT_LOCKED) from None


def exchange_gateway(
    settings: Settings,
    mode: Mode,
    journal: Journal | None,
    *,
    client_hook: Callable[[Any], None] | None = None,
) -> ExchangeGateway:
    """The gateway for a mode: the real account (live, dry-run) or a simulated one (paper,
    which keeps its account in the journal). `client_hook` sees each ccxt client built (the
    fleet charges its requests to a shared rate budget there).

    With a journal, every write goes through the kill switch (`GatedGateway`); without one
    (a read-only `snapshot`) the gateway is never asked to write.
    """
    quote = settings.config.portfolio.quote
    if mode is Mode.PAPER:
        if journal is None:
            raise SetupError("paper mode keeps its account in the journal database")
        require_paper_account(settings)
        from rebalancer.exchange.paper import PaperGateway  # noqa: PLC0415 - paper mode only

        public_client = build_client(settings.config.exchange, None)
        if client_hook is not None:
            client_hook(public_client)
        public = CcxtGateway(public_client, quote=quote)
        ledger, portfolio = journal.carry, settings.config.portfolio.name
        paper = PaperGateway.open(
            settings, public, journal.paper, carry=lambda entries: ledger.add(portfolio, entries)
        )
        return GatedGateway(paper, trading_gate(settings, journal))
    require_spot_orders(settings, mode)
    client = build_client(settings.config.exchange, require_credentials(settings, mode))
    if client_hook is not None:
        client_hook(client)
    gateway = CcxtGateway(client, quote=quote)
    return gateway if journal is None else GatedGateway(gateway, trading_gate(settings, journal))


def check_runnable(settings: Settings) -> None:
    """What `check-config` (and `fleet add`) check beyond the file: a paper account to simulate,
    and a venue that can do what the policies ask; raises `SetupError`."""
    if settings.mode is Mode.PAPER:
        require_paper_account(settings)
    require_spot_orders(settings, settings.mode)


def require_spot_orders(settings: Settings, mode: Mode) -> None:
    """The roll policy sells spot: refused on a venue whose dialect places no spot orders
    (the venue modules say which, `Dialect.spot_orders`); a paper account trades spot on any."""
    venue = settings.config.exchange.id
    if mode is Mode.PAPER or not settings.config.policy.roll or dialect_for(venue).spot_orders:
        return
    raise SetupError(
        f"policy.enabled: 'roll' sells spot, and the bot places no spot orders on {venue} yet; "
        "remove 'roll' from policy.enabled (or run it in paper mode)"
    )


def require_paper_account(settings: Settings) -> None:
    """Paper mode needs an account to simulate: `[paper]` with something in it."""
    if not settings.config.paper.funded:
        raise SetupError(PAPER_ACCOUNT_MISSING)


def trading_gate(settings: Settings, journal: Journal) -> TradingGate:
    """The portfolio's kill switch and circuit breaker, read from the journal at each check."""
    return TradingGate(journal.controls, settings.config.portfolio.name)


def require_credentials(settings: Settings, mode: Mode) -> Credentials:
    """The exchange keys a mode that reads the real account needs, or a `SetupError`."""
    if settings.credentials is None:
        ex = settings.config.exchange
        raise SetupError(
            f"{mode.value} mode reads the account: set ${ex.api_key_env} and "
            f"${ex.api_secret_env} (or their _FILE variants)"
        )
    return settings.credentials


def notifier(settings: Settings) -> NotifierPort:
    """Webhooks from `[notify]`; their URLs and tokens come from the environment."""
    try:
        return build_notifier(settings.config.notify, os.environ)
    except NotifySecretError as exc:
        raise SetupError(str(exc)) from None
