"""Tellescope-shaped JSON loads into our models and dumps back unchanged.

Every event type, action type, trigger event and trigger action (docs/semantics.md §4.3,
§8.1-§8.9, §9.3, §9.4)
appears at least once; records carry Tellescope's read-only fields as `GET /v1/...` returns them.
"""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from models import (
    ACTION_TYPES,
    EVENT_TYPES,
    TRIGGER_ACTION_TYPES,
    TRIGGER_EVENT_TYPES,
    AutomatedAction,
    AutomationStep,
    AutomationTrigger,
    Journey,
)
from models.actions import AutomationAction
from models.events import AutomationEvent

OID = "60398b0231a295e64f084fd9"  # the ObjectId Tellescope's API docs use in every example
PARENT = "65a0000000000000000000a1"
RECORD = {
    "id": "65a0000000000000000000b2",
    "businessId": OID,
    "creator": "65a0000000000000000000c3",
    "createdAt": "2024-12-21T20:04:47.202Z",
    "updatedAt": "2024-12-21T20:04:47.202Z",
}
DELAY = {"automationStepId": PARENT, "delayInMS": 172800000, "delay": 2, "unit": "Days"}
QUALIFIED = {"qualifier": "One Of", "values": ["nurse"]}

EVENT_EXAMPLES: dict[str, list[dict]] = {
    "onJourneyStart": [{"type": "onJourneyStart", "info": {}}],
    "afterAction": [
        {"type": "afterAction", "info": DELAY},
        {
            "type": "afterAction",
            "info": {
                **DELAY,
                "officeHoursOnly": True,
                "useEnduserTimezone": True,
                "cancelConditions": [{"type": "formResponse", "info": {"automationStepId": OID}}],
                "abTestCondition": "",
                "formCondition": {"formId": OID, "formFieldId": OID, "before": True},
                "fieldCondition": {"field": "surgeryDate", "before": False},
                "eventCondition": {"before": True},
                "dayOfMonthCondition": {"dayOfMonth": 31, "hour": 10, "minute": 30},
                "skipIfDelayPassed": True,
            },
        },
    ],
    "formResponse": [{"type": "formResponse", "info": {"automationStepId": OID}}],
    "formResponses": [{"type": "formResponses", "info": {"automationStepId": OID}}],
    "formUnsubmitted": [{"type": "formUnsubmitted", "info": {**DELAY, "officeHoursOnly": True}}],
    "formsUnsubmitted": [{"type": "formsUnsubmitted", "info": {**DELAY, "abTestCondition": "A"}}],
    "ticketCompleted": [
        {"type": "ticketCompleted", "info": {"automationStepId": PARENT}},
        {
            "type": "ticketCompleted",
            "info": {"automationStepId": PARENT, "closedForReason": "Reached"},
        },
    ],
    "waitForTrigger": [
        {"type": "waitForTrigger", "info": {"automationStepId": PARENT, "triggerId": OID}}
    ],
    "onCallOutcome": [
        {"type": "onCallOutcome", "info": {"automationStepId": PARENT, "outcome": "Voicemail"}}
    ],
    "onAIDecision": [
        {
            "type": "onAIDecision",
            "info": {"automationStepId": PARENT, "outcomes": ["____NO_MATCH____"]},
        }
    ],
    "onAIConversationOutcome": [
        {
            "type": "onAIConversationOutcome",
            "info": {"automationStepId": PARENT, "outcome": "Booked"},
        }
    ],
    "onError": [{"type": "onError", "info": {"automationStepId": PARENT}}],
}

