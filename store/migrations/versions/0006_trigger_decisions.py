"""`trigger_decisions`: every trigger's decision about an event (fired, or not and why), for the
operator's view (docs/operator-view.md §2), bounded by age and per enduser
(docs/decisions.md D25).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trigger_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("trigger_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("enduser_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=400), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("values_seen", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("firing_workflow_id", sa.String(length=500), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("trigger_id", "enduser_id", "event_id"),
    )
    op.create_index(
        "ix_trigger_decisions_enduser_decided", "trigger_decisions", ["enduser_id", "decided_at"]
    )
    op.create_index("ix_trigger_decisions_decided_at", "trigger_decisions", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_trigger_decisions_decided_at", table_name="trigger_decisions")
    op.drop_index("ix_trigger_decisions_enduser_decided", table_name="trigger_decisions")
    op.drop_table("trigger_decisions")
