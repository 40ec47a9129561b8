"""Audit rows of migrations of running enrollments (docs/decisions.md D29).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrollment_migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("migration_id", sa.String(length=64), nullable=False),
        sa.Column("journey_id", sa.String(length=200), nullable=False),
        sa.Column("enduser_id", sa.String(length=64), nullable=False),
        sa.Column("from_version", sa.String(length=64), nullable=False),
        sa.Column("to_version", sa.String(length=64), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("on_removed", sa.String(length=8), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("undoes", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("migration_id", "enduser_id"),
    )
    op.create_index(
        "ix_enrollment_migrations_migration_id",
        "enrollment_migrations",
        ["migration_id"],
        unique=False,
    )
    op.create_index(
        "ix_enrollment_migrations_journey_id", "enrollment_migrations", ["journey_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_enrollment_migrations_journey_id", table_name="enrollment_migrations")
    op.drop_index("ix_enrollment_migrations_migration_id", table_name="enrollment_migrations")
    op.drop_table("enrollment_migrations")