MESSAGE = {"senderId": OID, "templateId": OID}
ACTION_INFO: dict[str, list[dict]] = {
    "sendEmail": [
        MESSAGE,
        {
            **MESSAGE,
            "assignment": {"type": "Care Team", "info": {"tags": QUALIFIED}},
            "fromEmailOverride": "care@example.org",
            "sendToDestinationOfRelatedContactTypes": ["Parent"],
            "ccRelatedContactTypes": ["Parent"],
            "hiddenFromTimeline": False,
            "customEmailField": "workEmail",
        },
    ],
    "sendSMS": [
        {**MESSAGE, "assignment": {"type": "Care Team Primary", "info": {}}},
        {
            **MESSAGE,
            "assignment": {"type": "Default", "info": {}},
            "phoneNumberOverride": "+15555550100",
        },
    ],
    "sendChat": [
        {
            "templateId": OID,
            "identifier": "care",
            "includeCareTeam": True,
            "careTeamTags": QUALIFIED,
        },
        {"templateId": OID, "identifier": "care", "userIds": [OID]},
    ],
    "notifyTeam": [
        {"templateId": OID, "forAssigned": True},
        {
            "templateId": OID,
            "forAssigned": False,
            "roles": ["Admin"],
            "tags": QUALIFIED,
            "dontSendEmail": True,
            "sendSMS": True,
            "smsTemplateId": OID,
        },
    ],
    "sendForm": [{"senderId": OID, "formId": OID, "channel": "Email"}],
    "pushFormsToPortal": [{"formIds": [OID]}, {"formGroupIds": [OID]}],
    "shareContent": [{"managedContentRecordIds": [OID]}],
    "createTicket": [
        {"title": "Call", "assignmentStrategy": {"type": s, "info": {}}, "defaultAssignee": OID}
        for s in (
            "default",
            "care-team-random",
            "care-team-primary",
            "previous-owner",
            "Recently-Booked Appointment Host",
            "Form Submitter for Journey Trigger",
        )
    ]
    + [
        {
            "title": "Call",
            "assignmentStrategy": {"type": "by-tags", "info": QUALIFIED},
            "defaultAssignee": OID,
        },
        {
            "title": "Review {{enduser.fname}}",
            "assignmentStrategy": {"type": "queue", "info": {"queueId": OID, "tags": QUALIFIED}},
            "defaultAssignee": OID,
            "restrictByState": True,
            "restrictByCareTeam": False,
            "closeReasons": ["Reached", "No answer"],
            "forCarePlan": True,
            "hiddenFromTickets": False,
            "description": "d",
            "htmlDescription": "<p>d</p>",
            "actions": [
                {
                    "type": "Complete Form",
                    "info": {"formId": OID, "formResponseId": OID},
                    "completedAt": "2024-12-21T20:04:47.202Z",
                    "optional": True,
                }
            ],
            "closeOnFinishedActions": True,
            "dueDateOffsetInMS": 86400000,
            "skipDaysOfWeekForDueDate": [0, 6],
            "requireConfirmation": False,
            "reminders": [{"msBeforeDueDate": 3600000, "didRemind": True, "queueId": OID}],
            "priority": 2,
            "preserveContext": True,
            "tags": ["intake"],
            "contextFormIds": [OID],
            "contextEnduserFields": ["A1c"],
            "contextContentIds": [OID],
            "disableEditTitle": True,
            "skipCareTeamAssignment": True,
        },
    ],
    "completeTickets": [{}, {"journeyIds": [OID]}],
    "createCarePlan": [
        {
            "title": "Plan",
            "htmlDescription": "<p/>",
            "hideRemainingTicketsProgress": True,
            "highlightedEnduserFields": ["A1c"],
            "closeAutomaticallyByTicket": True,
        }
    ],
    "completeCarePlan": [{}],
    "setEnduserStatus": [{"status": "Working"}],
    "setEnduserFields": [
        {
            "fields": [
                {"name": "visit", "type": "Custom Value", "value": "{{calendar_event.start}}"},
                {"name": "seenAt", "type": "Current Timestamp", "value": "", "increment": 3600000},
                {"name": "seenOn", "type": "Current Date", "value": ""},
                {"name": "visits", "type": "Increment Number", "value": "", "increment": 1},
                {
                    "name": "daysSince",
                    "type": "Date Difference",
                    "value": "",
                    "dateDifferenceOptions": {"date1": "lastLabDate", "date2": "$now"},
                },
            ]
        }
    ],
    "addEnduserTags": [{"tags": ["vip"]}, {"tags": ["{{enduser.fname}}"], "replaceExisting": True}],
    "removeEnduserTags": [{"tags": ["vip"]}],
    "addAccessTags": [{"tags": ["team-a"], "replaceExisting": False}],
    "removeAccessTags": [{"tags": ["team-a"]}],
    "changeContactType": [{"type": ""}, {"type": OID}],
    "assignCareTeam": [
        {"tags": QUALIFIED, "limitToOneUser": True, "setAsPrimary": True, "restrictByState": True}
    ],
    "removeCareTeam": [{"tags": {"qualifier": "All Of", "values": ["a", "b"]}}],
    "switchToRelatedContact": [{"type": "Parent", "otherTypes": ["Guardian"]}],
    "addToJourney": [{"journeyId": OID}],
    "removeFromJourney": [{"journeyId": OID}],
    "removeFromAllJourneys": [{}],
    "sendWebhook": [
        {"message": "lab-results-ready"},
        {
            "message": "m",
            "url": "https://example.org/hook",
            "secret": "0123456789abcdefg",
            "fields": [{"field": "enduserId", "value": "{{enduser.id}}"}],
            "headers": [{"field": "X-Api", "value": "k"}],
            "method": "put",
            "rawJSONBody": '{"amount": {{purchase.cost.amount}}}',
        },
    ],
    "Puppeteer: Start Agent": [{"message": "start"}],
    "cancelFutureAppointments": [{}],
    "cancelCurrentEvent": [{}],
    "confirmCurrentEvent": [{}],
    "createNote": [
        {
            "title": "Note for {{enduser.fname}}",
            "text": "t",
            "tags": ["x"],
            "hiddenFromTimeline": True,
        }
    ],
    "aiDecision": [
        {"outcomes": ["yes", "no"], "prompt": "p", "sources": [{"type": "SMS", "limit": 5}]}
    ],
    "generateEnduserSummary": [{}, {"aiSummaryConfiguration": {"enabled": True, "prompt": "p"}}],
    "startAIConversation": [
        {
            "channel": "SMS",
            "senderId": OID,
            "initialMessage": "Hi {{enduser.fname}}",
            "inactivityTimeoutHours": 72,
            "prompt": "p",
            "outcomes": [{"value": "Booked", "description": "booked a visit"}],
            "maxTurns": 10,
        }
    ],
    "assignInboxItem": [{"tags": QUALIFIED, "limit": 1}],
    "outboundCall": [{"treeId": OID}],
    "callUser": [
        {
            "message": "m",
            "routeBy": "Match Users",
            "restrictToCareTeam": True,
            "tags": QUALIFIED,
            "limit": 2,
        }
    ],
    "iterableSendEmail": [{"campaignId": "c"}],
    "iterableCustomEvent": [
        {
            "eventName": "e",
            "description": "d",
            "dataFieldsMapping": [{"iterable": "a", "tellescope": "b"}],
        }
    ],
    "zendeskCreateTicket": [{"templateId": OID, "defaultSenderId": OID, "isInternalNote": True}],
    "zusSync": [{}],
    "zusPull": [{}],
    "zusSubscribe": [{"practitionerId": "p", "packageIds": ["a"]}],
    "pagerDutyCreateIncident": [{"type": "incident", "title": "t", "serviceId": "s"}],
    "smartMeterPlaceOrder": [{"lines": [{"quantity": 1, "sku": "s"}], "shipping": "ground"}],
    "healthieSync": [{}],
    "healthieAddToCourse": [{"courseId": "c"}],
    "healthieSendChat": [{"templateId": OID, "identifier": "i", "includeCareTeam": False}],
    "healthiePushForms": [{"formIds": [OID]}],
    "elationSync": [{}],
    "canvasSync": [{}],
    "canvasCreateNote": [
        {
            "formIds": [OID],
            "matchCareTeamTagsForCanvasPractitionerResolution": QUALIFIED,
            "noteCoding": {"system": "s", "code": "c", "display": "d"},
            "syncAllFormResponses": True,
        }
    ],
    "canvasAddToGroup": [{"groupId": "g"}],
    "athenaSync": [{"departmentid": "1"}],
    "activeCampaignSync": [{}],
    "activeCampaignAddToLists": [{"listIds": ["1"]}],
    "metriportSync": [{"facilityId": "f", "integrationTitle": "t"}],
    "metriportPushFormResponse": [{"formId": OID}],
    "belugaAutoRx": [
        {"formId": OID, "patientPreference": {"medId": "m", "name": "n"}, "pharmacyId": "p"}
    ],
    "belugaUpdateVisit": [
        {"formId": OID, "patientPreferences": [{"medId": "m"}], "useOrganizationMapping": True}
    ],
    "belugaTriggerRefill": [
        {"formId": OID, "patientPreferences": [{"medId": "m"}], "customFieldName": "f"}
    ],
    "mdiTriggerRefill": [{"onlySubmitWhenDue": True}],
    "developHealthMedEligibility": [
        {
            "drugs": [{"name": "d"}],
            "diagnoses": [{"code": "E11"}],
            "providerUserId": OID,
            "mock_result": {"status": "ok"},
        }
    ],
    "customerIOIdentify": [{}],
    "customerIOTrack": [{"event": "e", "trackProperties": ["fname"]}],
    "stripeChargeCardOnFile": [{"priceIds": ["price_1"], "productIds": [OID], "stripeKey": "k"}],
    "stripeCancelSubscription": [
        {"metadataKey": "k", "metadataValue": "{{enduser.id}}", "cancelImmediately": True}
    ],
    "chargebeeChargeCardOnFile": [
        {
            "chargebeeEnvironment": "prod",
            "chargeType": "One-Time",
            "itemPriceId": "i",
            "quantity": 2,
            "couponIds": ["c"],
        }
    ],
    "createScriptSureDraft": [
        {"prescriptionRouteId": OID, "matchMedicationTitle": "t", "matchEnduserState": True}
    ],
}

