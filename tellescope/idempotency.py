"""Exactly-once side effects on an at-least-once runtime.

Temporal retries an activity after a timeout or a worker crash, and Tellescope may have committed
the first attempt's record without us ever seeing the answer (a 500 after the write, a dropped
connection). So every record an action creates carries a key derived from
`ActionRequest.automatedActionId` (plus a part name when one action creates several records), in a
field that record type has and that Tellescope filters on, and every attempt first looks the
record up by that key and reuses it (`ActionOutcome.reused = True`).

| record (model)        | created with              | key stored in      | looked up by          |
|-----------------------|---------------------------|--------------------|-----------------------|
| Email                 | POST /v1/email            | batchId            | enduserId + batchId   |
| SMS                   | POST /v1/sms-message      | batchId            | enduserId + batchId   |
| Chat message          | POST /v1/chat             | tags (one item)    | roomId + tags         |
| Form response         | POST /v1/prepare-form-    | externalId         | enduserId + externalId|
|                       | response, PATCH externalId|                    |                       |
| Ticket                | POST /v1/ticket           | tags (one item)    | enduserId + tags      |
| Note                  | POST /v1/note             | externalId         | enduserId + externalId|
| User notification     | POST /v1/user-notification| relatedRecords item| userId, created since |
|                       |                           | {type: "journey_   | `now`; item matched   |
|                       |                           | engine_action", id}| client-side           |
| Content assignment    | POST /v1/managed-content- | (natural key)      | contentId + enduserId |
|                       | record-assignment         |                    | (unique in Tellescope)|
| Care plan             | POST /v1/care-plan        | (natural key)      | enduserId + journeyId |
|                       |                           |                    | + title, not completed|
| Chat room (sendChat)  | POST /v1/chat-room        | (natural key)      | enduserIds+identifier |

Why these fields: `batchId` and `externalId` are free string fields of those types; tickets have
`externalId` only as a read-only (integration) field and chats have neither, so the key is one
element of their `tags` (Tellescope matches an array field by membership); user notifications have
no free scalar at all; care plans have none, so "one open plan per (enduser, journey, title)" is
the guard. Lookups re-check the key on the answer before reusing a record.

Updates are idempotent by construction: tags and care-team members are added only when missing and
removed by writing the remaining list; journey states, statuses, contact types, timestamps and
dates are plain assignments computed from the action's fixed `now`. `Increment Number` is the one
update that is not: the key of each applied increment is written, in the same PATCH as the new
value, to the enduser custom field `INCREMENTS_FIELD` (the last `INCREMENTS_KEPT` keys), and an
attempt that finds its key there leaves the number alone.

Messages that render form links (`{{forms.<id>.link:...}}`) get their form responses from
Tellescope's templating; those are stamped `<key>:link:<n>` after rendering, so a retry that finds
the message also finds its form responses. A crash between rendering and stamping leaves an
unsent, unsubmitted response behind (never linked to any message); it is harmless and not reused.
`sendForm` prepares its response itself: a stamped response whose message is not found was never
sent, and since only the attempt that prepared it saw its link, the retry deletes it and prepares
a fresh one before sending.

Temporal's start-to-close timeout does not stop an attempt that is still running, so a retry
could overlap a slow first attempt and both find nothing. Every write of an attempt is therefore
answered or abandoned before the attempt's deadline (`activities/attempt_deadline.py`), and the
retry, which starts after that deadline, looks the record up first. What remains is a request
the client abandoned but Tellescope still commits after the retry's lookup (a server slower than
the timeout plus the retry's backoff). Keep the activity timeout well above the client's request
timeouts (15 s; 25 s for webhooks) so abandoning is rare.

Webhooks are not records: `sendWebhook` is at-least-once (a retry after a lost answer may deliver
again). Receivers can deduplicate on `(enduserId, automationStepId, message)` or on a header the
action sets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from tellescope.client import Record, TellescopeClient

KEY_PREFIX = "je:"
# Longest action id used verbatim in a key; longer or unusual ids are hashed so that keys fit
# every field they go into (tags are short strings in Tellescope).
_MAX_VERBATIM = 64
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:\-]+$")

INCREMENTS_FIELD = "journeyEngineIncrements"
INCREMENTS_KEPT = 50

NOTIFICATION_KEY_TYPE = "journey_engine_action"

# The field each record type carries its key in (list fields hold the key as one element).
STAMP_FIELDS: dict[str, str] = {
    "emails": "batchId",
    "sms_messages": "batchId",
    "chats": "tags",
    "form_responses": "externalId",
    "tickets": "tags",
    "notes": "externalId",
}


def action_key(automated_action_id: str, part: str | None = None) -> str:
    """`je:<automatedActionId>[:<part>]`: stable across attempts, unique per record."""
    if len(automated_action_id) <= _MAX_VERBATIM and _SAFE_ID.match(automated_action_id):
        base = automated_action_id
    else:
        base = hashlib.sha256(automated_action_id.encode("utf-8")).hexdigest()[:40]
    return f"{KEY_PREFIX}{base}" + (f":{part}" if part else "")


def carries_key(record: Mapping[str, Any], field: str, key: str) -> bool:
    value = record.get(field)
    return key in value if isinstance(value, list) else value == key


def stamp(model: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` with the key written into the model's stamp field (appended to a list field)."""
    field = STAMP_FIELDS[model]
    stamped = dict(body)
    if field == "tags":
        stamped[field] = [*(body.get(field) or []), key]
    else:
        stamped[field] = key
    return stamped


async def find_stamped(
    client: TellescopeClient, model: str, key: str, scope: Mapping[str, Any]
) -> Record | None:
    """The record of `model` within `scope` that carries `key`, if an earlier attempt made it.

    The key is checked again on the answer, so a server that ignored part of the filter could not
    make us reuse a stranger's record. Should duplicates exist (they cannot through this module),
    the oldest wins, consistently across attempts."""
    field = STAMP_FIELDS[model]
    found = await client.list(model, {**scope, field: key}, limit=10, sort="oldFirst")
    for record in found:
        if carries_key(record, field, key):
            return record
    return None
