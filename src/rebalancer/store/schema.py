"""Migrating the journal's schema and checking it before use, without an alembic.ini.

The one set of Alembic migrations ships inside the package (`store/migrations/`) and serves
SQLite and PostgreSQL alike; the Alembic config is built here in code, so an installed wheel can
upgrade its database anywhere. `check_schema` is what the daemon and the review commands call
first: it refuses, with a one-line reason and the fix, a database that is empty, behind or ahead
of this code, or not ours at all. Only a SQLite path that does not exist is ever created: an
existing file that is not a journal (0 bytes, garbage, a half-written copy) is refused, never
replaced, because the history and any unresolved order intent in it would be lost.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, inspect
from sqlalchemy.exc import DBAPIError

from rebalancer.store.engine import is_memory_sqlite, make_engine, normalise_url
from rebalancer.store.faults import cause_of, is_unavailable, reported

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
# Our revision ids carry the project's name, so a foreign Alembic database is told apart from a
# newer one of ours.
_OUR_REVISION = re.compile(r"^rebalancer_(\d{4})$")
_SQLITE_HEADER = b"SQLite format 3\x00"
_KEEP_IT = "restore it from a backup, or move it aside to start a new journal"


class SchemaError(Exception):
    """The database cannot be used by this code as it is; the message says what to do."""

    def __init__(self, message: str, *, empty: bool = False) -> None:
        super().__init__(message)
        self.empty = empty  # nothing there yet: creating the journal is safe


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Handed to env.py as an object: a URL in the ini text would need '%' escaped.
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a migration
        raise SchemaError("no migrations are packaged with this installation")
    return head


def refuse_unusable_file(url: str | URL) -> None:
    """Raise `SchemaError` if a SQLite URL names an existing file that is not a database."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite" or is_memory_sqlite(parsed):
        return
    path = Path(str(parsed.database))
    if not path.exists():
        return  # the one case in which a journal is created
    if path.is_dir():
        raise SchemaError(f"{path} is a directory, not a journal file; point storage.url at a file")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise SchemaError(f"cannot read {path}: {exc.strerror}") from None
    if not header:
        raise SchemaError(f"{path} is an empty file (0 bytes), not a journal; {_KEEP_IT}")
    if header != _SQLITE_HEADER:
        raise SchemaError(f"{path} is not a SQLite journal (corrupt or another file); {_KEEP_IT}")


def upgrade(url: str | URL, revision: str = "head") -> None:
    refuse_unusable_file(url)
    engine = make_engine(url)
    try:
        with reported(engine.url):
            command.upgrade(alembic_config(engine), revision)
    finally:
        engine.dispose()


def downgrade(url: str | URL, revision: str) -> None:
    engine = make_engine(url)
    try:
        command.downgrade(alembic_config(engine), revision)
    finally:
        engine.dispose()


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at (None when it has never been migrated)."""
    refuse_unusable_file(url)  # connecting would write a header into an empty file
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def _damage(connection: Connection) -> str | None:
    """What SQLite's structural check finds wrong (a truncated or overwritten file), if any."""
    if connection.dialect.name != "sqlite":
        return None
    found = [str(row[0]) for row in connection.exec_driver_sql("PRAGMA quick_check(3)")]
    return None if found == ["ok"] else "; ".join(found)


def check_schema(url: str | URL) -> None:
    """Return if the database is at this code's head revision; raise `SchemaError` otherwise."""
    shown = normalise_url(url).render_as_string(hide_password=True)
    refuse_unusable_file(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            current = MigrationContext.configure(connection).get_current_revision()
            damage = _damage(connection) if tables else None
    except DBAPIError as exc:
        if not is_unavailable(exc):
            raise
        reason = cause_of(exc)
        fix = f"; {_KEEP_IT}" if "journal file" in reason else ""
        raise SchemaError(f"cannot open {shown}: {reason}{fix}") from None
    finally:
        engine.dispose()
    if damage:
        raise SchemaError(f"{shown} is damaged ({damage}); {_KEEP_IT}")
    head = head_revision()
    if current == head:
        return
    if current is None:
        if tables - {VERSION_TABLE}:
            raise SchemaError(
                f"{shown} has tables but no futures-rebalancer schema version: this database "
                "was not created by futures-rebalancer; point storage.url at another database"
            )
        raise SchemaError(f"{shown} has no journal yet; run `rebalancer db upgrade`", empty=True)
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if current in known:
        raise SchemaError(
            f"{shown} is at schema revision {current} but this code needs {head}; "
            "run `rebalancer db upgrade`"
        )
    ours, head_match = _OUR_REVISION.match(current), _OUR_REVISION.match(head)
    if ours and head_match and int(ours.group(1)) > int(head_match.group(1)):
        raise SchemaError(
            f"{shown} is at schema revision {current}, newer than this code's {head}; "
            "upgrade futures-rebalancer"
        )
    raise SchemaError(
        f"{shown} is at unknown schema revision {current!r}: this database was not created by "
        "futures-rebalancer; point storage.url at another database"
    )
