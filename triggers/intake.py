"""Tellescope record webhooks -> enrollment signals and trigger events
(docs/semantics.md §11.1, §9.3).

    report = await process_webhook(payload, deps)

Webhooks are notifications, Tellescope is the truth (docs/webhooks.md): the integrity hash
covers the record ids and the timestamp only, so every record is READ BACK from Tellescope by id
(`triggers.readback`: one bulk read per delivery, cached a few seconds) and mapped as Tellescope
holds it; the body's records give their ids and nothing else. A record the named model does not
hold is ignored and reported (so renaming the model reads back nothing). Chat rooms and endusers
are read from Tellescope too, never from `relatedRecords`. What cannot be read back is the state
before an update (`updates[i].recordBeforeUpdate`): it only chooses WHICH transition to look for,
and the read-back record must show it (`submittedAt`, `closedAt`, the tag, the appointment
status... set now). A "create" of a record created long before the delivery is not a create.
The `{updatedAt}` of an event id (below) is the read-back record's own time of the happening
when it has one (`createdAt` for creations, `submittedAt`, `startedAt`, `closedAt`,
`completedAt`, `cancelledAt`, `noShowedAt`, `rescheduledAt`; `EVENT_STAMPS`), else its
`updatedAt`: a redelivered, or forged, webhook fires nothing twice.

`payload` is the verified body `{model, type: create|update|delete, records, timestamp,
integrity, relatedRecords, updates?}` (the HTTP layer checks integrity, age and duplicates
first). Per record:

- form_responses: `submittedAt` newly set -> signal form_submitted to the journey whose step is
  the response's `automationStepId`; events Form Submitted and, when the submission completes
  its group, Form Group Completed. `startedAt` newly set -> Form Started.
- tickets: `closedAt` newly set -> signal ticket_closed (via the ticket's `automationStepId`).
- sms_messages, emails, chats (inbound, i.e. sent by the enduser) -> signal incoming_message to
  every running enrollment of the enduser; events Incoming Message, and SMS Reply for SMS.
  Chats sent by a user -> Outbound Chat Sent for every enduser of the room, whose
  `recentOutboundChatAt` is stamped (the one write of the mapping).
- endusers: create -> Contact Created, Field Equals; update -> Field Equals, Fields Changed,
  Tag Added (when a tag is new). A key of `journeys` added (create: every key) starts that
  journey's enrollment, a key removed removes it (`_memberships`, docs/decisions.md D17).
- calendar_events -> Appointment Created / Completed / Cancelled / Rescheduled / No-Showed, one
  per enduser attendee (`triggers.filters.appointment_transitions`).
- purchases -> Purchase Made, Refund Issued; enduser_orders -> Order Created, Order Status
  Equals; enduser_medications -> Medication Added; enduser_problems -> Problem Created.
- phone_calls (inbound) -> Missed Call, Left Voicemail; enduser_observations -> Vital Update;
  database_records -> Database Entry Added; updates of outbound emails and SMS -> Message
  Opened, Message Link Clicked, Message Delivery Failure (docs/decisions.md D20).

A signal to an enrollment that is not running is ignored and reported (docs/decisions.md D8:
events for a removed or finished enrollment are never executed). Deletes produce nothing, but
for a journey record's: the journey is deleted here too (`_journeys_deleted`).
Records a trigger action made (stamped `je:trg-...`) produce no events (no chaining; trigger updates
are not even delivered, see `triggers.quiet`). Event ids are
`{model}:{recordId}:{event}:{updatedAt}`, so a redelivered webhook fires nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode

from models.automated_action import CancelReason, JourneyContext
from models.runtime import (
    FormSubmitted,
    IncomingMessage,
    RemoveRequest,
    TicketClosed,
    enrollment_workflow_id,
)
from rules.dates import parse_iso
from services.enrollments import enroll_many, remove_many
from services.errors import NotFound
from services.journey_deletion import delete_journey
from tellescope.errors import TellescopeRejected
from triggers.active import active_triggers, journey_for_step
from triggers.dispatch import TriggerDeps, dispatch_event
from triggers.evaluate import candidates
from triggers.events import IncomingEvent, event_id
from triggers.filters import appointment_transitions, is_set, newly_set
from triggers.models import (
    ActiveTrigger,
    IgnoredRecord,
    IntakeReport,
    MembershipChange,
    SignalSent,
)
from triggers.quiet import is_trigger_origin, stamp_outbound_chat
from triggers.readback import (
    NotReadable,
    ReadAhead,
    RecordSource,
    TellescopeReadBack,
    Wanted,
)

log = logging.getLogger("journeys.triggers.intake")

Record = dict[str, Any]
MESSAGE_CHANNELS = {"sms_messages": "SMS", "emails": "Email", "chats": "Chat"}

# The field of the read-back record that dates each event (its event id's stamp): a happening has
# one time, whichever delivery (genuine, redelivered, or forged) reports it. Other events are
# stamped with the record's `updatedAt` (one per version of the record).
EVENT_STAMPS = {
    "Contact Created": "createdAt",
    "Purchase Made": "createdAt",
    "Order Created": "createdAt",
    "Medication Added": "createdAt",
    "Problem Created": "createdAt",
    "Appointment Created": "createdAt",
    "Incoming Message": "createdAt",
    "SMS Reply": "createdAt",
    "Outbound Chat Sent": "createdAt",
    "Vital Update": "createdAt",
    "Database Entry Added": "createdAt",
    "Message Opened": "openedAt",
    "Form Submitted": "submittedAt",
    "Form Group Completed": "submittedAt",
    "Form Started": "startedAt",
    "Appointment Completed": "completedAt",
    "Appointment Cancelled": "cancelledAt",
    "Appointment No-Showed": "noShowedAt",
    "Appointment Rescheduled": "rescheduledAt",
}
# A delivery saying "create" about a record created longer than this before its (signed)
# timestamp is not a create: the type is not signed, and Tellescope sends creates right away.
CREATE_WINDOW = timedelta(hours=1)


@dataclass
class PendingSignal:
    signal: str  # form_submitted | ticket_closed | incoming_message
    payload: BaseModel
    enduserId: str
    automationStepId: str | None = None  # route by step; None: every running enrollment


@dataclass
class RecordMapping:
    events: list[IncomingEvent] = field(default_factory=list)
    signals: list[PendingSignal] = field(default_factory=list)
    ignored: str | None = None
    enduser: Record | None = None  # the enduser record itself (enduser webhooks)
    # enduser.journeys keys added (Tellescope journey id -> the value written) and removed
    joined: dict[str, str] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)


@dataclass
class WebhookRecord:
    model: str
    kind: str
    record: Record
    previous: Record | None
    update: Record | None
    timestamp: str
    occurredAt: datetime
    # False for an update delivered without `updates[i].recordBeforeUpdate`: what changed is
    # unknown, so only events that do not depend on a transition are derived from it.
    beforeKnown: bool = True
    # The body's `updatedAt` for the record (not signed): a hint for the read-back cache only.
    claimedUpdatedAt: Any = None

    def event(self, event_type: str, enduser_id: str, **extra: Any) -> IncomingEvent:
        stamped_by = EVENT_STAMPS.get(event_type)
        stamp = (
            (_stamp(self.record, stamped_by) if stamped_by else None)
            or _stamp(self.record)
            or self.timestamp
        )
        return IncomingEvent(
            type=event_type,
            eventId=event_id(self.model, self.record.get("id"), _slug(event_type), stamp),
            enduserId=enduser_id,
            record=self.record,
            previous=self.previous,
            update=self.update,
            model=self.model,
            occurredAt=self.occurredAt,
            **extra,
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _stamp(record: Mapping[str, Any], name: str = "updatedAt") -> str | None:
    """A date field (`updatedAt` by default) as epoch ms: the same for a redelivery, different
    for the next update."""
    value = record.get(name)
    moment = parse_iso(value) if isinstance(value, str) else None
    return str(int(moment.timestamp() * 1000)) if moment else None


def _occurred(timestamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(timestamp)) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


# --- mapping, per model -------------------------------------------------------------------------


async def _endusers(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    record, previous = item.record, item.previous
    mapping = RecordMapping(enduser=record)
    enduser_id = record["id"]
    journeys = _journeys_of(record)
    if previous is None:
        mapping.joined = journeys
        mapping.events.append(item.event("Contact Created", enduser_id))
        mapping.events.append(item.event("Field Equals", enduser_id))
        return mapping
    mapping.events.append(item.event("Field Equals", enduser_id))
    if not item.beforeKnown:
        return mapping  # what changed is unknown: no Fields Changed / Tag Added / memberships
    # Keys added or removed: the unsigned before-state only chooses which keys to look at, the
    # read-back record must show them (present for an add, absent for a removal). A changed
    # value is a state change, not an add (docs/semantics.md §3.4).
    before = _journeys_of(previous)
    mapping.joined = {j: v for j, v in journeys.items() if j not in before}
    mapping.left = [j for j in before if j not in journeys]
    mapping.events.append(item.event("Fields Changed", enduser_id))
    if set(record.get("tags") or []) - set(previous.get("tags") or []):
        mapping.events.append(item.event("Tag Added", enduser_id))
    return mapping


def _journeys_of(record: Mapping[str, Any]) -> dict[str, str]:
    journeys = record.get("journeys")
    if not isinstance(journeys, dict):
        return {}
    return {str(k): v if isinstance(v, str) else "" for k, v in journeys.items()}


async def _form_responses(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    record, previous = item.record, item.previous
    enduser_id = record.get("enduserId")
    if not enduser_id:
        return RecordMapping(ignored="form response without an enduser")
    mapping = RecordMapping()
    context = JourneyContext(
        formResponseId=record["id"], publicIdentifier=record.get("publicIdentifier") or None
    )
    if newly_set(record, previous, "submittedAt"):
        if record.get("automationStepId"):
            mapping.signals.append(
                PendingSignal(
                    "form_submitted",
                    FormSubmitted(
                        formResponseId=record["id"],
                        automationStepId=record["automationStepId"],
                        formId=record.get("formId"),
                        submittedAt=record.get("submittedAt"),
                    ),
                    enduser_id,
                    record["automationStepId"],
                )
            )
        mapping.events.append(item.event("Form Submitted", enduser_id, journeyContext=context))
        group = await _completed_group(record, deps)
        if group is not None:
            mapping.events.append(
                item.event(
                    "Form Group Completed",
                    enduser_id,
                    journeyContext=JourneyContext(formGroupId=group, formResponseId=record["id"]),
                    details={"groupId": group},
                )
            )
    elif newly_set(record, previous, "startedAt"):
        mapping.events.append(item.event("Form Started", enduser_id, journeyContext=context))
    else:
        mapping.ignored = "form response not newly submitted"
    return mapping


async def _completed_group(response: Record, deps: TriggerDeps) -> str | None:
    """The response's form group, when this submission completes it (every response of its
    group instance is submitted)."""
    group, instance = response.get("groupId"), response.get("groupInstance")
    if not group or not instance:
        return None
    siblings = await deps.tellescope.find_all(
        "form_responses", {"groupInstance": instance, "enduserId": response.get("enduserId")}
    )
    siblings = [s for s in siblings if s.get("id") != response.get("id")]
    return group if all(s.get("submittedAt") for s in siblings) else None


async def _tickets(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    record = item.record
    if not newly_set(record, item.previous, "closedAt"):
        return RecordMapping(ignored="ticket not newly closed")
    if not record.get("automationStepId") or not record.get("enduserId"):
        return RecordMapping(ignored="closed ticket not created by a journey step")
    signal = TicketClosed(
        ticketId=record["id"],
        automationStepId=record["automationStepId"],
        closedForReason=record.get("closedForReason") or None,
    )
    return RecordMapping(
        signals=[
            PendingSignal("ticket_closed", signal, record["enduserId"], record["automationStepId"])
        ]
    )


async def _messages(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    record = item.record
    channel = MESSAGE_CHANNELS[item.model]
    if item.kind != "create":
        if item.model == "chats":
            return RecordMapping(ignored="message updates produce no events")
        return _message_updates(item)
    if item.model == "chats":
        return await _chat(item, deps)
    if not record.get("inbound"):
        return RecordMapping(ignored=f"outbound {channel}")
    enduser_id = record.get("enduserId")
    if not enduser_id:
        return RecordMapping(ignored=f"inbound {channel} without an enduser")
    if channel == "SMS":
        context = JourneyContext(smsId=record["id"], twilioNumber=record.get("phoneNumber"))
        destination = record.get("phoneNumber")
    else:
        context = JourneyContext(emailId=record["id"])
        destination = record.get("to") or record.get("inboundEmailAddress")
    details = {"channel": channel, "destination": destination}
    mapping = _incoming(item, enduser_id, channel, context, details)
    if channel == "SMS":
        replied = await _replied_template(record, deps)
        mapping.events.append(
            item.event(
                "SMS Reply",
                enduser_id,
                journeyContext=context,
                details={**details, "repliedTemplateIds": [replied] if replied else []},
            )
        )
    return mapping


def _incoming(
    item: WebhookRecord,
    enduser_id: str,
    channel: str,
    context: JourneyContext,
    details: dict[str, Any],
) -> RecordMapping:
    signal = IncomingMessage(channel=channel, messageId=item.record["id"])
    return RecordMapping(
        signals=[PendingSignal("incoming_message", signal, enduser_id)],
        events=[
            item.event("Incoming Message", enduser_id, journeyContext=context, details=details)
        ],
    )


async def _replied_template(sms: Record, deps: TriggerDeps) -> str | None:
    """The template of the latest outbound SMS to the enduser before this reply."""
    sent = await deps.tellescope.list(
        "sms_messages", {"enduserId": sms["enduserId"], "inbound": False}, limit=5
    )
    before = [s for s in sent if (s.get("createdAt") or "") <= (sms.get("createdAt") or "~")]
    return (before[0] if before else {}).get("templateId")


async def _chat(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    record = item.record
    room_id = record.get("roomId")
    room = None  # read from Tellescope: `relatedRecords` is not covered by the integrity hash
    if room_id:
        try:
            room = await deps.tellescope.get("chat_rooms", room_id)
        except TellescopeRejected:
            room = None
    endusers = list((room or {}).get("enduserIds") or [])
    sender = record.get("senderId")
    context = JourneyContext(chatId=record["id"], chatRoomId=room_id)
    if sender and (sender in endusers or sender == record.get("enduserId")):
        return _incoming(item, sender, "Chat", context, {"channel": "Chat"})
    if record.get("isAutoreply") or record.get("autoreply"):
        return RecordMapping(ignored="chat autoreply")
    if not endusers:
        return RecordMapping(ignored="chat in a room without endusers")
    await stamp_outbound_chat(deps.tellescope, endusers, record)
    return RecordMapping(
        events=[item.event("Outbound Chat Sent", e, journeyContext=context) for e in endusers]
    )


async def _calendar_events(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    record = item.record
    transitions = appointment_transitions(record, item.previous)
    attendees = [
        a["id"]
        for a in record.get("attendees") or []
        if a.get("type", "enduser") == "enduser" and a.get("id")
    ]
    if not transitions or not attendees:
        return RecordMapping(ignored="no appointment event for an enduser")
    context = JourneyContext(calendarEventId=record["id"])
    return RecordMapping(
        events=[
            item.event(event_type, enduser_id, journeyContext=context, details=details)
            for event_type, details in transitions.items()
            for enduser_id in attendees
        ]
    )


async def _purchases(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    record = item.record
    enduser_id = record.get("enduserId")
    context = JourneyContext(purchaseId=record.get("id"))
    if not enduser_id:
        return RecordMapping(ignored="purchase without an enduser")
    if item.previous is None:
        return RecordMapping(
            events=[item.event("Purchase Made", enduser_id, journeyContext=context)]
        )
    if newly_set(record, item.previous, "refundedAmount"):
        return RecordMapping(
            events=[item.event("Refund Issued", enduser_id, journeyContext=context)]
        )
    return RecordMapping(ignored="purchase update without a refund")


async def _orders(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    record, previous = item.record, item.previous
    enduser_id = record.get("enduserId")
    if not enduser_id:
        return RecordMapping(ignored="order without an enduser")
    context = JourneyContext(orderId=record.get("id"))
    events = []
    if previous is None:
        events.append(item.event("Order Created", enduser_id, journeyContext=context))
    if previous is None or record.get("status") != previous.get("status"):
        events.append(item.event("Order Status Equals", enduser_id, journeyContext=context))
    return RecordMapping(events=events, ignored=None if events else "order status unchanged")


def _created_only(event_type: str, context_field: str | None):
    async def map_record(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
        enduser_id = item.record.get("enduserId")
        if item.previous is not None or not enduser_id:
            return RecordMapping(ignored=f"{item.model}: only creates with an enduser count")
        context = (
            JourneyContext(**{context_field: item.record.get("id")}) if context_field else None
        )
        extra = {"journeyContext": context} if context else {}
        return RecordMapping(events=[item.event(event_type, enduser_id, **extra)])

    return map_record


def _newly_true(record: Record, previous: Record | None, name: str) -> bool:
    """A flag (`isVoicemail`) is true now and was not before (a create: "before: unset")."""
    return bool(record.get(name)) and not (previous or {}).get(name)


# A voicemail was left when one of these is set (Tellescope API docs, PhoneCalls: `isVoicemail`
# alone is an unanswered inbound call).
VOICEMAIL_FIELDS = ("recordingURI", "transcription", "recordingDurationInSeconds")


async def _phone_calls(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    """Inbound calls: `isVoicemail` newly true -> Missed Call; a recording, transcription or
    recording duration newly present on a voicemail -> Left Voicemail (docs/semantics.md §9.3)."""
    record, previous = item.record, item.previous
    enduser_id = record.get("enduserId")
    if not record.get("inbound") or not enduser_id:
        return RecordMapping(ignored="phone_calls: only inbound calls of an enduser count")
    context = JourneyContext(phoneCallId=record["id"])
    details = {"destination": record.get("to")}
    events = []
    if _newly_true(record, previous, "isVoicemail"):
        events.append(
            item.event("Missed Call", enduser_id, journeyContext=context, details=details)
        )
    left = any(is_set(record.get(f)) for f in VOICEMAIL_FIELDS)
    left_before = previous is not None and any(is_set(previous.get(f)) for f in VOICEMAIL_FIELDS)
    if record.get("isVoicemail") and left and not left_before:
        events.append(
            item.event("Left Voicemail", enduser_id, journeyContext=context, details=details)
        )
    return RecordMapping(events=events, ignored=None if events else "no missed call or voicemail")


async def _observations(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    """A new vital (enduser_observations create) -> Vital Update, unless created with
    `dontTrigger` (Tellescope API docs, EnduserObservations)."""
    record = item.record
    enduser_id = record.get("enduserId")
    if item.previous is not None or not enduser_id:
        return RecordMapping(ignored="enduser_observations: only creates with an enduser count")
    if record.get("dontTrigger"):
        return RecordMapping(ignored="observation created with dontTrigger")
    context = JourneyContext(observationId=record["id"])
    return RecordMapping(events=[item.event("Vital Update", enduser_id, journeyContext=context)])


async def _database_records(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    """A new database record -> Database Entry Added for the enduser it belongs to (its
    `enduserId`, else its `creator` when that is an enduser: a creator that is a user is no
    enduser, and the event is then ignored as for an unknown enduser)."""
    record = item.record
    if item.previous is not None:
        return RecordMapping(ignored="database_records: only creates count")
    enduser_id = record.get("enduserId") or record.get("creator")
    if not enduser_id:
        return RecordMapping(ignored="database record without an enduser")
    context = JourneyContext(
        databaseRecordId=record["id"], databaseRecordCreator=record.get("creator") or None
    )
    return RecordMapping(
        events=[item.event("Database Entry Added", enduser_id, journeyContext=context)]
    )


# Message delivery outcomes, on updates of outbound emails and SMS (docs/semantics.md §9.3,
# docs/decisions.md D20): the field newly set on the read-back record, per event.
MESSAGE_UPDATE_EVENTS = {
    "Message Opened": ("openedAt",),
    "Message Link Clicked": ("linkClickedAt", "clickedAt"),
    "Message Delivery Failure": ("deliveryFailedAt", "failedAt", "bouncedAt"),
}
FAILED_DELIVERY_STATUSES = {"failed", "undelivered", "bounced", "dropped"}


def _message_updates(item: WebhookRecord) -> RecordMapping:
    record, previous = item.record, item.previous
    enduser_id = record.get("enduserId")
    if record.get("inbound") or not enduser_id:
        return RecordMapping(ignored="message updates produce no events")
    found = [
        event_type
        for event_type, names in MESSAGE_UPDATE_EVENTS.items()
        if any(newly_set(record, previous, n) for n in names)
    ]
    status = str(record.get("deliveryStatus") or "").lower()
    if (
        "Message Delivery Failure" not in found
        and status in FAILED_DELIVERY_STATUSES
        and status != str((previous or {}).get("deliveryStatus") or "").lower()
    ):
        found.append("Message Delivery Failure")
    if not found:
        return RecordMapping(ignored="message updates produce no events")
    if item.model == "sms_messages":
        context = JourneyContext(smsId=record["id"], templateId=record.get("templateId"))
    else:
        context = JourneyContext(emailId=record["id"], templateId=record.get("templateId"))
    channel = MESSAGE_CHANNELS[item.model]
    return RecordMapping(
        events=[
            item.event(t, enduser_id, journeyContext=context, details={"channel": channel})
            for t in found
        ]
    )


MAPPERS = {
    "endusers": _endusers,
    "form_responses": _form_responses,
    "tickets": _tickets,
    "sms_messages": _messages,
    "emails": _messages,
    "chats": _messages,
    "calendar_events": _calendar_events,
    "purchases": _purchases,
    "enduser_orders": _orders,
    "enduser_medications": _created_only("Medication Added", "medicationId"),
    "enduser_problems": _created_only("Problem Created", None),
    "phone_calls": _phone_calls,
    "enduser_observations": _observations,
    "database_records": _database_records,
}


def webhook_records(payload: Mapping[str, Any]) -> list[WebhookRecord]:
    """The body's records as the intake takes them: each one's id only (`record` is `{"id": id}`
    until read back), with the unsigned before-state and update of `updates[i]`."""
    model, kind = str(payload.get("model") or ""), str(payload.get("type") or "")
    updates = payload.get("updates")
    updates = updates if isinstance(updates, list) else []  # not covered by the integrity hash
    timestamp = str(payload.get("timestamp") or "")
    items = []
    records = payload.get("records")
    for index, record in enumerate(records if isinstance(records, list) else []):
        record = record if isinstance(record, dict) else {}
        change = updates[index] if kind == "update" and index < len(updates) else {}
        change = change if isinstance(change, dict) else {}
        previous = change.get("recordBeforeUpdate") if kind == "update" else None
        previous = previous if isinstance(previous, dict) else None
        before_known = not (kind == "update" and previous is None)
        if not before_known:
            previous = {}  # still an update (not a create), with nothing known before it
        items.append(
            WebhookRecord(
                model=model,
                kind=kind,
                record={"id": record.get("id")},
                previous=previous,
                update=change["update"] if isinstance(change.get("update"), dict) else None,
                timestamp=timestamp,
                occurredAt=_occurred(timestamp),
                beforeKnown=before_known,
                claimedUpdatedAt=record.get("updatedAt"),
            )
        )
    return items


def wanted_records(items: list[WebhookRecord]) -> list[Wanted]:
    """The records of a delivery that are read back: those a mapper takes, by id."""
    return [
        Wanted(item.record["id"], item.claimedUpdatedAt)
        for item in items
        if item.kind != "delete"
        and item.model in MAPPERS
        and isinstance(item.record.get("id"), str)
        and item.record["id"]
    ]


def read_ahead(payload: Mapping[str, Any], source: RecordSource) -> ReadAhead:
    """Start reading a verified delivery's records back now (`ReadAhead`): the receiver writes
    its claim meanwhile, then hands this to `process_webhook` as its `source`."""
    items = webhook_records(payload)
    return ReadAhead(source, items[0].model if items else "", wanted_records(items))


async def read_back(
    items: list[WebhookRecord], source: RecordSource
) -> tuple[dict[str, Record], str | None]:
    """The records of one delivery as Tellescope holds them (one read, of the model the body
    names), and why none could be read when the model cannot be read back."""
    wanted = wanted_records(items)
    if not wanted:
        return {}, None
    try:
        return await source.read(items[0].model, wanted), None
    except NotReadable as error:
        return {}, str(error)


def _stale_create(item: WebhookRecord) -> bool:
    created = _moment(item.record.get("createdAt"))
    if item.kind != "create" or created is None:
        return False
    return created < item.occurredAt - CREATE_WINDOW


def _moment(value: Any) -> datetime | None:
    return parse_iso(value) if isinstance(value, str) else None


async def map_webhook(
    payload: Mapping[str, Any], deps: TriggerDeps, source: RecordSource | None = None
) -> list[tuple[WebhookRecord, RecordMapping]]:
    """Each record of the webhook, read back from Tellescope (`source`, by default
    `TellescopeReadBack`), with the events and signals it produces (also reads Tellescope for
    SMS Reply templates, form-group completion and chat rooms; starts nothing; writes only
    `recentOutboundChatAt`)."""
    items = webhook_records(payload)
    found, unreadable = await read_back(items, source or TellescopeReadBack(deps.tellescope))
    mapped = []
    for item in items:
        record_id = item.record.get("id")
        if item.kind == "delete":
            mapping = RecordMapping(ignored="deletes produce no events")
        elif item.model not in MAPPERS:
            mapping = RecordMapping(ignored=f"model {item.model} produces no events")
        elif not isinstance(record_id, str) or not record_id:
            mapping = RecordMapping(ignored="record without an id")
        elif unreadable:
            mapping = RecordMapping(ignored=f"{unreadable}: ignored")
        elif record_id not in found:
            mapping = RecordMapping(
                ignored=f"not in Tellescope's {item.model}: ignored (records are read back by id)"
            )
        else:
            item = replace(item, record=found[record_id])
            mapping = await _map_read_back(item, deps)
        mapped.append((item, mapping))
    return mapped


async def _map_read_back(item: WebhookRecord, deps: TriggerDeps) -> RecordMapping:
    if is_trigger_origin(item.model, item.record):
        mapping = RecordMapping(ignored="made by a trigger action (no chaining)")
    elif not item.beforeKnown and item.model != "endusers":
        mapping = RecordMapping(ignored="update without recordBeforeUpdate: change unknown")
    elif _stale_create(item):
        mapping = RecordMapping(
            ignored=f"{item.model} created long before this delivery: not a create"
        )
    else:
        try:
            mapping = await MAPPERS[item.model](item, deps)
        except UNREADABLE as error:
            mapping = RecordMapping(ignored=_unreadable(item, error))
    return mapping


# What reading a record whose fields have types Tellescope never sends raises (a list where an
# id belongs, a string where a list does): such a record is ignored with the reason, rather than
# failing the whole delivery with a 500 that Tellescope would redeliver forever.
UNREADABLE = (TypeError, ValueError, AttributeError, LookupError)


def _unreadable(item: WebhookRecord, error: Exception) -> str:
    log.warning("unreadable %s record %s ignored", item.model, item.record.get("id"), exc_info=True)
    detail = str(error).splitlines()[0][:200] if str(error) else ""
    return f"unreadable {item.model} record ({type(error).__name__}: {detail})"


# --- delivery -----------------------------------------------------------------------------------


class _Journeys:
    """Readable journey ids: every deployed one (current versions), and by Tellescope step id
    (every stored version, so enrollments on older versions are found too)."""

    def __init__(self, deps: TriggerDeps) -> None:
        self.deps = deps
        self._deployed: list[str] | None = None

    def deployed(self) -> list[str]:
        if self._deployed is None:
            self._deployed = sorted(head.journey_id for head in self.deps.plans.current_heads())
        return self._deployed

    def for_step(self, tellescope_step_id: str) -> str | None:
        return journey_for_step(self.deps.plans, tellescope_step_id)


async def _signal(deps: TriggerDeps, workflow_id: str, name: str, payload: BaseModel) -> str | None:
    """Signal a running enrollment; the reason when there is none."""
    try:
        await deps.client.get_workflow_handle(workflow_id).signal(name, payload)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return "no running enrollment: ignored (docs/decisions.md D8)"
        raise
    return None


async def _deliver(
    deps: TriggerDeps, journeys: _Journeys, pending: PendingSignal, report: IntakeReport
) -> None:
    if pending.automationStepId is not None:
        journey = journeys.for_step(pending.automationStepId)
        if journey is None:
            report.ignored.append(
                IgnoredRecord(
                    model=report.model,
                    recordId=getattr(pending.payload, "formResponseId", None)
                    or getattr(pending.payload, "ticketId", None),
                    reason=f"step {pending.automationStepId} is in no deployed journey",
                )
            )
            return
        workflow_id = enrollment_workflow_id(journey, pending.enduserId)
        reason = await _signal(deps, workflow_id, pending.signal, pending.payload)
        if reason:
            log.info("%s for %s ignored: %s", pending.signal, workflow_id, reason)
        report.signals.append(
            SignalSent(
                workflowId=workflow_id,
                signal=pending.signal,
                delivered=reason is None,
                reason=reason or "",
            )
        )
        return
    targets = [enrollment_workflow_id(j, pending.enduserId) for j in journeys.deployed()]
    reasons = await asyncio.gather(
        *(_signal(deps, t, pending.signal, pending.payload) for t in targets)
    )
    for workflow_id, reason in zip(targets, reasons, strict=True):
        if reason is None:
            report.signals.append(
                SignalSent(workflowId=workflow_id, signal=pending.signal, delivered=True)
            )


async def process_webhook(
    payload: dict, deps: TriggerDeps, source: RecordSource | None = None
) -> IntakeReport:
    """Map a verified record webhook to enrollment signals and trigger events, deliver the
    signals and dispatch the events; the report says what was signalled, which events were
    dispatched (and what fired), and what was ignored and why. `source` reads the records back
    (by default from `deps.tellescope`; the receiver passes its `read_ahead`)."""
    report = IntakeReport(
        model=str(payload.get("model") or ""), type=str(payload.get("type") or "")
    )
    if report.model == "journeys":
        await _journeys_deleted(payload, deps, report)
        return report
    journeys = _Journeys(deps)
    grace = _Grace(deps.membership_grace)  # one per delivery, however many keys it adds
    active: list[ActiveTrigger] | None = None  # read after the signals went out
    endusers: dict[str, Record | None] = {}
    for item, mapping in await map_webhook(payload, deps, source):
        if mapping.ignored and not mapping.events and not mapping.signals:
            report.ignored.append(
                IgnoredRecord(
                    model=item.model, recordId=item.record.get("id"), reason=mapping.ignored
                )
            )
            continue
        for pending in mapping.signals:
            await _deliver(deps, journeys, pending, report)
        if mapping.joined or mapping.left:
            await _memberships(deps, item, mapping, report, grace)
        for event in mapping.events:
            if active is None:
                active = active_triggers(deps.plans)
            if not candidates(event, active):
                report.dispatched.append(await dispatch_event(event, deps, triggers=active))
                continue
            enduser = mapping.enduser
            if enduser is None:
                if event.enduserId not in endusers:
                    endusers[event.enduserId] = await _read_enduser(deps, event.enduserId)
                enduser = endusers[event.enduserId]
            if enduser is None:
                report.ignored.append(
                    IgnoredRecord(
                        model=item.model,
                        recordId=item.record.get("id"),
                        reason=f"{event.type}: unknown enduser {event.enduserId}",
                    )
                )
                continue
            report.dispatched.append(
                await dispatch_event(event, deps, enduser=enduser, triggers=active)
            )
    return report


# An enduser.journeys key added while the journey ran for the enduser, or up to this long after
# its last run ended (the write is older than its webhook), is the engine's own membership write
# (the workflow's, or the add endpoint's), not a client's add: nothing starts.
OWN_WRITE_SLACK = timedelta(seconds=30)


async def _memberships(
    deps: TriggerDeps,
    item: WebhookRecord,
    mapping: RecordMapping,
    report: IntakeReport,
    grace: _Grace,
) -> None:
    """A client wrote `enduser.journeys` (docs/semantics.md §3.2, §3.5): an added key of a
    deployed journey starts its enrollment (never a restart; the state is the value written), a
    removed key removes it (cancel reason 0, Removed by User). The engine's own writes come
    back as webhooks too: an add while the enrollment runs (or just ran, OWN_WRITE_SLACK) is a
    no-op, and a removal of an enrollment that is not running is one."""
    heads = {head.tellescope_journey_id: head for head in deps.plans.current_heads()}
    enduser_id = item.record["id"]
    for key, state in mapping.joined.items():
        head = heads.get(key)
        if head is None:
            continue  # not a journey deployed here
        change = MembershipChange(
            journeyId=head.journey_id, enduserId=enduser_id, change="added", outcome="started"
        )
        workflow_id = enrollment_workflow_id(head.journey_id, enduser_id)
        own = await _own_write(deps, workflow_id, item.occurredAt, grace)
        if own is not None:
            change.outcome, change.reason = "alreadyEnrolled", own
        elif key not in ((await _read_enduser(deps, enduser_id)) or {}).get("journeys", {}):
            change.outcome = "notEnrolled"
            change.reason = "the key is gone (removed, or the add that wrote it failed to start)"
        else:
            [outcome] = await enroll_many(
                deps.client,
                head,
                [enduser_id],
                task_queue=deps.task_queue,
                restart=False,
                source="enduser.journeys",
                initial_state=state,
                plan=deps.plans.enrollment_plan(head.journey_id, head.version),
            )
            change.outcome = outcome.status
            change.reason = outcome.message or ""
        report.memberships.append(change)
    for key in mapping.left:
        head = heads.get(key)
        if head is None:
            continue
        removed = await remove_many(
            deps.client,
            head.journey_id,
            [enduser_id],
            RemoveRequest(cancelReason=int(CancelReason.REMOVED_BY_USER)),
        )
        report.memberships.append(
            MembershipChange(
                journeyId=head.journey_id,
                enduserId=enduser_id,
                change="removed",
                outcome="removed" if removed[enduser_id] else "notEnrolled",
            )
        )


GRACE_POLL_SECONDS = 0.1  # how often a key with no run looks for the run during the grace


class _Grace:
    """The membership grace of one delivery: it starts when its first key with no run is looked
    at, and every key of the delivery waits within it (a bulk update adding 100 keys waits
    `membership_grace` once, not 100 times)."""

    def __init__(self, length: timedelta) -> None:
        self.length = length.total_seconds()
        self.deadline: float | None = None

    def left(self) -> float:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.length
        return self.deadline - time.monotonic()


async def _own_write(
    deps: TriggerDeps, workflow_id: str, moment: datetime, grace: _Grace
) -> str | None:
    """Why an added key is the engine's own write, or None when it is a client's add. The add
    endpoints write the key before they start the run (docs/decisions.md D46), so its webhook
    can arrive before the run exists: a key with no run is looked at again until the
    delivery's grace (`deps.membership_grace`) ends, and a run that started meanwhile is the
    one that wrote it."""
    if await _ran_recently(deps, workflow_id, moment):
        return "running, or ran when the key was written: the engine's own write"
    while (left := grace.left()) > 0:
        await asyncio.sleep(min(GRACE_POLL_SECONDS, left))
        if await _ran_recently(deps, workflow_id, moment):
            return "started just after the key was written: the add endpoint's own write"
    return None


async def _ran_recently(deps: TriggerDeps, workflow_id: str, moment: datetime) -> bool:
    """Whether the enrollment runs, or its last run ended less than OWN_WRITE_SLACK before
    `moment` (the webhook's signed timestamp)."""
    request = DescribeWorkflowExecutionRequest(
        namespace=deps.client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    try:
        response = await deps.client.workflow_service.describe_workflow_execution(
            request, retry=True
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    info = response.workflow_execution_info
    if info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING:
        return True
    if not info.HasField("close_time"):
        return False
    return moment <= info.close_time.ToDatetime(tzinfo=UTC) + OWN_WRITE_SLACK


# Who deleted a journey in Tellescope: a deleted record cannot be read back, and the body's
# `updatedBy` is not covered by the integrity hash.
DELETED_IN_TELLESCOPE = "tellescope (journey deleted)"


async def _journeys_deleted(payload: Mapping[str, Any], deps: TriggerDeps, report: IntakeReport):
    """Tellescope deleted a journey record (docs/semantics.md §2.2). A deleted record cannot be
    read back, so the delivery is taken as fact only when its id is the Tellescope journey id of
    a journey deployed here AND reading it back answers 404; then the journey is deleted here
    as by `DELETE /v1/journeys/{id}` (the record is left alone: it is gone). docs/decisions.md
    D16."""
    ids = {head.tellescope_journey_id: head.journey_id for head in deps.plans.current_heads()}
    for item in webhook_records(payload):
        record_id = item.record.get("id")
        if item.kind != "delete":
            reason = "journey creates and updates produce no events"
        elif not isinstance(record_id, str) or record_id not in ids:
            reason = "not the Tellescope record of a deployed journey: ignored"
        else:
            try:
                await deps.tellescope.get("journeys", record_id)
                reason = "still in Tellescope's journeys: not deleted, ignored"
            except TellescopeRejected as error:
                if error.status != 404:
                    raise
                try:
                    deleted = await delete_journey(
                        deps.plans,
                        ids[record_id],
                        by=DELETED_IN_TELLESCOPE,
                        client=deps.client,
                        ledger=deps.ledger,
                        tellescope=deps.tellescope,
                        task_queue=deps.task_queue,
                        delete_record=False,
                    )
                except NotFound:
                    reason = "deleted here meanwhile: ignored"
                else:
                    report.deletedJourneys.append(deleted.journeyId)
                    continue
        report.ignored.append(IgnoredRecord(model=item.model, recordId=record_id, reason=reason))


async def _read_enduser(deps: TriggerDeps, enduser_id: str) -> Record | None:
    """The enduser once per webhook (all its events are evaluated against the same state)."""
    try:
        return await deps.tellescope.get("endusers", enduser_id)
    except TellescopeRejected as error:
        if error.status == 404:
            return None
        raise


__all__ = ["RecordMapping", "WebhookRecord", "map_webhook", "process_webhook", "webhook_records"]
