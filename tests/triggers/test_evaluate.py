"""Table tests for the pure evaluation pipeline (docs/semantics.md §9.2, §9.3,
docs/decisions.md D7): every trigger event type's filters, enduserCondition, journey scope,
oncePerEnduser, availability windows and the throttle. Each row says whether the trigger fires and,
when not, at which stage it stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

import triggers.evaluate
from models.triggers import TRIGGER_EVENT_TYPES, AutomationTrigger
from triggers.evaluate import evaluate
from triggers.events import IncomingEvent
from triggers.filters import FILTERS
from triggers.models import ActiveTrigger, trigger_record_id

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday, 10:00 in New York
FORM_A, FORM_B = "64f0000000000000000000aa", "64f0000000000000000000bb"
FIELD_A, FIELD_B = "64f0000000000000000000fa", "64f0000000000000000000fb"
JOURNEY_TS = "64f0000000000000000000cc"  # Tellescope id of the scoping journey


def trigger(event: dict, **extra: Any) -> ActiveTrigger:
    definition = AutomationTrigger.model_validate(
        {
            "id": extra.pop("id", "t1"),
            "title": "test trigger",
            "status": extra.pop("status", "Active"),
            "event": event,
            "action": extra.pop("action", {"type": "Add Tags", "info": {"tags": ["x"]}}),
            **extra,
        }
    )
    scoped = definition.journeyId is not None
    return ActiveTrigger(
        trigger=definition,
        definedIn="care",
        planVersion="v1",
        scopeJourneyId="care" if scoped else None,
        scopeTellescopeJourneyId=JOURNEY_TS if scoped else None,
    )


def event(kind: str, record: dict | None = None, **extra: Any) -> IncomingEvent:
    return IncomingEvent(
        type=kind,
        eventId="e1",
        enduserId="u1",
        record=record or {},
        occurredAt=NOW,
        **extra,
    )


def decide(trig: ActiveTrigger, ev: IncomingEvent, enduser: dict | None = None, **kw: Any):
    evaluation = evaluate(ev, [trig], enduser=enduser or {"id": "u1"}, now=NOW, **kw)
    assert len(evaluation.decisions) == 1
    return evaluation.decisions[0]


def response(form_id: str, answers: dict[str, str], **extra: Any) -> dict:
    return {
        "id": "fr1",
        "formId": form_id,
        "enduserId": "u1",
        "submittedAt": "2026-03-04T14:00:00.000Z",
        "responses": [
            {"fieldId": k, "fieldTitle": k, "answer": {"type": "string", "value": v}}
            for k, v in answers.items()
        ],
        **extra,
    }


ENDUSER_BEFORE = {"id": "u1", "fname": "Pat", "tags": ["a"], "fields": {"Number": 2}}
ATTENDEE = [{"type": "enduser", "id": "u1"}]


def appt(**fields: Any) -> dict:
    return {
        "id": "ce1",
        "title": "Office visit",
        "startTimeInMS": 1000,
        "attendees": ATTENDEE,
        **fields,
    }


# (name, trigger event, event type, record, previous, extra event kwargs, fires)
ROWS: list[tuple] = [
    # Field Equals: string/number coercion, $exists, create and update, untouched field
    (
        "field equals number 1 ~ '1'",
        {"type": "Field Equals", "info": {"field": "Number", "value": "1"}},
        "Field Equals",
        {"id": "u1", "fields": {"Number": 1}},
        None,
        {},
        True,
    ),
    (
        "field equals string '1'",
        {"type": "Field Equals", "info": {"field": "Number", "value": "1"}},
        "Field Equals",
        {"id": "u1", "fields": {"Number": "1"}},
        None,
        {},
        True,
    ),
    (
        "field equals 2 != '1'",
        {"type": "Field Equals", "info": {"field": "Number", "value": "1"}},
        "Field Equals",
        {"id": "u1", "fields": {"Number": 2}},
        None,
        {},
        False,
    ),
    (
        "field equals $exists built-in",
        {"type": "Field Equals", "info": {"field": "fname", "value": "$exists"}},
        "Field Equals",
        {"id": "u1", "fname": "Pat"},
        None,
        {},
        True,
    ),
    (
        "field equals $exists missing",
        {"type": "Field Equals", "info": {"field": "mname", "value": "$exists"}},
        "Field Equals",
        {"id": "u1", "fname": "Pat"},
        None,
        {},
        False,
    ),
    (
        "field equals on update that set it",
        {"type": "Field Equals", "info": {"field": "Number", "value": "1"}},
        "Field Equals",
        {"id": "u1", "fields": {"Number": 1}},
        ENDUSER_BEFORE,
        {},
        True,
    ),
    (
        "field equals, untouched by update",
        {"type": "Field Equals", "info": {"field": "fname", "value": "Pat"}},
        "Field Equals",
        {**ENDUSER_BEFORE, "lname": "New"},
        ENDUSER_BEFORE,
        {"update": {"lname": "New"}},
        False,
    ),
    (
        "field equals, rewritten same value",
        {"type": "Field Equals", "info": {"field": "fname", "value": "Pat"}},
        "Field Equals",
        ENDUSER_BEFORE,
        ENDUSER_BEFORE,
        {"update": {"fname": "Pat"}},
        True,
    ),
    # Fields Changed: update only, every listed field changed
    (
        "fields changed on create",
        {"type": "Fields Changed", "info": {"fields": ["fname"]}},
        "Fields Changed",
        {"id": "u1", "fname": "Pat"},
        None,
        {},
        False,
    ),
    (
        "fields changed fname",
        {"type": "Fields Changed", "info": {"fields": ["fname"]}},
        "Fields Changed",
        {**ENDUSER_BEFORE, "fname": "Sam"},
        ENDUSER_BEFORE,
        {},
        True,
    ),
    (
        "fields changed, one unchanged",
        {"type": "Fields Changed", "info": {"fields": ["fname", "Number"]}},
        "Fields Changed",
        {**ENDUSER_BEFORE, "fname": "Sam"},
        ENDUSER_BEFORE,
        {},
        False,
    ),
    (
        "fields changed custom + built-in",
        {"type": "Fields Changed", "info": {"fields": ["fname", "Number"]}},
        "Fields Changed",
        {**ENDUSER_BEFORE, "fname": "Sam", "fields": {"Number": 3}},
        ENDUSER_BEFORE,
        {},
        True,
    ),
    (
        "fields changed insurance.payerName",
        {"type": "Fields Changed", "info": {"fields": ["insurance.payerName"]}},
        "Fields Changed",
        {**ENDUSER_BEFORE, "insurance": {"payerName": "Aetna"}},
        ENDUSER_BEFORE,
        {},
        True,
    ),
    # Tag Added: newly present after an update
    (
        "tag added",
        {"type": "Tag Added", "info": {"tag": "b"}},
        "Tag Added",
        {**ENDUSER_BEFORE, "tags": ["a", "b"]},
        ENDUSER_BEFORE,
        {},
        True,
    ),
    (
        "tag already there",
        {"type": "Tag Added", "info": {"tag": "a"}},
        "Tag Added",
        {**ENDUSER_BEFORE, "tags": ["a", "b"]},
        ENDUSER_BEFORE,
        {},
        False,
    ),
    (
        "tag not added",
        {"type": "Tag Added", "info": {"tag": "c"}},
        "Tag Added",
        {**ENDUSER_BEFORE, "tags": ["a", "b"]},
        ENDUSER_BEFORE,
        {},
        False,
    ),
    # Contact Created: entityTypes incl. "Default"
    (
        "contact created any",
        {"type": "Contact Created", "info": {}},
        "Contact Created",
        {"id": "u1"},
        None,
        {},
        True,
    ),
    (
        "contact created empty list",
        {"type": "Contact Created", "info": {"entityTypes": []}},
        "Contact Created",
        {"id": "u1", "customTypeId": "ct1"},
        None,
        {},
        True,
    ),
    (
        "contact created Default",
        {"type": "Contact Created", "info": {"entityTypes": ["Default"]}},
        "Contact Created",
        {"id": "u1"},
        None,
        {},
        True,
    ),
    (
        "contact created Default vs custom",
        {"type": "Contact Created", "info": {"entityTypes": ["Default"]}},
        "Contact Created",
        {"id": "u1", "customTypeId": "ct1"},
        None,
        {},
        False,
    ),
    (
        "contact created custom type",
        {"type": "Contact Created", "info": {"entityTypes": ["ct1", "Default"]}},
        "Contact Created",
        {"id": "u1", "customTypeId": "ct1"},
        None,
        {},
        True,
    ),
    # Form Submitted: formId / otherFormIds / conditions / conditionsByFormId
    (
        "form submitted primary",
        {"type": "Form Submitted", "info": {"formId": FORM_A}},
        "Form Submitted",
        response(FORM_A, {}),
        None,
        {},
        True,
    ),
    (
        "form submitted other form",
        {"type": "Form Submitted", "info": {"formId": FORM_A}},
        "Form Submitted",
        response(FORM_B, {}),
        None,
        {},
        False,
    ),
    (
        "form submitted otherFormIds",
        {"type": "Form Submitted", "info": {"formId": FORM_A, "otherFormIds": [FORM_B]}},
        "Form Submitted",
        response(FORM_B, {}),
        None,
        {},
        True,
    ),
    (
        "global conditions match",
        {
            "type": "Form Submitted",
            "info": {"formId": FORM_A},
            "conditions": {"$and": [{"condition": {FIELD_A: "yes"}}]},
        },
        "Form Submitted",
        response(FORM_A, {FIELD_A: "yes"}),
        None,
        {},
        True,
    ),
    (
        "global conditions fail",
        {
            "type": "Form Submitted",
            "info": {"formId": FORM_A},
            "conditions": {"$and": [{"condition": {FIELD_A: "yes"}}]},
        },
        "Form Submitted",
        response(FORM_A, {FIELD_A: "no"}),
        None,
        {},
        False,
    ),
    (
        "per-form conditions on secondary",
        {
            "type": "Form Submitted",
            "info": {
                "formId": FORM_A,
                "otherFormIds": [FORM_B],
                "conditionsByFormId": {FORM_B: {"$and": [{"condition": {FIELD_B: "ok"}}]}},
            },
        },
        "Form Submitted",
        response(FORM_B, {FIELD_B: "ok"}),
        None,
        {},
        True,
    ),
    (
        "per-form conditions of A never block B",
        {
            "type": "Form Submitted",
            "info": {
                "formId": FORM_A,
                "otherFormIds": [FORM_B],
                "conditionsByFormId": {FORM_A: {"$and": [{"condition": {FIELD_A: "strict"}}]}},
            },
        },
        "Form Submitted",
        response(FORM_B, {FIELD_B: "anything"}),
        None,
        {},
        True,
    ),
    (
        "per-form overrides global (global value)",
        {
            "type": "Form Submitted",
            "info": {
                "formId": FORM_A,
                "conditionsByFormId": {FORM_A: {"$and": [{"condition": {FIELD_A: "per-form"}}]}},
            },
            "conditions": {"$and": [{"condition": {FIELD_A: "global"}}]},
        },
        "Form Submitted",
        response(FORM_A, {FIELD_A: "global"}),
        None,
        {},
        False,
    ),
    (
        "per-form overrides global (per-form value)",
        {
            "type": "Form Submitted",
            "info": {
                "formId": FORM_A,
                "conditionsByFormId": {FORM_A: {"$and": [{"condition": {FIELD_A: "per-form"}}]}},
            },
            "conditions": {"$and": [{"condition": {FIELD_A: "global"}}]},
        },
        "Form Submitted",
        response(FORM_A, {FIELD_A: "per-form"}),
        None,
        {},
        True,
    ),
    (
        "submitterType user vs enduser",
        {"type": "Form Submitted", "info": {"formId": FORM_A, "submitterType": "user"}},
        "Form Submitted",
        response(FORM_A, {}, submittedBy="u1"),
        None,
        {},
        False,
    ),
    (
        "submitterType Anyone",
        {"type": "Form Submitted", "info": {"formId": FORM_A, "submitterType": "Anyone"}},
        "Form Submitted",
        response(FORM_A, {}, submittedBy="staff"),
        None,
        {},
        True,
    ),
    (
        "form started formIds",
        {"type": "Form Started", "info": {"formIds": [FORM_A]}},
        "Form Started",
        {"id": "fr1", "formId": FORM_A},
        None,
        {},
        True,
    ),
    (
        "form group completed",
        {"type": "Form Group Completed", "info": {"groupId": "g1"}},
        "Form Group Completed",
        {"id": "fr1"},
        None,
        {"details": {"groupId": "g1"}},
        True,
    ),
    (
        "form group completed other group",
        {"type": "Form Group Completed", "info": {"groupId": "g1"}},
        "Form Group Completed",
        {"id": "fr1"},
        None,
        {"details": {"groupId": "g2"}},
        False,
    ),
    # Appointments
    (
        "appointment created title",
        {"type": "Appointment Created", "info": {"titles": ["Office visit"]}},
        "Appointment Created",
        appt(),
        None,
        {},
        True,
    ),
    (
        "appointment created excluded template",
        {"type": "Appointment Created", "info": {"excludeTemplateIds": ["tp"]}},
        "Appointment Created",
        appt(templateId="tp"),
        None,
        {},
        False,
    ),
    (
        "appointment completed on create",
        {"type": "Appointment Completed", "info": {}},
        "Appointment Completed",
        appt(completedAt="2026-03-04T14:00:00Z"),
        None,
        {},
        True,
    ),
    (
        "appointment completed but cancelled",
        {"type": "Appointment Completed", "info": {}},
        "Appointment Completed",
        appt(completedAt="x", cancelledAt="x"),
        None,
        {},
        False,
    ),
    (
        "appointment completed but no-showed",
        {"type": "Appointment Completed", "info": {}},
        "Appointment Completed",
        appt(completedAt="x", noShowedAt="x"),
        appt(noShowedAt="x"),
        {},
        False,
    ),
    (
        "appointment completed template",
        {"type": "Appointment Completed", "info": {"templateIds": ["tp"]}},
        "Appointment Completed",
        appt(completedAt="x", templateId="tp"),
        appt(templateId="tp"),
        {},
        True,
    ),
    (
        "appointment cancelled by enduser",
        {"type": "Appointment Cancelled", "info": {"by": "enduser"}},
        "Appointment Cancelled",
        appt(cancelledAt="x", statusChangeSource={"source": "enduser", "identifier": "u1"}),
        appt(),
        {},
        True,
    ),
    (
        "appointment cancelled by user, wants enduser",
        {"type": "Appointment Cancelled", "info": {"by": "enduser"}},
        "Appointment Cancelled",
        appt(cancelledAt="x", statusChangeSource={"source": "user", "identifier": "s"}),
        appt(),
        {},
        False,
    ),
    (
        "appointment cancelled reason",
        {"type": "Appointment Cancelled", "info": {"cancelReasons": ["Sick"]}},
        "Appointment Cancelled",
        appt(cancelledAt="x", cancelReason="Busy"),
        appt(),
        {},
        False,
    ),
    (
        "appointment rescheduledAt",
        {"type": "Appointment Rescheduled", "info": {"titles": ["Office visit"]}},
        "Appointment Rescheduled",
        appt(rescheduledAt="x"),
        appt(),
        {},
        True,
    ),
    (
        "manual reschedule without detect",
        {"type": "Appointment Rescheduled", "info": {}},
        "Appointment Rescheduled",
        appt(startTimeInMS=2000),
        appt(),
        {},
        False,
    ),
    (
        "manual reschedule with detect",
        {"type": "Appointment Rescheduled", "info": {"detectManualReschedules": True}},
        "Appointment Rescheduled",
        appt(startTimeInMS=2000),
        appt(),
        {},
        True,
    ),
    (
        "manual reschedule same time",
        {"type": "Appointment Rescheduled", "info": {"detectManualReschedules": True}},
        "Appointment Rescheduled",
        appt(durationInMinutes=60),
        appt(),
        {},
        False,
    ),
    (
        "manual reschedule of cancelled",
        {"type": "Appointment Rescheduled", "info": {"detectManualReschedules": True}},
        "Appointment Rescheduled",
        appt(startTimeInMS=2000, cancelledAt="x"),
        appt(cancelledAt="x"),
        {},
        False,
    ),
    (
        "manual reschedule already rescheduled",
        {"type": "Appointment Rescheduled", "info": {"detectManualReschedules": True}},
        "Appointment Rescheduled",
        appt(startTimeInMS=2000, rescheduledAt="x"),
        appt(rescheduledAt="x"),
        {},
        False,
    ),
    (
        "appointment no-showed",
        {"type": "Appointment No-Showed", "info": {"titles": ["Office visit"]}},
        "Appointment No-Showed",
        appt(noShowedAt="x"),
        appt(),
        {},
        True,
    ),
    # Medication Added
    (
        "medication any",
        {"type": "Medication Added", "info": {"titles": [], "protocols": []}},
        "Medication Added",
        {"id": "m1", "title": "Aspirin"},
        None,
        {},
        True,
    ),
    (
        "medication title",
        {"type": "Medication Added", "info": {"titles": ["Lisinopril"], "protocols": []}},
        "Medication Added",
        {"id": "m1", "title": "Aspirin"},
        None,
        {},
        False,
    ),
    (
        "medication title + protocol",
        {"type": "Medication Added", "info": {"titles": ["Metformin"], "protocols": ["Diabetes"]}},
        "Medication Added",
        {"id": "m1", "title": "Metformin", "protocol": "Diabetes"},
        None,
        {},
        True,
    ),
    (
        "medication protocol filter, no protocol",
        {"type": "Medication Added", "info": {"titles": [], "protocols": ["Weight Loss"]}},
        "Medication Added",
        {"id": "m1", "title": "Semaglutide"},
        None,
        {},
        False,
    ),
    (
        "medication titleCondition",
        {
            "type": "Medication Added",
            "info": {
                "titles": [],
                "protocols": [],
                "titleCondition": {"$and": [{"condition": {"title": {"$contains": "glutide"}}}]},
            },
        },
        "Medication Added",
        {"id": "m1", "title": "Semaglutide"},
        None,
        {},
        True,
    ),
    # Purchase Made
    (
        "purchase any",
        {"type": "Purchase Made", "info": {}},
        "Purchase Made",
        {"id": "p1", "title": "Basic Training Module"},
        None,
        {},
        True,
    ),
    (
        "purchase exact title",
        {"type": "Purchase Made", "info": {"titles": ["Premium Course Package"]}},
        "Purchase Made",
        {"id": "p1", "title": "Premium Course"},
        None,
        {},
        False,
    ),
    (
        "purchase product id",
        {"type": "Purchase Made", "info": {"productIds": ["prod2"]}},
        "Purchase Made",
        {"id": "p1", "title": "x", "productId": "prod2"},
        None,
        {},
        True,
    ),
    (
        "purchase partial, case-insensitive",
        {"type": "Purchase Made", "info": {"titlePartialMatches": ["ANALYTICS"]}},
        "Purchase Made",
        {"id": "p1", "title": "Advanced Analytics Suite"},
        None,
        {},
        True,
    ),
    (
        "purchase partial no match",
        {"type": "Purchase Made", "info": {"titlePartialMatches": ["course"]}},
        "Purchase Made",
        {"id": "p1", "title": "Basic Training Module"},
        None,
        {},
        False,
    ),
    # Orders
    (
        "order created fill",
        {"type": "Order Created", "info": {"fills": ["refill"]}},
        "Order Created",
        {"id": "o1", "title": "Kit", "fill": "refill"},
        None,
        {},
        True,
    ),
    (
        "order created partial frequency",
        {"type": "Order Created", "info": {"partialFrequency": "month"}},
        "Order Created",
        {"id": "o1", "title": "Kit", "frequency": "Weekly"},
        None,
        {},
        False,
    ),
    (
        "order status equals",
        {"type": "Order Status Equals", "info": {"source": "Shop", "status": "Shipped"}},
        "Order Status Equals",
        {"id": "o1", "source": "Shop", "status": "Shipped", "title": "Kit"},
        {"id": "o1", "source": "Shop", "status": "Pending"},
        {},
        True,
    ),
    (
        "order status other source",
        {"type": "Order Status Equals", "info": {"source": "Shop", "status": "Shipped"}},
        "Order Status Equals",
        {"id": "o1", "source": "Other", "status": "Shipped"},
        None,
        {},
        False,
    ),
    (
        "order status titlePartialsAnd",
        {
            "type": "Order Status Equals",
            "info": {"source": "Shop", "titlePartialsAnd": ["kit", "blue"]},
        },
        "Order Status Equals",
        {"id": "o1", "source": "Shop", "status": "Shipped", "title": "Red Kit"},
        None,
        {},
        False,
    ),
    # Incoming Message / SMS Reply
    (
        "incoming message channel",
        {"type": "Incoming Message", "info": {"channels": ["SMS"]}},
        "Incoming Message",
        {"id": "s1", "message": "hi"},
        None,
        {"details": {"channel": "SMS"}},
        True,
    ),
    (
        "incoming message wrong channel",
        {"type": "Incoming Message", "info": {"channels": ["Email"]}},
        "Incoming Message",
        {"id": "s1", "message": "hi"},
        None,
        {"details": {"channel": "SMS"}},
        False,
    ),
    (
        "incoming message keyword",
        {"type": "Incoming Message", "info": {"keywords": ["refill"]}},
        "Incoming Message",
        {"id": "s1", "message": "Need a REFILL please"},
        None,
        {"details": {"channel": "SMS"}},
        True,
    ),
    (
        "incoming message keyword missing",
        {"type": "Incoming Message", "info": {"keywords": ["refill"]}},
        "Incoming Message",
        {"id": "s1", "message": "refilled already"},
        None,
        {"details": {"channel": "SMS"}},
        False,
    ),
    (
        "incoming message destination",
        {"type": "Incoming Message", "info": {"destinations": ["+15555550100"]}},
        "Incoming Message",
        {"id": "s1", "message": "x"},
        None,
        {"details": {"channel": "SMS", "destination": "+15555550100"}},
        True,
    ),
    (
        "sms reply template",
        {"type": "SMS Reply", "info": {"templateIds": ["tpl1"], "replyKeywords": ["yes"]}},
        "SMS Reply",
        {"id": "s1", "message": "Yes!"},
        None,
        {"details": {"repliedTemplateIds": ["tpl1"]}},
        True,
    ),
    (
        "sms reply other template",
        {"type": "SMS Reply", "info": {"templateIds": ["tpl1"]}},
        "SMS Reply",
        {"id": "s1", "message": "Yes"},
        None,
        {"details": {"repliedTemplateIds": ["tpl2"]}},
        False,
    ),
    (
        "sms reply keyword",
        {"type": "SMS Reply", "info": {"templateIds": [], "replyKeywords": ["stop"]}},
        "SMS Reply",
        {"id": "s1", "message": "yes"},
        None,
        {"details": {"repliedTemplateIds": []}},
        False,
    ),
    # Others
    (
        "subscription product",
        {"type": "Subscription Ended", "info": {"productIds": ["a"]}},
        "Subscription Ended",
        {"id": "s", "productIds": ["b"]},
        None,
        {},
        False,
    ),
    (
        "problem created title",
        {"type": "Problem Created", "info": {"titles": ["Asthma"]}},
        "Problem Created",
        {"id": "p", "title": "Asthma"},
        None,
        {},
        True,
    ),
    (
        "message opened template",
        {"type": "Message Opened", "info": {"templateIds": ["t"]}},
        "Message Opened",
        {"id": "m", "templateId": "t"},
        None,
        {},
        True,
    ),
    (
        "database entry",
        {"type": "Database Entry Added", "info": {"databaseId": "db1"}},
        "Database Entry Added",
        {"id": "r", "databaseId": "db2"},
        None,
        {},
        False,
    ),
    (
        "file added source",
        {"type": "File Added", "info": {"source": "Portal"}},
        "File Added",
        {"id": "f", "source": "Portal"},
        None,
        {},
        True,
    ),
    (
        "incoming fax",
        {"type": "Incoming Fax", "info": {"senderFaxNumbers": ["+1"]}},
        "Incoming Fax",
        {"id": "f", "from": "+2"},
        None,
        {},
        False,
    ),
    (
        "missed call number",
        {"type": "Missed Call", "info": {"phoneNumbers": ["+1"]}},
        "Missed Call",
        {"id": "c", "inboundPhoneNumber": "+1"},
        None,
        {},
        True,
    ),
    (
        "vital update classification",
        {"type": "Vital Update", "info": {"configurationIds": [], "classifications": ["High"]}},
        "Vital Update",
        {"id": "o", "classification": "High"},
        None,
        {},
        True,
    ),
    (
        "pregnancy ended reason",
        {"type": "Pregnancy Ended", "info": {"reason": "Birth"}},
        "Pregnancy Ended",
        {"id": "u1"},
        None,
        {"details": {"reason": "Loss"}},
        False,
    ),
    (
        "healthie answersCondition unsupported",
        {"type": "Healthie Note Locked", "info": {"answersCondition": {"a": 1}}},
        "Healthie Note Locked",
        {"id": "n"},
        None,
        {},
        False,
    ),
    (
        "beluga sync failed",
        {"type": "Beluga Visit Sync Failed", "info": {"formIds": [FORM_A]}},
        "Beluga Visit Sync Failed",
        {"id": "r", "formId": FORM_A},
        None,
        {},
        True,
    ),
    (
        "eligibility source",
        {"type": "Eligibility Result Received", "info": {"source": "Candid"}},
        "Eligibility Result Received",
        {"id": "r", "source": "Candid"},
        None,
        {},
        True,
    ),
    (
        "refund issued",
        {"type": "Refund Issued", "info": {}},
        "Refund Issued",
        {"id": "p"},
        None,
        {},
        True,
    ),
    (
        "outbound chat sent",
        {"type": "Outbound Chat Sent", "info": {}},
        "Outbound Chat Sent",
        {"id": "c"},
        None,
        {},
        True,
    ),
    (
        "message delivery failure",
        {"type": "Message Delivery Failure", "info": {}},
        "Message Delivery Failure",
        {"id": "m"},
        None,
        {},
        True,
    ),
    (
        "stripe failed",
        {"type": "Stripe: Payment Intent Failed", "info": {}},
        "Stripe: Payment Intent Failed",
        {"id": "m"},
        None,
        {},
        True,
    ),
    (
        "form unsubmitted is deprecated",
        {"type": "Form Unsubmitted", "info": {"formId": FORM_A, "intervalInMS": 1}},
        "Form Unsubmitted",
        {"id": "fr1", "formId": FORM_A},
        None,
        {},
        False,
    ),
    (
        "subscription payment failed product",
        {"type": "Subscription Payment Failed", "info": {"productIds": ["a"]}},
        "Subscription Payment Failed",
        {"id": "s", "productId": "a"},
        None,
        {},
        True,
    ),
    (
        "subscription paused any",
        {"type": "Subscription Paused", "info": {}},
        "Subscription Paused",
        {"id": "s"},
        None,
        {},
        True,
    ),
    (
        "subscription resumed other product",
        {"type": "Subscription Resumed", "info": {"productIds": ["a"]}},
        "Subscription Resumed",
        {"id": "s", "productIds": ["b", "c"]},
        None,
        {},
        False,
    ),
    (
        "left voicemail input",
        {"type": "Left Voicemail", "info": {"inputs": ["2"]}},
        "Left Voicemail",
        {"id": "c", "input": "1"},
        None,
        {},
        False,
    ),
    (
        "message link clicked template",
        {"type": "Message Link Clicked", "info": {"templateIds": ["t"]}},
        "Message Link Clicked",
        {"id": "m", "templateId": "u"},
        None,
        {},
        False,
    ),
    (
        "healthie answer group form",
        {"type": "Healthie Form Answer Group Created", "info": {"healthieFormIds": ["h1"]}},
        "Healthie Form Answer Group Created",
        {"id": "g", "healthieFormId": "h1"},
        None,
        {},
        True,
    ),
    (
        "has not engaged from scan",
        {"type": "Has Not Engaged", "info": {"intervalInMS": 1}},
        "Has Not Engaged",
        {},
        None,
        {"forTriggerId": "t1"},
        True,
    ),
    (
        "no recent appointment not from scan",
        {"type": "No Recent Appointment", "info": {"intervalInMS": 1}},
        "No Recent Appointment",
        {},
        None,
        {},
        False,
    ),
    # Time-based types fire only from their scan (forTriggerId)
    (
        "birthday from scan",
        {"type": "On Birthday", "info": {"minutes": 540}},
        "On Birthday",
        {},
        None,
        {"forTriggerId": "t1"},
        True,
    ),
    (
        "birthday not from scan",
        {"type": "On Birthday", "info": {"minutes": 540}},
        "On Birthday",
        {},
        None,
        {},
        False,
    ),
    (
        "group incomplete wrong group",
        {"type": "Form Group Incomplete", "info": {"groupId": "g1", "intervalInMS": 1}},
        "Form Group Incomplete",
        {},
        None,
        {"forTriggerId": "t1", "details": {"groupId": "g2"}},
        False,
    ),
    (
        "vital count from scan",
        {
            "type": "Vital Count",
            "info": {
                "minutes": 1,
                "comparison": {"type": "Less Than", "value": 1},
                "periodInMS": 1,
            },
        },
        "Vital Count",
        {},
        None,
        {"forTriggerId": "t1"},
        True,
    ),
]


@pytest.mark.parametrize(
    ("trigger_event", "kind", "record", "previous", "extra", "fires"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_event_filters(trigger_event, kind, record, previous, extra, fires) -> None:
    decision = decide(trigger(trigger_event), event(kind, record, previous=previous, **extra))
    assert decision.fire is fires, decision.reason
    if not fires:
        assert decision.stage == "event" and decision.reason


def test_every_trigger_event_type_has_a_filter_and_a_row() -> None:
    assert set(FILTERS) == set(TRIGGER_EVENT_TYPES)
    assert {row[2] for row in ROWS} == set(TRIGGER_EVENT_TYPES)


FIELD_EQUALS = {"type": "Field Equals", "info": {"field": "fname", "value": "$exists"}}
FIELD_EVENT = {"id": "u1", "fname": "Pat"}


def test_only_active_unarchived_triggers_of_the_event_type() -> None:
    triggers = [
        trigger(FIELD_EQUALS, id="on"),
        trigger(FIELD_EQUALS, id="off", status="Inactive"),
        trigger(FIELD_EQUALS, id="archived", archivedAt="2026-01-01T00:00:00Z"),
        trigger({"type": "Tag Added", "info": {"tag": "x"}}, id="other-type"),
    ]
    evaluation = evaluate(
        event("Field Equals", FIELD_EVENT), triggers, enduser=FIELD_EVENT, now=NOW
    )
    assert [(d.triggerId, d.fire, d.stage) for d in evaluation.decisions] == [
        ("on", True, None),
        ("off", False, "status"),
        ("archived", False, "status"),
    ]
    assert [d.triggerId for d in evaluation.firing] == ["on"]


@pytest.mark.parametrize(
    ("condition", "enduser", "fires"),
    [
        ({"$and": [{"condition": {"tags": "vip"}}]}, {"id": "u1", "tags": ["vip"]}, True),
        ({"$and": [{"condition": {"tags": "vip"}}]}, {"id": "u1", "tags": []}, False),
        (
            {"$or": [{"condition": {"lname": "Explicit"}}, {"condition": {"state": "TX"}}]},
            {"id": "u1", "state": "TX"},
            True,
        ),
        (
            {"$and": [{"condition": {"Number": {"$gt": 3}}}]},
            {"id": "u1", "fields": {"Number": 2}},
            False,
        ),
        ({}, {"id": "u1"}, True),
    ],
)
def test_enduser_condition(condition, enduser, fires) -> None:
    decision = decide(
        trigger(FIELD_EQUALS, enduserCondition=condition),
        event("Field Equals", FIELD_EVENT),
        {**FIELD_EVENT, **enduser},
    )
    assert decision.fire is fires
    if not fires:
        assert decision.stage == "enduserCondition"


@pytest.mark.parametrize(
    ("journeys", "enrolled", "fires"),
    [
        ({JOURNEY_TS: ""}, (), True),  # membership = key present, even with state ""
        ({JOURNEY_TS: "Started"}, (), True),
        ({"64f0000000000000000000dd": ""}, (), False),  # another journey
        ({}, (), False),
        ({}, ("care",), True),  # a running enrollment the caller knows of
    ],
)
def test_journey_scope(journeys, enrolled, fires) -> None:
    decision = decide(
        trigger(FIELD_EQUALS, journeyId="care", action={"type": "Move To Step", "info": {}}),
        event("Field Equals", FIELD_EVENT),
        {**FIELD_EVENT, "journeys": journeys},
        enrolled=enrolled,
    )
    assert decision.fire is fires
    if not fires:
        assert decision.stage == "journey"


def test_once_per_enduser_uses_enduser_trigger_ids() -> None:
    once = trigger(FIELD_EQUALS, id="welcome", oncePerEnduser=True)
    fresh = decide(once, event("Field Equals", FIELD_EVENT), {**FIELD_EVENT, "triggerIds": []})
    assert fresh.fire
    fired = {**FIELD_EVENT, "triggerIds": [trigger_record_id("welcome")]}
    again = decide(once, event("Field Equals", FIELD_EVENT), fired)
    assert (again.fire, again.stage) == (False, "oncePerEnduser")
    # without oncePerEnduser the same enduser may fire it again
    plain = trigger(FIELD_EQUALS, id="welcome")
    assert decide(plain, event("Field Equals", FIELD_EVENT), fired).fire


WEEKDAY_MORNINGS = [
    {
        "dayOfWeekStartingSundayIndexedByZero": day,
        "startTimeInMinutes": 480,
        "endTimeInMinutes": 720,
    }
    for day in range(1, 6)
]


@pytest.mark.parametrize(
    ("now", "zone", "fires"),
    [
        (NOW, "America/New_York", True),  # Wednesday 10:00 New York
        (NOW + timedelta(hours=3), "America/New_York", False),  # 13:00: after the window
        (NOW, "America/Los_Angeles", False),  # 07:00 in Los Angeles: before it
        (NOW + timedelta(days=3), "America/New_York", False),  # Saturday
    ],
)
def test_availability_windows(now, zone, fires) -> None:
    extra = {"weeklyAvailabilities": WEEKDAY_MORNINGS}
    if zone:
        extra["availabilityTimezone"] = zone
    evaluation = evaluate(
        event("Field Equals", FIELD_EVENT),
        [trigger(FIELD_EQUALS, **extra)],
        enduser=FIELD_EVENT,
        now=now,
    )
    decision = evaluation.decisions[0]
    assert decision.fire is fires
    if not fires:
        assert decision.stage == "availability" and "weekly availability" in decision.reason


def test_availability_defaults_to_the_organisation_zone_and_includes_the_end_minute() -> None:
    windows = {"weeklyAvailabilities": WEEKDAY_MORNINGS}
    at_noon = NOW.replace(hour=17, minute=0, second=30)  # 12:00:30 New York: minute 720
    one_past = NOW.replace(hour=17, minute=1)
    ev = event("Field Equals", FIELD_EVENT)
    assert evaluate(ev, [trigger(FIELD_EQUALS, **windows)], enduser=FIELD_EVENT, now=at_noon).firing
    assert not evaluate(
        ev, [trigger(FIELD_EQUALS, **windows)], enduser=FIELD_EVENT, now=one_past
    ).firing


@pytest.mark.parametrize(
    ("ago", "once", "fires"),
    [
        (timedelta(seconds=30), False, False),
        (timedelta(seconds=59, milliseconds=999), False, False),
        (timedelta(seconds=60), False, True),
        (timedelta(minutes=5), False, True),
        (timedelta(seconds=1), True, True),  # oncePerEnduser is guarded by its own id instead
    ],
)
def test_throttle_one_firing_per_trigger_and_enduser_per_minute(ago, once, fires) -> None:
    decision = decide(
        trigger(FIELD_EQUALS, oncePerEnduser=once),
        event("Field Equals", FIELD_EVENT),
        FIELD_EVENT,
        last_fired={"t1": NOW - ago},
    )
    assert decision.fire is fires
    if not fires:
        assert decision.stage == "throttle"


def test_throttle_is_per_trigger() -> None:
    decision = decide(
        trigger(FIELD_EQUALS, id="t1"),
        event("Field Equals", FIELD_EVENT),
        FIELD_EVENT,
        last_fired={"t2": NOW},
    )
    assert decision.fire


def test_stages_run_in_order() -> None:
    """The first failing stage is the one reported (filters before conditions before scope)."""
    failing_everything = trigger(
        {"type": "Field Equals", "info": {"field": "fname", "value": "Nope"}},
        enduserCondition={"$and": [{"condition": {"tags": "vip"}}]},
        journeyId="care",
        action={"type": "Move To Step", "info": {}},
    )
    decision = decide(failing_everything, event("Field Equals", FIELD_EVENT), FIELD_EVENT)
    assert decision.stage == "event"
    passes_filter = trigger(
        FIELD_EQUALS,
        enduserCondition={"$and": [{"condition": {"tags": "vip"}}]},
        journeyId="care",
        action={"type": "Move To Step", "info": {}},
    )
    assert decide(passes_filter, event("Field Equals", FIELD_EVENT), FIELD_EVENT).stage == (
        "enduserCondition"
    )


def test_time_based_event_is_evaluated_for_its_trigger_only() -> None:
    birthday = {"type": "On Birthday", "info": {"minutes": 540}}
    triggers = [trigger(birthday, id="b1"), trigger(birthday, id="b2")]
    scan_event = event("On Birthday", {}, forTriggerId="b2")
    evaluation = evaluate(scan_event, triggers, enduser={"id": "u1"}, now=NOW)
    assert [(d.triggerId, d.fire) for d in evaluation.decisions] == [("b2", True)]


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown trigger event type"):
        event("Form Submited", {})


def test_two_matching_triggers_fire_independently() -> None:
    journeys = [
        trigger(
            FIELD_EQUALS, id="a", action={"type": "Add To Journey", "info": {"journeyId": "j1"}}
        ),
        trigger(
            FIELD_EQUALS, id="b", action={"type": "Add To Journey", "info": {"journeyId": "j2"}}
        ),
    ]
    evaluation = evaluate(
        event("Field Equals", FIELD_EVENT), journeys, enduser=FIELD_EVENT, now=NOW
    )
    assert [d.triggerId for d in evaluation.firing] == ["a", "b"]


def test_values_are_reported_once_the_decision_reaches_the_enduser_condition():
    """docs/operator-view.md §2: a decision says what the enduserCondition read when it got that
    far; one stopped by the event's filters never read the enduser."""
    condition = {"$and": [{"condition": {"state": "CA"}}]}
    trig = trigger(
        {"type": "Form Submitted", "info": {"formId": FORM_A}}, enduserCondition=condition
    )
    enduser = {"id": "u1", "state": "NY"}
    other_form = decide(
        trig, event("Form Submitted", {"formId": FORM_B, "submittedAt": NOW.isoformat()}), enduser
    )
    assert (other_form.stage, other_form.values) == ("event", None)
    same_form = decide(
        trig, event("Form Submitted", {"formId": FORM_A, "submittedAt": NOW.isoformat()}), enduser
    )
    assert (same_form.stage, same_form.values) == ("enduserCondition", {"state": "NY"})
    fired = decide(
        trig,
        event("Form Submitted", {"formId": FORM_A, "submittedAt": NOW.isoformat()}),
        {"id": "u1", "state": "CA"},
    )
    assert (fired.fire, fired.values) == (True, {"state": "CA"})


