"""The message policy's ledger of sends and its per-patient lock rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("automated_action_id", sa.String(length=64), nullable=False),
        sa.Column("enduser_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("journey_id", sa.String(length=200), nullable=False),
        sa.Column("sent_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("automated_action_id"),
    )
    op.create_index(
        "ix_message_sends_enduser_channel_at",
        "message_sends",
        ["enduser_id", "channel", "sent_at_ms"],
        unique=False,
    )
    op.create_table(
        "message_policy_locks",
        sa.Column("enduser_id", sa.String(length=64), nullable=False),
        sa.Column("decisions", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("enduser_id"),
    )


def downgrade() -> None:
    op.drop_table("message_policy_locks")
    op.drop_index("ix_message_sends_enduser_channel_at", table_name="message_sends")
    op.drop_table("message_sends")
