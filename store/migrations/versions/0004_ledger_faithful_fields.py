"""Ledger fields Tellescope's AutomatedAction has and the engine now records: the related
contact acted on after switchToRelatedContact, formsUnsubmitted's unsubmittedFormCount, isNOP.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def new_columns() -> list[sa.Column]:
    return [
        sa.Column("acting_enduser_id", sa.String(length=64), nullable=True),
        sa.Column("unsubmitted_form_count", sa.Integer(), nullable=True),
        sa.Column("is_nop", sa.Boolean(), nullable=True),
    ]


def upgrade() -> None:
    # A database made by `metadata.create_all` from the current tables (before migrations,
    # stamped at the baseline) already has them.
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("automated_actions")}
    missing = [c for c in new_columns() if c.name not in existing]
    if missing:
        with op.batch_alter_table("automated_actions") as batch:
            for column in missing:
                batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("automated_actions") as batch:
        for column in new_columns():
            batch.drop_column(column.name)
