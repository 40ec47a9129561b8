"""The records every sandbox starts with, at fixed ids that journeys (examples/*.yaml), `journeys
dev` and tests refer to. Keep this module small and declarative: it is the sandbox's contract with
its users.
"""

from __future__ import annotations

from typing import Any

from sandbox.auth import API_KEYS, generate_key, hash_key
from sandbox.clock import now_iso
from sandbox.db import Store
from sandbox.records import Caller
from sandbox.settings import SandboxSettings

SEED_VERSION = 1

BUSINESS_ID = "64f000000000000000000f01"
ADMIN_USER_ID = "64f000000000000000000a00"  # owns the API keys; the caller of every /v1 request
DR_RIVERA_ID = "64f000000000000000000a01"
FRONT_DESK_ID = "64f000000000000000000a02"

WELCOME_SMS = "64f000000000000000000b01"
INTAKE_REMINDER_SMS = "64f000000000000000000b02"
THANK_YOU_EMAIL = "64f000000000000000000b03"
TRIED_TO_REACH_SMS = "64f000000000000000000b04"
RESULTS_READY_EMAIL = "64f000000000000000000b05"
RESULTS_EMAIL_FAILED_NOTICE = "64f000000000000000000b06"
MONTHLY_CHECK_IN_SMS = "64f000000000000000000b07"
WE_MISS_YOU_SMS = "64f000000000000000000b08"
WE_MISS_YOU_EMAIL = "64f000000000000000000b09"
MISSED_YOU_CHAT = "64f000000000000000000b10"

INTAKE_FORM = "64f000000000000000000c01"
SIGN_UP_FORM = "64f000000000000000000c02"
PHQ2_FORM = "64f000000000000000000c03"
HEALTH_CHECK_FORM = "64f000000000000000000c04"

DIABETES_CONTENT = "64f000000000000000000e01"

ADMIN = Caller(user_id=ADMIN_USER_ID, business_id=BUSINESS_ID)

SURVEY_LINK = f"{{{{forms.{INTAKE_FORM}.link:Survey}}}}"

ORGANIZATION = {
    "id": BUSINESS_ID,
    "name": "Riverside Family Health",
    "subdomain": "riverside",
    "timezone": "America/New_York",
}

USERS = [
    {
        "id": ADMIN_USER_ID,
        "fname": "Sandbox",
        "lname": "Admin",
        "email": "admin@riverside.example",
        "roles": ["Admin"],
        "tags": [],
    },
    {
        "id": DR_RIVERA_ID,
        "fname": "Elena",
        "lname": "Rivera",
        "displayName": "Dr. Rivera",
        "email": "rivera@riverside.example",
        "phone": "+15555550101",
        "roles": ["Provider"],
        "tags": ["doctor", "nurse"],
    },
    {
        "id": FRONT_DESK_ID,
        "fname": "Sam",
        "lname": "Ortiz",
        "displayName": "Front desk",
        "email": "frontdesk@riverside.example",
        "phone": "+15555550102",
        "roles": ["Non-Admin"],
        "tags": ["front-desk"],
    },
]

TEMPLATES = [
    {
        "id": WELCOME_SMS,
        "title": "Welcome SMS",
        "subject": "Welcome to Riverside",
        "message": "Welcome to Riverside, {{enduser.fname}}! Reply here any time with questions.",
        "forChannels": ["SMS"],
    },
    {
        "id": INTAKE_REMINDER_SMS,
        "title": "Intake reminder SMS",
        "subject": "Intake form reminder",
        "message": "Reminder: please complete your intake form, {{enduser.fname}}.",
        "forChannels": ["SMS"],
    },
    {
        "id": THANK_YOU_EMAIL,
        "title": "Thank you for visiting",
        "subject": "Thank you for visiting, {{enduser.fname}}",
        "message": (
            "Hi {{enduser.fname}},\n\nThank you for visiting Riverside Family Health. "
            f"Tell us how it went: {SURVEY_LINK}\n\n{{{{sender.displayName}}}}"
        ),
        "forChannels": ["Email"],
    },
    {
        "id": TRIED_TO_REACH_SMS,
        "title": "Tried to reach you SMS",
        "subject": "We tried to reach you",
        "message": (
            "Hi {{enduser.fname}}, we tried to reach you by phone. "
            "Call us back at your convenience."
        ),
        "forChannels": ["SMS"],
    },
    {
        "id": RESULTS_READY_EMAIL,
        "title": "Results ready email",
        "subject": "Your results are ready in the portal",
        "message": (
            "Hi {{enduser.fname}},\n\nYour results are ready in the portal. "
            f"Questions about them? {SURVEY_LINK}"
        ),
        "forChannels": ["Email"],
    },
    {
        "id": RESULTS_EMAIL_FAILED_NOTICE,
        "title": "Results email failed (team)",
        "subject": "Could not email results to a patient",
        "message": (
            "Could not email results to {{enduser.fname}} {{enduser.lname}}; please call them."
        ),
        "type": "team",
    },
    {
        "id": MONTHLY_CHECK_IN_SMS,
        "title": "Monthly check-in SMS",
        "subject": "Monthly check-in",
        "message": "Monthly check-in: how are you feeling, {{enduser.fname}}?",
        "forChannels": ["SMS"],
    },
    {
        "id": WE_MISS_YOU_SMS,
        "title": "We miss you SMS",
        "subject": "We miss you",
        "message": (
            "We miss you, {{enduser.fname}}: two quick questions are waiting in your portal."
        ),
        "forChannels": ["SMS"],
    },
    {
        "id": WE_MISS_YOU_EMAIL,
        "title": "We miss you email",
        "subject": "We miss you, {{enduser.fname}}",
        "message": (
            "Hi {{enduser.fname}},\n\nIt has been a while. Two quick check-in questions are "
            "waiting for you in the portal."
        ),
        "forChannels": ["Email"],
    },
    {
        "id": MISSED_YOU_CHAT,
        "title": "Missed appointment chat",
        "subject": "We missed you today",
        "message": (
            "Hi {{enduser.fname}}, we missed you at your appointment today. Reply here and we "
            "will find a new time."
        ),
        "forChannels": ["Chat"],
    },
]

