"""An index on the events' kind: each cycle asks for a portfolio's latest roll record.

Revision ID: rebalancer_0007
Revises: rebalancer_0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "rebalancer_0007"
down_revision: str | None = "rebalancer_0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # `latest_event` (kind IN (...) ORDER BY id DESC LIMIT 1) reads this index backwards
    # instead of scanning every event a long-running daemon has journaled.
    op.create_index("ix_events_kind_id", "events", ["kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_kind_id", table_name="events")
