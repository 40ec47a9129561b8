"""SQLModel tables. API and workflow schemas live elsewhere (models/, api/): these are storage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class JourneyVersionRow(SQLModel, table=True):
    """One deployed, immutable version of a journey: its YAML source and compiled plan."""

    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    journey_id: str = Field(index=True, max_length=200)
    version: str = Field(max_length=64)
    plan: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))  # the YAML as deployed
    source_path: str = ""
    tellescope_journey_id: str = Field(max_length=64)
    deployed_at: datetime
    deployed_by: str = ""
    is_current: bool = Field(default=False, index=True)


class AutomatedActionRow(SQLModel, table=True):
    """The ledger: one row per AutomatedAction (docs/semantics.md §6.1), written by
    workflows at every transition; backs statistics and the Tellescope-compatible listing."""

    __tablename__ = "automated_actions"
    __table_args__ = (
        Index("ix_automated_actions_journey_step", "journey_id", "automation_step_id"),
        Index("ix_automated_actions_enduser_status", "enduser_id", "status"),
    )

    id: str = Field(primary_key=True, max_length=32)
    enduser_id: str = Field(max_length=64)
    journey_id: str = Field(index=True, max_length=200)  # readable journey id
    journey_version: str = Field(max_length=64)
    tellescope_journey_id: str = Field(max_length=64)
    automation_step_id: str = Field(max_length=200)  # readable step id
    tellescope_step_id: str = Field(max_length=64)
    workflow_id: str = Field(max_length=300)
    event: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    action: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=16)  # active | finished | cancelled | error
    process_after: int = Field(sa_column=Column(BigInteger, nullable=False))  # epoch ms
    cancel_reason: int | None = None
    cancelled_by: str | None = None
    cancel_conditions: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    did_delay_for_out_of_office: bool = False
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    enduser_conditions: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    journey_context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    skipped: str | None = None  # why a finished action did nothing ("conditions", ...)
    ab_test_label: str | None = None
    detail: str = ""
    # the related contact acted on after switchToRelatedContact (None: enduser_id)
    acting_enduser_id: str | None = Field(default=None, max_length=64)
    # formsUnsubmitted: the parent's forms still unsubmitted (docs/semantics.md §7.4)
    unsubmitted_form_count: int | None = None
    is_nop: bool | None = None  # performed in the foreground (a ticket close), not executed
    created_at: datetime
    updated_at: datetime


class ApiKeyRow(SQLModel, table=True):
    """An API key of the engine's own API. Only a salted SHA-256 of the secret part is stored:
    the key is shown once, when created (`journeys api-key create`)."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)  # public part of the key (`jk_<id>.<secret>`)
    name: str = Field(default="", max_length=200)
    salt: str = Field(max_length=64)  # hex
    key_hash: str = Field(max_length=64)  # hex sha256(salt bytes + secret)
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ProcessedWebhookRow(SQLModel, table=True):
    """A Tellescope webhook delivery already accepted: replays and duplicate deliveries are
    recognised by `delivery_key` (derived from the verified integrity hash, which covers the
    record ids and the timestamp); `body_sha256` tells a duplicate (same body) from a replay
    that changed the body."""

    __tablename__ = "processed_webhooks"

    id: int | None = Field(default=None, primary_key=True)
    delivery_key: str = Field(max_length=64, unique=True)
    body_sha256: str = Field(max_length=64)
    kind: str = Field(max_length=100)  # record model, `automation` or `calendar_event_reminder`
    operation: str = Field(default="", max_length=16)  # create | update | delete | ""
    record_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    webhook_timestamp: str = Field(max_length=32)
    status: str = Field(default="processing", max_length=16)  # processing | processed
    # When the current claim was taken (the first copy, or a takeover of an expired lease).
    received_at: datetime = Field(index=True)


class DeploymentEventRow(SQLModel, table=True):
    """Audit trail of what was made current, when and by whom (deploys and rollbacks)."""

    __tablename__ = "deployment_events"

    id: int | None = Field(default=None, primary_key=True)
    journey_id: str = Field(index=True, max_length=200)
    version: str = Field(max_length=64)
    previous_version: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=16)  # deploy | rollback | delete
    by: str = Field(default="", max_length=200)
    at: datetime


