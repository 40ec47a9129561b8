"""The Tellescope models the sandbox serves, and the facts about each that generic CRUD needs.

Facts come from Tellescope's public schema (required fields, uniqueness, foreign keys, read-only
fields) and REST docs (which default operations each model offers). Resource-specific behaviour
(consent checks, chat-room caches, journey defaults, ...) lives in `sandbox.behaviour`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Action = Literal["create", "createMany", "read", "readMany", "update", "delete"]
ALL_ACTIONS: frozenset[Action] = frozenset(
    ("create", "createMany", "read", "readMany", "update", "delete")
)
OnDelete = Literal["delete", "unset", "nop"]

# Fields every record has; clients cannot write them.
BUILT_IN_READONLY = frozenset(("id", "_id", "businessId", "creator", "createdAt", "updatedAt"))

# Field kinds the sandbox checks on write, with Tellescope's validator messages.
FieldKind = Literal["id", "ids", "email", "string", "bool", "number", "list", "object", "date"]


@dataclass(frozen=True)
class ForeignKey:
    model: str
    on_delete: OnDelete = "nop"
    # A foreign key the sandbox checks on write. Tellescope tolerates placeholder ids in some
    # places (automated actions); those keys only cascade.
    checked: bool = True


@dataclass(frozen=True)
class ModelSpec:
    name: str
    actions: frozenset[Action] = ALL_ACTIONS
    required: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    unique_together: tuple[tuple[str, ...], ...] = ()
    # List fields whose items are unique: appending an existing item is a no-op.
    unique_items: tuple[str, ...] = ()
    readonly: tuple[str, ...] = ()
    updates_disabled: tuple[str, ...] = ()
    foreign_keys: dict[str, ForeignKey] = field(default_factory=dict)
    kinds: dict[str, FieldKind] = field(default_factory=dict)
    # Never returned to clients.
    hidden: tuple[str, ...] = ()
    # Delivered as record webhooks when a webhook configuration omits `subscriptions`.
    default_webhooks: bool = False

    @property
    def plural_path(self) -> str:
        return self.name.replace("_", "-")

    @property
    def singular_path(self) -> str:
        return self.plural_path[:-1]


_ENDUSER = ForeignKey("endusers", on_delete="delete")
_COMMON_MESSAGE_KINDS: dict[str, FieldKind] = {
    "enduserId": "id",
    "userId": "id",
    "logOnly": "bool",
    "inbound": "bool",
    "templateId": "id",
    "automationStepId": "id",
    "journeyId": "id",
    "journeyContext": "object",
    "tags": "list",
    "assignedTo": "list",
}

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "endusers",
        unique=("email", "externalId"),
        unique_items=("tags", "assignedTo"),
        readonly=("hashedPassword",),
        kinds={
            "email": "email",
            "emailConsent": "bool",
            "phoneConsent": "bool",
            "journeys": "object",
            "fields": "object",
            "tags": "list",
            "accessTags": "list",
            "assignedTo": "list",
            "unsubscribedFromMarketing": "bool",
        },
        default_webhooks=True,
    ),
    ModelSpec(
        "users",
        required=("email",),
        unique=("email", "username"),
        unique_items=("tags", "roles"),
        kinds={"email": "email", "tags": "list", "roles": "list", "fields": "object"},
    ),
    ModelSpec(
        "organizations",
        actions=frozenset(("read", "readMany", "update")),
        readonly=("subdomain",),
    ),
    ModelSpec(
        "templates",
        required=("title", "subject", "message"),
        unique=("title",),
        unique_items=("tags",),
        kinds={"title": "string", "subject": "string", "isMarketing": "bool", "tags": "list"},
    ),
    ModelSpec(
        "emails",
        required=("enduserId", "subject", "textContent"),
        readonly=("delivered", "threadId", "source", "openedAt"),
        foreign_keys={"enduserId": _ENDUSER},
        kinds={**_COMMON_MESSAGE_KINDS, "subject": "string", "isMarketing": "bool"},
        default_webhooks=True,
    ),
    ModelSpec(
        "sms_messages",
        required=("message", "enduserId"),
        readonly=("delivered", "internalMessageId"),
        foreign_keys={"enduserId": _ENDUSER},
        kinds={**_COMMON_MESSAGE_KINDS, "message": "string"},
        default_webhooks=True,
    ),
    ModelSpec(
        "chat_rooms",
        unique_items=("userIds", "enduserIds", "tags"),
        readonly=("recentMessage", "recentSender", "recentEnduserMessage"),
        foreign_keys={"aboutEnduserId": _ENDUSER},
        kinds={"userIds": "ids", "enduserIds": "ids", "tags": "list", "journeyId": "id"},
    ),
    ModelSpec(
        "chats",
        actions=frozenset(("create", "read", "readMany", "update", "delete")),
        required=("roomId", "message"),
        updates_disabled=("roomId",),
        foreign_keys={"roomId": ForeignKey("chat_rooms", on_delete="delete")},
        kinds={
            "roomId": "id",
            "senderId": "id",
            "message": "string",
            "automationStepId": "id",
            "journeyId": "id",
            "templateId": "id",
        },
        default_webhooks=True,
    ),
    ModelSpec("forms", required=("title",), kinds={"title": "string"}),
    ModelSpec(
        "form_fields",
        required=("formId", "title"),
        foreign_keys={"formId": ForeignKey("forms", on_delete="delete")},
        kinds={"formId": "id", "title": "string"},
    ),
    ModelSpec(
        "form_responses",
        required=("formId",),
        foreign_keys={"formId": ForeignKey("forms"), "enduserId": _ENDUSER},
        updates_disabled=("submissionExpiresAt",),
        kinds={
            "formId": "string",
            "enduserId": "id",
            "automationStepId": "id",
            "journeyId": "id",
            "responses": "list",
            "submittedAt": "date",
            "tags": "list",
        },
        default_webhooks=True,
    ),
    ModelSpec(
        "tickets",
        required=("title",),
        unique_items=("closeReasons", "tags"),
        readonly=("nextReminderInMS", "references"),
        foreign_keys={"enduserId": _ENDUSER, "owner": ForeignKey("users")},
        kinds={
            "title": "string",
            "enduserId": "id",
            "owner": "id",
            "automationStepId": "id",
            "journeyId": "id",
            "carePlanId": "id",
            "closeReasons": "list",
            "closedForReason": "string",
            "dueDateInMS": "number",
            "closedAt": "date",
            "tags": "list",
        },
        default_webhooks=True,
    ),
    ModelSpec(
        "care_plans",
        required=("title", "enduserId"),
        foreign_keys={"enduserId": _ENDUSER},
        kinds={"enduserId": "id", "journeyId": "id", "eventIds": "ids"},
    ),
    ModelSpec(
        "user_notifications",
        required=("userId", "type", "message"),
        foreign_keys={"userId": ForeignKey("users", on_delete="delete")},
        kinds={"userId": "id", "type": "string", "message": "string", "read": "bool"},
    ),
    ModelSpec(
        "managed_content_records",
        required=("title", "textContent"),
        foreign_keys={"enduserId": _ENDUSER},
        kinds={"title": "string"},
    ),
    ModelSpec(
        "managed_content_record_assignments",
        required=("contentId", "enduserId"),
        unique_together=(("contentId", "enduserId"),),
        foreign_keys={
            "contentId": ForeignKey("managed_content_records", on_delete="delete"),
            "enduserId": _ENDUSER,
        },
        kinds={"contentId": "id", "enduserId": "id"},
    ),
    ModelSpec(
        "notes",
        required=("enduserId",),
        foreign_keys={"enduserId": _ENDUSER},
        kinds={"enduserId": "id", "tags": "list"},
    ),
    ModelSpec(
        "calendar_events",
        required=("title", "startTimeInMS", "durationInMinutes"),
        kinds={
            "title": "string",
            "startTimeInMS": "number",
            "durationInMinutes": "number",
            "attendees": "list",
            "cancelledAt": "date",
            "completedAt": "date",
        },
        default_webhooks=True,
    ),
    ModelSpec(
        "journeys",
        required=("title",),
        unique=("title",),
        kinds={"title": "string", "states": "list", "tags": "list"},
        # A journey deleted (or edited) in Tellescope must reach the engine.
        default_webhooks=True,
    ),
    ModelSpec(
        "automated_actions",
        required=(
            "automationStepId",
            "enduserId",
            "journeyId",
            "event",
            "action",
            "status",
            "processAfter",
        ),
        foreign_keys={
            "enduserId": ForeignKey("endusers", on_delete="delete", checked=False),
            "journeyId": ForeignKey("journeys", checked=False),
        },
        kinds={
            "automationStepId": "id",
            "enduserId": "id",
            "journeyId": "id",
            "event": "object",
            "action": "object",
            "processAfter": "number",
        },
    ),
    ModelSpec(
        "enduser_status_updates",
        actions=frozenset(("create", "createMany", "read", "readMany", "delete")),
        required=("journeyId", "enduserId", "status"),
        foreign_keys={
            "journeyId": ForeignKey("journeys", on_delete="delete"),
            "enduserId": _ENDUSER,
        },
        kinds={"journeyId": "id", "enduserId": "id", "status": "string"},
    ),
    ModelSpec(
        "webhooks",
        readonly=("deliveryFailureCount",),
        hidden=("secret",),
        kinds={"url": "string", "subscriptions": "object"},
    ),
    ModelSpec("webhook_logs", actions=frozenset(("readMany", "read"))),
    ModelSpec(
        "automation_triggers",
        required=("title", "event", "action", "status"),
        kinds={"title": "string", "event": "object", "action": "object", "status": "string"},
    ),
    ModelSpec(
        "form_groups",
        required=("title", "formIds"),
        kinds={"title": "string", "formIds": "ids"},
    ),
    ModelSpec(
        "waitlists",
        required=("title", "journeyId", "enduserIds"),
        unique_items=("enduserIds",),
        foreign_keys={"journeyId": ForeignKey("journeys", on_delete="delete")},
        kinds={"title": "string", "journeyId": "id", "enduserIds": "ids"},
    ),
    ModelSpec(
        "background_errors",
        required=("title", "message"),
        kinds={"title": "string", "message": "string", "enduserId": "id", "journeyId": "id"},
    ),
    ModelSpec(
        "engagement_events",
        required=("enduserId", "type", "significance"),
        foreign_keys={"enduserId": _ENDUSER},
        kinds={"enduserId": "id", "type": "string", "significance": "number", "fields": "object"},
    ),
    ModelSpec(
        "enduser_orders",
        required=("externalId", "source", "enduserId", "title", "status"),
        foreign_keys={"enduserId": _ENDUSER},
        kinds={
            "externalId": "string",
            "source": "string",
            "enduserId": "id",
            "title": "string",
            "status": "string",
            "tags": "list",
        },
    ),
    ModelSpec(
        "enduser_medications",
        required=("enduserId", "title"),
        readonly=("references",),
        foreign_keys={"enduserId": _ENDUSER},
        kinds={"enduserId": "id", "title": "string"},
    ),
)

BY_NAME: dict[str, ModelSpec] = {spec.name: spec for spec in SPECS}
DEFAULT_WEBHOOK_MODELS: tuple[str, ...] = tuple(s.name for s in SPECS if s.default_webhooks)


def spec_for(name: str) -> ModelSpec:
    return BY_NAME[name]
