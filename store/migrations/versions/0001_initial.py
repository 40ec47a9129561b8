"""Initial schema: deployed journey versions and the AutomatedAction ledger.

These are the tables `store.db.create_tables` used to create with `metadata.create_all`; a
database made that way (no `alembic_version` table yet) is stamped at this revision by
`store.db.upgrade_database` and upgraded from here.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journey_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_path", sa.String(), nullable=False),
        sa.Column("tellescope_journey_id", sa.String(length=64), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("journey_id", "version"),
    )
    op.create_index(
        "ix_journey_versions_is_current", "journey_versions", ["is_current"], unique=False
    )
    op.create_index(
        "ix_journey_versions_journey_id", "journey_versions", ["journey_id"], unique=False
    )
    op.create_table(
        "automated_actions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("enduser_id", sa.String(length=64), nullable=False),
        sa.Column("journey_id", sa.String(length=200), nullable=False),
        sa.Column("journey_version", sa.String(length=64), nullable=False),
        sa.Column("tellescope_journey_id", sa.String(length=64), nullable=False),
        sa.Column("automation_step_id", sa.String(length=200), nullable=False),
        sa.Column("tellescope_step_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=300), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("action", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("process_after", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sa.Integer(), nullable=True),
        sa.Column("cancelled_by", sa.String(), nullable=True),
        sa.Column("cancel_conditions", sa.JSON(), nullable=True),
        sa.Column("did_delay_for_out_of_office", sa.Boolean(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("enduser_conditions", sa.JSON(), nullable=True),
        sa.Column("journey_context", sa.JSON(), nullable=True),
        sa.Column("skipped", sa.String(), nullable=True),
        sa.Column("ab_test_label", sa.String(), nullable=True),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_automated_actions_enduser_status",
        "automated_actions",
        ["enduser_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_automated_actions_journey_id", "automated_actions", ["journey_id"], unique=False
    )
    op.create_index(
        "ix_automated_actions_journey_step",
        "automated_actions",
        ["journey_id", "automation_step_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_automated_actions_journey_step", table_name="automated_actions")
    op.drop_index("ix_automated_actions_journey_id", table_name="automated_actions")
    op.drop_index("ix_automated_actions_enduser_status", table_name="automated_actions")
    op.drop_table("automated_actions")
    op.drop_index("ix_journey_versions_journey_id", table_name="journey_versions")
    op.drop_index("ix_journey_versions_is_current", table_name="journey_versions")
    op.drop_table("journey_versions")
