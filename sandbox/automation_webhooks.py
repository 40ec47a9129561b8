"""Automation webhooks (`sendWebhook` action, docs/semantics.md §11.2) and calendar-event
reminder webhooks.

Default form: POST `{type: "automation", message, timestamp, integrity, enduserId}` to the
organisation's webhook URL, `integrity = sha256_hex(message + timestamp + secret)`.
Extended form (`action.info`): a custom `url` and `method`, `headers` and body `fields` as
`{field, value}` pairs (merge fields allowed; the fields are added to the default payload), or a
`rawJSONBody` template sent as-is after merge fields, and an optional per-action `secret` used for
the integrity hash instead of the organisation's. Every attempt is kept for the outbox.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.behaviour.templates import merge_context
from sandbox.clock import now_iso, now_ms
from sandbox.errors import TellescopeError, invalid_field, missing_field
from sandbox.ids import is_object_id, new_id
from sandbox.merge_fields import render
from sandbox.webhooks import AUTOMATION_WEBHOOKS, WebhookDispatcher, sha256_hex

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService

_METHODS = ("get", "patch", "post", "put", "delete")


async def send_automation_webhook(
    records: RecordService,
    caller: Caller,
    dispatcher: WebhookDispatcher,
    values: dict[str, Any],
) -> dict[str, Any]:
    action = values.get("action") or {}
    if not isinstance(action, dict):
        raise invalid_field("action", f"Expecting an object but got {action}")
    info = action.get("info") or {}
    if not isinstance(info, dict):
        raise invalid_field("action", "Expecting an object for info")
    message = values.get("message", info.get("message"))
    custom_url = info.get("url")
    if message is None and not custom_url:
        raise missing_field("message")
    message = message if isinstance(message, str) else ""
    for name in ("enduserId", "automationStepId"):
        if values.get(name) is not None and not is_object_id(values[name]):
            raise invalid_field(name, "Invalid id")
    method = str(info.get("method") or "post").lower()
    if method not in _METHODS:
        raise invalid_field("action", f"Unsupported method {method}")

    config = dispatcher.configuration() or {}
    url = custom_url or config.get("url")
    if not url:
        raise TellescopeError(400, "No webhook URL is configured for this organization")
    secret = info.get("secret") or config.get("secret") or ""

    journey_context = values.get("context") or {}
    enduser_id = values.get("enduserId")
    enduser = records.get("endusers", enduser_id) if enduser_id else None
    render_json = _renderer(records, caller, enduser, journey_context, "json")
    render_raw = _renderer(records, caller, enduser, journey_context, "jsonEscaped")

    timestamp = str(now_ms())
    payload: dict[str, Any] = {
        "type": "automation",
        "message": message,
        "timestamp": timestamp,
        "integrity": sha256_hex(message + timestamp + secret),
        "enduserId": enduser_id,
    }
    if info.get("rawJSONBody"):
        try:
            body = json.loads(render_raw(info["rawJSONBody"]))
        except ValueError:
            raise invalid_field("rawJSONBody", "Not valid JSON after merge fields") from None
    else:
        body = dict(payload)
        for pair in info.get("fields") or []:
            body[str(pair.get("field"))] = render_json(str(pair.get("value", "")))
    headers = {
        str(pair.get("field")): render_json(str(pair.get("value", "")))
        for pair in info.get("headers") or []
    }
    target = render_json(url)

    delivery = await dispatcher.deliver(target, body, method=method, headers=headers or None)
    now = now_iso()
    records.store.insert(
        AUTOMATION_WEBHOOKS,
        [
            {
                "id": new_id(),
                "url": target,
                "method": method,
                "message": message,
                "body": body,
                "enduserId": enduser_id,
                "automationStepId": values.get("automationStepId"),
                "journeyId": action.get("journeyId") or journey_context.get("journeyId"),
                "responseCode": delivery.status,
                "response": delivery.response,
                "ok": delivery.ok,
                "businessId": caller.business_id,
                "createdAt": now,
                "updatedAt": now,
            }
        ],
    )
    if not delivery.ok:
        reason = f"status {delivery.status}" if delivery.status else str(delivery.response)
        raise TellescopeError(400, f"Webhook delivery failed: {reason}")
    return {}


async def send_calendar_event_reminder_webhook(
    records: RecordService, dispatcher: WebhookDispatcher, values: dict[str, Any]
) -> dict[str, Any]:
    if values.get("id") is None:
        raise missing_field("id")
    event = records.get("calendar_events", values["id"])
    config = dispatcher.configuration()
    if config is None or not config.get("url"):
        raise TellescopeError(400, "No webhook URL is configured for this organization")
    timestamp = str(now_ms())
    payload = {
        "type": "calendar_event_reminder",
        "event": event,
        "timestamp": timestamp,
        "integrity": sha256_hex(event["id"] + timestamp + config.get("secret", "")),
    }
    delivery = await dispatcher.deliver(config["url"], payload)
    if not delivery.ok:
        reason = delivery.status or delivery.response
        raise TellescopeError(400, f"Webhook delivery failed: {reason}")
    return {}


def _renderer(
    records: RecordService,
    caller: Caller,
    enduser: dict[str, Any] | None,
    journey_context: dict[str, Any],
    mode: str,
):
    if enduser is None:
        return lambda text: text
    context = merge_context(
        records,
        caller,
        enduser=enduser,
        sender=None,
        journey_context=journey_context,
        object_mode=mode,
    )
    return lambda text: render(text, context)