class IdempotencyKeyRow(SQLModel, table=True):
    """A request made with an `Idempotency-Key` header: its first response, replayed to a retry
    with the same key and body (docs/limits.md, "Idempotent requests"). `scope` is the caller
    (API key id) and the operation, so two callers' keys never collide."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=300)
    key: str = Field(max_length=255)
    request_sha256: str = Field(max_length=64)
    status: str = Field(default="in_progress", max_length=16)  # in_progress | done
    response_status: int | None = None
    response_body: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    # When the current holder claimed the key (a first request, or a takeover after its lease).
    claimed_at: datetime = Field(index=True)
    completed_at: datetime | None = None


class MessageSendRow(SQLModel, table=True):
    """One patient-facing message the message policy let through (docs/message-policy.md):
    what frequency caps count, across journeys. One row per AutomatedAction, so a retried send
    is counted once."""

    __tablename__ = "message_sends"
    __table_args__ = (
        Index("ix_message_sends_enduser_channel_at", "enduser_id", "channel", "sent_at_ms"),
    )

    id: int | None = Field(default=None, primary_key=True)
    automated_action_id: str = Field(max_length=64, unique=True)
    enduser_id: str = Field(max_length=64)
    channel: str = Field(max_length=16)  # sms | email | chat
    journey_id: str = Field(default="", max_length=200)
    sent_at_ms: int = Field(sa_column=Column(BigInteger, nullable=False))  # epoch ms


class MessagePolicyLockRow(SQLModel, table=True):
    """One row per patient, updated at the start of every policy decision about them: the row
    lock (PostgreSQL) or the write lock (SQLite) makes decisions about one patient take turns,
    so two sends in the same second are both counted."""

    __tablename__ = "message_policy_locks"

    enduser_id: str = Field(max_length=64, primary_key=True)
    decisions: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class TriggerDecisionRow(SQLModel, table=True):
    """One trigger's decision about one event of one enduser: fired, or not and why
    (docs/operator-view.md §2). Unique per (trigger, enduser, event): a redelivered webhook or a
    retried evaluation writes nothing twice. Bounded by age and per enduser
    (docs/decisions.md D25)."""

    __tablename__ = "trigger_decisions"
    __table_args__ = (
        UniqueConstraint("trigger_id", "enduser_id", "event_id"),
        Index("ix_trigger_decisions_enduser_decided", "enduser_id", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    trigger_id: str = Field(max_length=200)
    title: str = Field(default="", max_length=300)
    enduser_id: str = Field(max_length=64)
    event_id: str = Field(max_length=400)
    event_type: str = Field(max_length=100)
    fired: bool
    stage: str | None = Field(default=None, max_length=32)  # where it stopped (None: fired)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    # the enduser's fields the trigger's conditions read, as evaluated (None: none read)
    values_seen: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    source: str = Field(default="event", max_length=16)  # event | schedule
    firing_workflow_id: str | None = Field(default=None, max_length=500)
    decided_at: datetime = Field(index=True)


class EnrollmentMigrationRow(SQLModel, table=True):
    """Audit of migrations (docs/decisions.md D29): one row per (migration, enduser), written
    before the enrollment is signalled and updated with what came of it."""

    __tablename__ = "enrollment_migrations"
    __table_args__ = (UniqueConstraint("migration_id", "enduser_id"),)

    id: int | None = Field(default=None, primary_key=True)
    migration_id: str = Field(index=True, max_length=64)
    journey_id: str = Field(index=True, max_length=200)
    enduser_id: str = Field(max_length=64)
    from_version: str = Field(max_length=64)
    to_version: str = Field(max_length=64)
    mapping: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    on_removed: str = Field(max_length=8)  # cancel | keep
    by: str = Field(default="", max_length=200)
    at: datetime
    # pending (signalled, no answer yet) | migrated | kept | notRunning | failed
    outcome: str = Field(max_length=16)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    undoes: str | None = Field(default=None, max_length=64)  # the migration this one undoes


# The engine's own tables (SQLModel.metadata is process-wide: other apps' tables may share it).
STORE_TABLES = frozenset(
    model.__tablename__
    for model in (
        JourneyVersionRow,
        AutomatedActionRow,
        ApiKeyRow,
        ProcessedWebhookRow,
        DeploymentEventRow,
        IdempotencyKeyRow,
        MessageSendRow,
        MessagePolicyLockRow,
        TriggerDecisionRow,
        EnrollmentMigrationRow,
    )
)
