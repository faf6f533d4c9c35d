"""Each run records its writer (`<pid>@<host>`), so recovery leaves a live writer's run alone.

Revision ID: rebalancer_0004
Revises: rebalancer_0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rebalancer_0004"
down_revision: str | None = "rebalancer_0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("writer", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("writer")
