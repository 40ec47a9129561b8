"""IncomingEvent: the one normalised shape every trigger event takes, whatever produced it (a
Tellescope record webhook, `POST /v1/events`, a time-based scan, the admin endpoint).

`eventId` is the idempotency key of the event: a firing of trigger T for enduser E on event X runs
as the workflow `trigger:{T}:{E}:{X}`, so delivering the same event twice starts nothing new. Make
it stable for one real-world happening and different for two (webhook events use
`{model}:{recordId}:{type}:{webhook timestamp}`; see `event_id`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.automated_action import JourneyContext
from models.triggers import TRIGGER_EVENT_TYPES

_EVENT_ID_LIMIT = 120  # workflow ids stay readable; longer ids are shortened with a hash


class IncomingEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A trigger event type name (docs/semantics.md §9.3): "Form Submitted", "Field Equals",
    # "Tag Added", ...
    type: str
    eventId: str = Field(min_length=1)
    enduserId: str = Field(min_length=1)
    # The Tellescope record the event is about (the enduser, form response, SMS, appointment...),
    # as Tellescope sent it, and the record before the update when the event is an update.
    record: dict[str, Any] = Field(default_factory=dict)
    previous: dict[str, Any] | None = None
    # The update body that produced `record` from `previous`, when known (webhook `updates`).
    update: dict[str, Any] | None = None
    model: str | None = None  # Tellescope model of `record` ("endusers", "sms_messages", ...)
    # Records the event is about, passed to the actions a trigger runs (docs/semantics.md §6.4).
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)
    occurredAt: datetime
    # Facts the producer derived for the filters: `channel` (Email | SMS | Chat), `destination`,
    # `repliedTemplateIds` (SMS Reply), `groupId` (form groups), ...
    details: dict[str, Any] = Field(default_factory=dict)
    # Set by time-based scans: the event concerns this trigger only (its interval, its group).
    forTriggerId: str | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in TRIGGER_EVENT_TYPES:
            raise ValueError(f'unknown trigger event type "{value}"')
        return value

    @field_validator("occurredAt")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurredAt needs a time zone (UTC offset)")
        return value


def event_id(*parts: object) -> str:
    """A stable event id from its parts, joined with `:`; shortened with a hash when long (the
    id ends up in workflow ids, which should stay readable in the Temporal UI)."""
    text = ":".join(str(p) for p in parts if p is not None and p != "")
    if len(text) <= _EVENT_ID_LIMIT:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    return f"{text[: _EVENT_ID_LIMIT - 25]}~{digest}"