TRIGGER_EVENT_INFO: dict[str, dict] = {
    "Form Submitted": {
        "formId": OID,
        "otherFormIds": [PARENT],
        "submitterType": "Anyone",
        "publicIdentifier": "p",
        "hasExpiredEvent": False,
        "conditionsByFormId": {PARENT: {"condition": {"fieldA": "yes"}}},
    },
    "Form Unsubmitted": {"formId": OID, "intervalInMS": 1000},
    "Purchase Made": {
        "titles": ["t"],
        "productIds": [OID],
        "titlePartialMatches": ["x"],
        "couponCodes": ["c"],
    },
    "Refund Issued": {},
    "Subscription Ended": {"productIds": [OID]},
    "Subscription Payment Failed": {},
    "Subscription Paused": {"productIds": []},
    "Subscription Resumed": {},
    "Stripe: Payment Intent Failed": {},
    "Appointment No-Showed": {"titles": ["Visit"], "templateIds": [OID]},
    "Field Equals": {"field": "labStatus", "value": "Received"},
    "Fields Changed": {"fields": ["fname", "insurance.payerName"]},
    "Tag Added": {"tag": "vip"},
    "Contact Created": {"entityTypes": ["Default"]},
    "Appointment Created": {"titles": [], "templateIds": [OID], "excludeTemplateIds": [PARENT]},
    "Appointment Completed": {"titles": ["Office visit"]},
    "Appointment Cancelled": {
        "titles": [],
        "templateIds": [],
        "excludeTemplateIds": [],
        "excludeCancelUpcomingEventsJourney": True,
        "by": "enduser",
        "cancelReasons": ["Sick"],
    },
    "Appointment Rescheduled": {"titles": [], "detectManualReschedules": True},
    "Medication Added": {"titles": [], "protocols": ["p"], "titleCondition": {"$contains": "met"}},
    "No Recent Appointment": {"intervalInMS": 86400000, "templateIds": [OID], "titles": []},
    "On Birthday": {"minutes": 540},
    "Has Not Engaged": {"intervalInMS": 7776000000},
    "Vital Count": {
        "units": ["mmHg"],
        "minutes": 60,
        "comparison": {"type": "Greater Than", "value": 140},
        "periodInMS": 86400000,
    },
    "Vital Update": {
        "configurationIds": [OID],
        "classifications": ["High"],
        "ignoreDelayedReadings": True,
    },
    "SMS Reply": {"templateIds": [OID], "replyKeywords": ["YES"]},
    "Order Status Equals": {
        "source": "Beluga",
        "status": "Shipped",
        "skus": ["s"],
        "protocols": ["p"],
    },
    "Missed Call": {"phoneNumbers": ["+15555550100"], "inputs": ["1"]},
    "Left Voicemail": {},
    "Order Created": {"titles": ["t"], "fills": ["1"], "partialFrequency": "monthly"},
    "Problem Created": {"titles": ["Diabetes"]},
    "Message Delivery Failure": {},
    "Incoming Message": {
        "noCareTeam": True,
        "destinations": ["+1555"],
        "channels": ["SMS"],
        "keywords": ["STOP"],
    },
    "Outbound Chat Sent": {},
    "Pregnancy Ended": {"reason": "Birth"},
    "Form Group Completed": {"groupId": OID},
    "Form Group Incomplete": {"groupId": OID, "intervalInMS": 86400000},
    "Message Opened": {"templateIds": [OID]},
    "Message Link Clicked": {},
    "Healthie Note Locked": {
        "healthieFormIds": ["h"],
        "answersCondition": {"condition": {"q": "a"}},
    },
    "Healthie Form Answer Group Created": {"healthieFormIds": ["h"]},
    "Database Entry Added": {"databaseId": OID},
    "Form Started": {"formIds": [OID], "sources": ["Public Form"]},
    "Eligibility Result Received": {"source": "Candid"},
    "File Added": {"source": "Portal"},
    "Incoming Fax": {"senderFaxNumbers": ["+1555"]},
    "Beluga Visit Sync Failed": {"formIds": [OID]},
}

