"""The outbox: every message the sandbox "sent" on the organisation's behalf, newest first.

Emails, SMS and chats sent by users or automations, notifications to users, and automation
webhooks, each with the enduser, the text after merge fields, and the automation step and journey
that sent it. With `inbound=true`, the patient's replies are included too.
"""

from __future__ import annotations

from typing import Any

from sandbox.db import Store
from sandbox.webhooks import AUTOMATION_WEBHOOKS

CHANNELS = ("email", "sms", "chat", "user_notification", "automation_webhook")


def outbox_entries(
    store: Store,
    *,
    include_inbound: bool = False,
    enduser_id: str | None = None,
    channel: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    endusers = {e["id"]: e for e in store.scan("endusers")}
    users = {u["id"]: u for u in store.scan("users")}
    entries: list[dict[str, Any]] = []

    for email in store.scan("emails"):
        entries.append(
            _entry(
                "email",
                email,
                endusers,
                users,
                inbound=bool(email.get("inbound")),
                to=(endusers.get(email.get("enduserId")) or {}).get("email"),
                subject=email.get("subject"),
                text=email.get("textContent", ""),
                html=email.get("HTMLContent"),
            )
        )
    for sms in store.scan("sms_messages"):
        entries.append(
            _entry(
                "sms",
                sms,
                endusers,
                users,
                inbound=bool(sms.get("inbound")),
                to=sms.get("enduserPhoneNumber")
                or (endusers.get(sms.get("enduserId")) or {}).get("phone"),
                text=sms.get("message", ""),
            )
        )
    for chat in store.scan("chats"):
        inbound = chat.get("senderId") in endusers
        room = store.get("chat_rooms", chat.get("roomId", "")) or {}
        enduser = chat.get("enduserId") or next(iter(room.get("enduserIds") or []), None)
        entries.append(
            _entry(
                "chat",
                {**chat, "enduserId": enduser},
                endusers,
                users,
                inbound=inbound,
                to=room.get("title") or chat.get("roomId"),
                text=chat.get("message", ""),
            )
        )
    for notification in store.scan("user_notifications"):
        related = [r.get("id") for r in notification.get("relatedRecords") or []]
        enduser = next((r for r in related if r in endusers), None)
        recipient = users.get(notification.get("userId")) or {}
        entries.append(
            _entry(
                "user_notification",
                {**notification, "enduserId": enduser},
                endusers,
                users,
                inbound=False,
                to=_name(recipient) or notification.get("userId"),
                subject=notification.get("type"),
                text=notification.get("message", ""),
            )
        )
    for hook in store.scan(AUTOMATION_WEBHOOKS):
        entries.append(
            _entry(
                "automation_webhook",
                hook,
                endusers,
                users,
                inbound=False,
                to=f"{hook.get('method', 'post').upper()} {hook.get('url')}",
                text=hook.get("message", ""),
                extra={
                    "body": hook.get("body"),
                    "responseCode": hook.get("responseCode"),
                    "ok": hook.get("ok"),
                },
            )
        )

    selected = [
        e
        for e in entries
        if (include_inbound or not e["inbound"])
        and (enduser_id is None or e["enduserId"] == enduser_id)
        and (channel is None or e["channel"] == channel)
    ]
    selected.sort(key=lambda e: (e["createdAt"], e["id"]), reverse=True)
    return selected[:limit] if limit else selected


def _entry(
    channel: str,
    record: dict[str, Any],
    endusers: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
    *,
    inbound: bool,
    to: Any = None,
    subject: Any = None,
    text: str = "",
    html: Any = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    enduser = endusers.get(record.get("enduserId") or "")
    sender_id = record.get("senderId") or record.get("userId")
    entry = {
        "id": record["id"],
        "channel": channel,
        "inbound": inbound,
        "createdAt": record.get("createdAt", ""),
        "enduserId": record.get("enduserId"),
        "enduserName": _name(enduser) if enduser else None,
        "to": to,
        "from": (_name(enduser) if inbound and enduser else None)
        or _name(users.get(sender_id or ""))
        or sender_id,
        "subject": subject,
        "text": text,
        "html": html,
        "automationStepId": record.get("automationStepId"),
        "journeyId": record.get("journeyId"),
        "templateId": record.get("templateId"),
    }
    if extra:
        entry.update(extra)
    return entry


def _name(person: dict[str, Any] | None) -> str:
    if not person:
        return ""
    full = " ".join(p for p in (person.get("fname"), person.get("lname")) if p)
    return person.get("displayName") or full or person.get("email") or person.get("id", "")