FORMS = [
    {"id": INTAKE_FORM, "title": "New patient intake", "numFields": 3},
    {"id": SIGN_UP_FORM, "title": "Website sign-up", "numFields": 3},
    {"id": PHQ2_FORM, "title": "PHQ-2", "numFields": 2},
    {"id": HEALTH_CHECK_FORM, "title": "Health check", "numFields": 2},
]


def _field(n: int, form_id: str, title: str, external_id: str, kind: str, **extra: Any) -> dict:
    return {
        "id": f"64f000000000000000000d{n:02x}",
        "formId": form_id,
        "title": title,
        "externalId": external_id,
        "type": kind,
        "isOptional": False,
        **extra,
    }


_PHQ_CHOICES = {
    "options": {
        "choices": [
            "Not at all",
            "Several days",
            "More than half the days",
            "Nearly every day",
        ]
    }
}

FORM_FIELDS = [
    _field(1, INTAKE_FORM, "Preferred name", "preferredName", "string"),
    _field(2, INTAKE_FORM, "Reason for visit", "reasonForVisit", "stringLong"),
    _field(3, INTAKE_FORM, "Allergies", "allergies", "string"),
    _field(4, SIGN_UP_FORM, "First name", "fname", "string"),
    _field(5, SIGN_UP_FORM, "Last name", "lname", "string"),
    _field(6, SIGN_UP_FORM, "Email", "email", "email"),
    _field(
        7,
        PHQ2_FORM,
        "Little interest or pleasure in doing things",
        "phq1",
        "multiple_choice",
        **_PHQ_CHOICES,
    ),
    _field(
        8,
        PHQ2_FORM,
        "Feeling down, depressed, or hopeless",
        "phq2",
        "multiple_choice",
        **_PHQ_CHOICES,
    ),
    _field(9, HEALTH_CHECK_FORM, "How are you feeling?", "feeling", "string"),
    _field(10, HEALTH_CHECK_FORM, "Anything we should know?", "notes", "stringLong"),
]

MANAGED_CONTENT = [
    {
        "id": DIABETES_CONTENT,
        "title": "Living well with type 2 diabetes",
        "textContent": "Checking your blood sugar, eating well and staying active: a short guide.",
        "htmlContent": "<p>Checking your blood sugar, eating well and staying active.</p>",
    }
]

SEEDED: dict[str, list[dict[str, Any]]] = {
    "organizations": [ORGANIZATION],
    "users": USERS,
    "templates": TEMPLATES,
    "forms": FORMS,
    "form_fields": FORM_FIELDS,
    "managed_content_records": MANAGED_CONTENT,
}


def seed(store: Store, settings: SandboxSettings) -> list[str]:
    """Insert the seed records once (first start, or after --reset); return the API keys to
    print. The random key is kept so every start can print it; the sandbox is a development tool."""
    if store.get_meta("seed_version") is None:
        now = now_iso()
        for model, records in SEEDED.items():
            store.insert(
                model,
                [
                    {**r, "businessId": BUSINESS_ID, "creator": ADMIN_USER_ID}
                    | {"createdAt": now, "updatedAt": now}
                    for r in records
                ],
            )
        random_key = generate_key()
        store.insert(
            API_KEYS,
            [
                {
                    "id": "64f000000000000000000f11",
                    "hashedKey": hash_key(random_key),
                    "userId": ADMIN_USER_ID,
                    "businessId": BUSINESS_ID,
                    "createdAt": now,
                    "updatedAt": now,
                }
            ],
        )
        store.set_meta("random_api_key", random_key)
        store.set_meta("seed_version", SEED_VERSION)
    return [settings.dev_api_key, store.get_meta("random_api_key"), *settings.extra_api_keys]