TRIGGER_ACTION_INFO: dict[str, dict] = {
    "Add To Journey": {"journeyId": OID, "doNotRestart": True},
    "Remove From Journey": {"journeyId": OID},
    "Remove From All Journeys": {},
    "Add Tags": {"tags": ["{{enduser.fname}}"], "replaceExisting": False},
    "Remove Tags": {"tags": ["t"]},
    "Add Access Tags": {"tags": ["t"]},
    "Set Fields": {
        "fields": [{"name": "status", "type": "Custom Value", "value": "{{order.status}}"}]
    },
    "Move To Step": {},
    "Assign Care Team": {
        "tags": QUALIFIED,
        "limitToOneUser": True,
        "setAsPrimary": True,
        "restrictByState": False,
    },
    "Remove Care Team": {"tags": QUALIFIED},
    "Canvas: Add Patient": {},
    "Zus: Delete Enrollment": {"packageId": "p"},
    "Require Form Followups": {"formIds": [OID]},
    "Add to Waitlist": {"waitlistId": OID},
    "Grant Access From Waitlist": {"waitlistId": OID, "count": 3},
    "Reply to Chat": {"message": "Thanks!"},
    "Create User Notifications": {
        "message": "m",
        "notificationType": "Custom",
        "careTeamOnly": True,
        "tags": QUALIFIED,
        "maxUsers": 2,
    },
    "Assign to Incoming Message": {"careTeamOnly": True, "maxUsers": 1},
    "Zendesk: Update Ticket Assignee": {},
}


