"""No chaining (docs/semantics.md §9.2 step 7, docs/decisions.md D7): what a trigger action writes
must not fire triggers.

Two marks make sure of it:

1. Every update a trigger action makes goes through `QuietTellescopeClient`, which adds
   `options.dontSendWebhook: true` (Tellescope's documented way to "prevent webhook echo when
   updating records using an API key"). Tellescope then sends no record webhook for it, so the
   intake never sees the change: the tags a trigger adds cannot fire Tag Added, the fields it sets
   cannot fire Field Equals, and so on. The next *direct* update is evaluated as usual, against the
   enduser as it then is (Tellescope's own test: the second trigger fires on the next direct
   update).
2. Records a trigger action creates (a chat reply, user notifications) carry the firing's
   idempotency key (`je:trg-...`, see `triggers.models.trigger_action_id`) in their stamp field;
   the intake derives no events from records so stamped (`is_trigger_origin`).

Journey actions run by JourneyWorkflow are ordinary writes and may fire triggers, as in
Tellescope (docs/semantics.md §9.2 step 7, inferred).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from rules.dates import parse_iso
from tellescope.client import Record, TellescopeClient, singular_path
from tellescope.idempotency import KEY_PREFIX, STAMP_FIELDS
from triggers.models import TRIGGER_ACTION_ID_PREFIX

TRIGGER_KEY_PREFIX = KEY_PREFIX + TRIGGER_ACTION_ID_PREFIX  # "je:trg-"


class QuietTellescopeClient(TellescopeClient):
    """The same client (same connection pool and settings), but updates send no webhook."""

    def __init__(self, inner: TellescopeClient) -> None:
        super().__init__(inner.http, inner.settings)
        self._automation_user_id = inner._automation_user_id

    async def update(
        self,
        model: str,
        record_id: str,
        updates: Mapping[str, Any],
        *,
        replace_object_fields: bool = False,
    ) -> Record:
        options: dict[str, Any] = {"dontSendWebhook": True}
        if replace_object_fields:
            options["replaceObjectFields"] = True
        return await self.request(
            "PATCH",
            f"{singular_path(model)}/{quote(record_id, safe='')}",
            body={"updates": dict(updates), "options": options},
        )


def is_trigger_origin(model: str, record: Mapping[str, Any]) -> bool:
    """Whether a trigger action made this record (it carries a `je:trg-` key)."""
    fields = [STAMP_FIELDS.get(model), "tags", "batchId", "externalId"]
    for field in dict.fromkeys(f for f in fields if f):
        value = record.get(field)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and v.startswith(TRIGGER_KEY_PREFIX) for v in values):
            return True
    related = record.get("relatedRecords") or []
    return any(
        isinstance(r, Mapping) and str(r.get("id", "")).startswith(TRIGGER_KEY_PREFIX)
        for r in related
    )


async def stamp_outbound_chat(
    tellescope: TellescopeClient, enduser_ids: list[str], chat: Mapping[str, Any]
) -> None:
    """`recentOutboundChatAt` = the chat's `createdAt` on the endusers of its room, as Tellescope
    stamps it for a user's chat (docs/semantics.md §9.3, Outbound Chat Sent): only where it is
    older (a late or repeated delivery never moves it back), quietly (the stamp fires nothing)."""
    created = chat.get("createdAt")
    sent_at = parse_iso(created) if isinstance(created, str) else None
    if sent_at is None:
        return
    quiet = QuietTellescopeClient(tellescope)
    for enduser in await tellescope.get_many("endusers", enduser_ids):
        stamped = enduser.get("recentOutboundChatAt")
        before = parse_iso(stamped) if isinstance(stamped, str) else None
        if before is None or before < sent_at:
            await quiet.update("endusers", enduser["id"], {"recentOutboundChatAt": created})
