"""`automated_actions.process_after` holds epoch milliseconds (about 1.8e12): a 64-bit integer.

It was created as a 32-bit INTEGER, which PostgreSQL refuses for any real due time (SQLite's
INTEGER is 64-bit already, so only PostgreSQL needs the change).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("automated_actions") as batch:
        batch.alter_column(
            "process_after", existing_type=sa.Integer(), type_=sa.BigInteger(), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("automated_actions") as batch:
        batch.alter_column(
            "process_after", existing_type=sa.BigInteger(), type_=sa.Integer(), nullable=False
        )
