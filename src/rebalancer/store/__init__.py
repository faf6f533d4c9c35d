"""The journal's persistence: tables, engine set-up, migrations, the SQL journal and locks.

Everything a caller needs is re-exported here; the modules behind it are implementation.
"""

from rebalancer.store.carry import SqlCarryLedger
from rebalancer.store.controls import SqlControls, SqlPaperAccounts
from rebalancer.store.engine import Store, open_store
from rebalancer.store.journal import SqlJournal
from rebalancer.store.locks import (
    LockHolder,
    WriterLease,
    WriterLockHeld,
    acquire_writer_lock,
    writer_alive,
)
from rebalancer.store.schema import (
    SchemaError,
    check_schema,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)

__all__ = [
    "LockHolder",
    "SchemaError",
    "SqlCarryLedger",
    "SqlControls",
    "SqlJournal",
    "SqlPaperAccounts",
    "Store",
    "WriterLease",
    "WriterLockHeld",
    "acquire_writer_lock",
    "check_schema",
    "current_revision",
    "downgrade",
    "head_revision",
    "open_store",
    "upgrade",
    "writer_alive",
]