def round_trip(model, data: dict) -> dict:
    """Load JSON text into the model and dump it back; the JSON text must be identical up to key
    order (so an int that came back as a float fails; condition key order has its own test)."""
    loaded = model.model_validate_json(json.dumps(data))
    dumped = loaded.to_json()
    assert same_json(dumped, data)
    return dumped


def same_json(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_examples_cover_every_type():
    assert set(EVENT_EXAMPLES) == set(EVENT_TYPES)
    assert set(ACTION_INFO) == set(ACTION_TYPES)
    assert len(ACTION_TYPES) == 68  # 67 action types at Tellescope HEAD + the branded webhook
    assert set(TRIGGER_EVENT_INFO) == set(TRIGGER_EVENT_TYPES) and len(TRIGGER_EVENT_TYPES) == 46
    assert set(TRIGGER_ACTION_INFO) == set(TRIGGER_ACTION_TYPES) and len(TRIGGER_ACTION_TYPES) == 19


@pytest.mark.parametrize(
    "event", [e for examples in EVENT_EXAMPLES.values() for e in examples], ids=lambda e: e["type"]
)
def test_step_with_each_event_round_trips(event):
    step = {
        **RECORD,
        "journeyId": OID,
        "events": [event],
        "action": {
            "type": "setEnduserStatus",
            "info": {"status": "Working"},
            "continueOnError": True,
        },
        "enduserConditions": {"$and": [{"condition": {"tags": "vip"}}]},
        "flowchartUI": {"x": 120, "y": -40.5},
        "tags": ["t"],
    }
    assert round_trip(AutomationStep, step) == step


@pytest.mark.parametrize(
    "action",
    [{"type": t, "info": info} for t, infos in ACTION_INFO.items() for info in infos],
    ids=lambda a: a["type"],
)
def test_each_action_round_trips(action):
    adapter = TypeAdapter(AutomationAction)
    loaded = adapter.validate_json(json.dumps(action))
    assert loaded.type == action["type"]
    assert same_json(loaded.to_json(), action)


@pytest.mark.parametrize("event_type", TRIGGER_EVENT_TYPES)
def test_trigger_with_each_event_round_trips(event_type):
    trigger = {
        **RECORD,
        "title": f"On {event_type}",
        "event": {"type": event_type, "info": TRIGGER_EVENT_INFO[event_type]},
        "action": {"type": "Add Tags", "info": {"tags": ["seen"]}},
        "status": "Active",
    }
    if event_type == "Form Submitted":
        trigger["event"]["conditions"] = {"$or": [{"condition": {"field1": "yes"}}]}
    assert round_trip(AutomationTrigger, trigger) == trigger


@pytest.mark.parametrize("action_type", TRIGGER_ACTION_TYPES)
def test_trigger_with_each_action_round_trips(action_type):
    trigger = {
        "title": f"Do {action_type}",
        "event": {"type": "Contact Created", "info": {}},
        "action": {"type": action_type, "info": TRIGGER_ACTION_INFO[action_type]},
        "status": "Inactive",
        "enduserCondition": {"condition": {"Age": {"$gt": "64"}}},
        "journeyId": OID,
        "oncePerEnduser": True,
        "triggerNextAt": "2024-12-21T20:04:47.202Z",
        "availabilityTimezone": "America/Chicago",
        "weeklyAvailabilities": [
            {
                "dayOfWeekStartingSundayIndexedByZero": 1,
                "startTimeInMinutes": 540,
                "endTimeInMinutes": 1020,
            }
        ],
        "tags": [],
        "archivedAt": "",
    }
    assert round_trip(AutomationTrigger, trigger) == trigger


def test_journey_round_trips():
    journey = {
        **RECORD,
        "title": "New patient onboarding",
        "defaultState": "New",
        "states": [
            {"name": "New", "priority": "N/A"},
            {
                "name": "Unresponsive",
                "priority": "Disengaged",
                "requiresFollowup": True,
                "description": "d",
            },
            {"name": "Legacy", "priority": "High"},  # older records keep High/Medium/Low
        ],
        "description": "Welcome, intake, review",
        "onIncomingEnduserCommunication": "Remove",
        "tags": ["intake"],
        "accessTags": ["team-a"],
        "archivedAt": "",
    }
    assert round_trip(Journey, journey) == journey


def test_seed_docs_examples_load():
    """Concrete payloads from Tellescope's API docs' AutomationStep and AutomatedAction sections."""
    step = {
        "journeyId": OID,
        "events": [{"type": "formResponse", "info": {"automationStepId": OID}}],
        "action": {"type": "setEnduserStatus", "info": {"status": "Submitted"}},
        "conditions": [{"type": "atJourneyState", "info": {"state": "New", "journeyId": OID}}],
        "flowchartUI": {"x": 0, "y": 0},
        "continueOnError": False,
        "enduserConditions": {},
        "tags": ["example string"],
    }
    assert round_trip(AutomationStep, step) == step


def test_automated_action_round_trips():
    action = {
        **RECORD,
        "enduserId": OID,
        "automationStepId": PARENT,
        "journeyId": OID,
        "event": {"type": "formUnsubmitted", "info": {**DELAY, "officeHoursOnly": True}},
        "action": {"type": "sendSMS", "info": MESSAGE},
        "status": "cancelled",
        "processAfter": 1734811487202,
        "cancelReason": 2,
        "cancelConditions": [
            {"type": "formResponse", "info": {"automationStepId": PARENT}},
            {
                "type": "formResponses",
                "info": {"automationStepId": PARENT, "unsubmittedFormCount": 2},
            },
        ],
        "didDelayForOutOfOffice": True,
        "enduserConditions": {"condition": {"tags": "vip"}},
        "journeyContext": {"formResponseId": OID, "calendarEventId": PARENT},
        "cancelledBy": OID,
        "isNOP": False,
        "source": "journey",
        "lockedAt": 1734811487202,
        "lockCount": 1,
    }
    assert round_trip(AutomatedAction, action) == action


def test_key_order_of_conditions_is_kept():
    """The condition language reads the first key (docs/semantics.md §10): dumping must
    not reorder."""
    condition = {"condition": {"b": "2", "a": "1"}, "$and": []}
    step = {
        "journeyId": OID,
        "events": [],
        "action": {"type": "completeCarePlan", "info": {}},
        "enduserConditions": condition,
    }
    dumped = round_trip(AutomationStep, step)
    assert list(dumped["enduserConditions"]) == ["condition", "$and"]
    assert list(dumped["enduserConditions"]["condition"]) == ["b", "a"]


@pytest.mark.parametrize(
    ("payload", "location"),
    [
        ({"type": "sendSMS", "info": {"senderId": OID}}, ("sendSMS", "info", "templateId")),
        ({"type": "sendSMS", "info": {**MESSAGE, "colour": "red"}}, ("sendSMS", "info", "colour")),
        (
            {
                "type": "createTicket",
                "info": {
                    "title": "t",
                    "defaultAssignee": OID,
                    "assignmentStrategy": {"type": "queue", "info": {}},
                },
            },
            ("createTicket", "info", "assignmentStrategy", "queue", "info", "queueId"),
        ),
    ],
    ids=["missing-required", "unknown-field", "nested-missing"],
)
def test_invalid_actions_name_the_field(payload, location):
    with pytest.raises(ValidationError) as failed:
        TypeAdapter(AutomationAction).validate_python(payload)
    assert [tuple(e["loc"]) for e in failed.value.errors()] == [location]


def test_unknown_event_type_lists_expected_tags():
    with pytest.raises(ValidationError) as failed:
        TypeAdapter(AutomationEvent).validate_python({"type": "afterActoin", "info": {}})
    error = failed.value.errors()[0]
    assert error["type"] == "union_tag_invalid"
    assert "'afterAction'" in error["ctx"]["expected_tags"]
