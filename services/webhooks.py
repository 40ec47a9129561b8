"""Verifying Tellescope webhook deliveries (Tellescope's API docs "Webhooks",
docs/semantics.md §11).

Three kinds arrive at the receiver, each signed with the organisation's webhook secret:

- record webhook `{model, type: create|update|delete, records, timestamp, integrity,
  relatedRecords}`: integrity = sha256_hex(record ids concatenated + timestamp + secret);
- automation `{type: "automation", message, timestamp, integrity, enduserId}`:
  integrity = sha256_hex(message + timestamp + secret);
- calendar reminder `{type: "calendar_event_reminder", event, timestamp, integrity}`:
  integrity = sha256_hex(event.id + timestamp + secret).

The integrity covers the ids and the timestamp, not the rest of the body (not even the model or
the operation), so a captured delivery could be replayed with other field values: a signature is
usable once, whatever body comes with it. Deliveries are claimed by integrity hash and timestamp
(`store.webhooks`); a second copy with the same body is a duplicate (acknowledged once the first
is processed, not processed again) and one with another body, another model or another
operation is refused. A timestamp outside the tolerance window is refused, so a captured
delivery cannot be replayed after its claim was purged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rules.dates import from_epoch_ms, parse_iso
from services.errors import Unauthenticated

RECORD_OPERATIONS = ("create", "update", "delete")


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class RecordRef(_Loose):
    id: str = Field(min_length=1)


class RecordWebhook(_Loose):
    """Schema of a record webhook (other fields pass through untouched)."""

    model: str = Field(min_length=1, max_length=100)
    type: Literal["create", "update", "delete"]
    records: list[RecordRef] = Field(min_length=1)
    timestamp: str | int
    integrity: str = Field(min_length=1, max_length=128)
    relatedRecords: dict[str, Any] | None = None


class AutomationWebhook(_Loose):
    type: Literal["automation"]
    message: str
    timestamp: str | int
    integrity: str = Field(min_length=1, max_length=128)
    enduserId: str | None = None


class CalendarEventRef(_Loose):
    id: str = Field(min_length=1)


class CalendarReminderWebhook(_Loose):
    type: Literal["calendar_event_reminder"]
    event: CalendarEventRef
    timestamp: str | int
    integrity: str = Field(min_length=1, max_length=128)


WebhookDelivery = RecordWebhook | AutomationWebhook | CalendarReminderWebhook


def delivery_model(payload: Any) -> type[BaseModel]:
    kind = payload.get("type") if isinstance(payload, dict) else None
    if kind == "automation":
        return AutomationWebhook
    if kind == "calendar_event_reminder":
        return CalendarReminderWebhook
    return RecordWebhook


@dataclass
class Delivery:
    kind: str  # the record model, `automation` or `calendar_event_reminder`
    operation: str
    record_ids: list[str]
    timestamp: str
    integrity: str

    @property
    def key(self) -> str:
        """What the signature covers, and nothing it does not: the same integrity and timestamp
        sent again as another model or operation is the same delivery (and a conflict)."""
        text = f"{self.integrity.strip().lower()}|{self.timestamp}"
        return hashlib.sha256(text.encode()).hexdigest()


class WebhookRejected(Unauthenticated):
    """The delivery's integrity, age or secret is wrong: nothing of it may be processed."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signed_parts(delivery: BaseModel) -> Delivery:
    timestamp = str(delivery.timestamp)
    if isinstance(delivery, AutomationWebhook):
        ids = [delivery.enduserId] if delivery.enduserId else []
        return Delivery("automation", "", ids, timestamp, delivery.integrity)
    if isinstance(delivery, CalendarReminderWebhook):
        return Delivery(
            "calendar_event_reminder", "", [delivery.event.id], timestamp, delivery.integrity
        )
    assert isinstance(delivery, RecordWebhook)
    ids = [record.id for record in delivery.records]
    return Delivery(delivery.model, delivery.type, ids, timestamp, delivery.integrity)


def expected_integrity(delivery: BaseModel, secret: str) -> str:
    timestamp = str(delivery.timestamp)
    if isinstance(delivery, AutomationWebhook):
        return sha256_hex(delivery.message + timestamp + secret)
    if isinstance(delivery, CalendarReminderWebhook):
        return sha256_hex(delivery.event.id + timestamp + secret)
    assert isinstance(delivery, RecordWebhook)
    return sha256_hex("".join(record.id for record in delivery.records) + timestamp + secret)


def timestamp_of(value: str | int) -> datetime:
    """Tellescope's timestamp: epoch milliseconds (as text); ISO 8601 accepted too."""
    text = str(value).strip()
    try:
        return from_epoch_ms(int(text))
    except (ValueError, OverflowError):
        pass
    moment = parse_iso(text)
    if moment is None:
        raise WebhookRejected("Invalid webhook timestamp")
    return moment


def verify(
    delivery: BaseModel,
    secrets: list[str],
    *,
    tolerance_seconds: float,
    now: datetime | None = None,
) -> Delivery:
    """Check integrity (constant-time, against each configured secret) and age. Raises
    WebhookRejected when either is wrong or no secret is configured."""
    if not secrets:
        raise WebhookRejected(
            "Webhooks are not configured: the API has no WEBHOOK_SECRET (set one of at least 16"
            " characters and run `journeys webhooks configure`)"
        )
    given = delivery.integrity.strip().lower().encode("utf-8")
    valid = False
    for secret in secrets:
        expected = expected_integrity(delivery, secret).encode("ascii")
        valid |= hmac.compare_digest(expected, given)
    if not valid:
        raise WebhookRejected("Invalid webhook integrity")
    moment = timestamp_of(delivery.timestamp)
    age = abs(((now or datetime.now(UTC)) - moment).total_seconds())
    if age > tolerance_seconds:
        raise WebhookRejected(
            f"Stale webhook: timestamp is {age:.0f} s away (tolerance {tolerance_seconds:g} s)"
        )
    return signed_parts(delivery)


def body_digest(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