def test_a_skip_that_read_no_values_is_built_once_and_shared(monkeypatch):
    """Most of an event's decisions are the same skip, event after event (another form): shared
    and frozen; decisions that read the enduser are built per event; the store stays bounded."""
    condition = {"$and": [{"condition": {"state": "CA"}}]}
    trig = trigger(
        {"type": "Form Submitted", "info": {"formId": FORM_A}}, enduserCondition=condition
    )
    other = event("Form Submitted", {"formId": FORM_B, "submittedAt": NOW.isoformat()})
    first, second = decide(trig, other), decide(trig, other)
    assert first is second
    assert (first.fire, first.stage, first.values) == (False, "event", None)
    with pytest.raises(ValidationError):
        first.reason = "changed"  # type: ignore[misc]
    renamed = trig.model_copy(update={"trigger": trig.trigger.model_copy(update={"title": "new"})})
    assert decide(renamed, other).title == "new"
    same_form = event("Form Submitted", {"formId": FORM_A, "submittedAt": NOW.isoformat()})
    enduser = {"id": "u1", "state": "NY"}
    assert decide(trig, same_form, enduser) is not decide(trig, same_form, enduser)
    monkeypatch.setattr(triggers.evaluate, "SHARED_SKIPS_MAX", 1)
    third = decide(trig, event("Form Submitted", {"formId": "x", "submittedAt": "y"}))
    assert len(triggers.evaluate._SHARED_SKIPS) == 1
    assert decide(trig, other) == first and decide(trig, other) is not first
    assert third.stage == "event"
