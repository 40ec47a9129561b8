"""AI and telephony actions performed by the sandbox's stand-in provider (docs/handlers.md §4).

The engine's sandbox handler (`activities/sandbox_handler.py`) records each action here over
HTTP; a test or a person then chooses a call's or an AI conversation's outcome, and the sandbox
delivers it to the engine's `POST /v1/step-outcomes`, as a telephony provider would.

- One record per idempotency key: a retried activity gets the first record back (`reused`), so a
  call is "placed" once.
- aiDecision is answered at once: the scripted outcome for its step (`PUT /sandbox/ai-decisions`),
  else the scripted default, else the first of the action's `outcomes`.
"""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.clock import now_iso
from sandbox.db import Store
from sandbox.errors import TellescopeError, invalid_field, missing_field
from sandbox.ids import new_id

HANDLER_ACTIONS = "handler_actions"
_DELIVERY = "handler_actions.delivery"
_DECISIONS = "handler_actions.ai_decisions"
_REQUIRED = ("idempotencyKey", "actionType", "enduserId", "automatedActionId")
_TEXT = (*_REQUIRED, "journeyId", "stepId", "automationStepId")


def record_action(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    for name in _REQUIRED:
        if not body.get(name):
            raise missing_field(name)
    for name in _TEXT:
        if name in body and not isinstance(body[name], str):
            raise invalid_field(name, f"Expecting a string but got {body[name]}")
    info = body.get("info") or {}
    if not isinstance(info, dict):
        raise invalid_field("info", f"Expecting an object but got {info}")
    for existing in store.scan(HANDLER_ACTIONS):
        if existing["idempotencyKey"] == body["idempotencyKey"]:
            return existing | {"reused": True}
    record: dict[str, Any] = {
        "id": new_id(),
        **{name: body.get(name) for name in _TEXT},
        "info": info,
        "status": "started",
        "outcome": None,
        "createdAt": now_iso(),
    }
    if body["actionType"] == "aiDecision":
        record["status"] = "decided"
        record["outcome"] = _decision(store, record)
    elif body["actionType"] in ("generateEnduserSummary", "assignInboxItem"):
        record["status"] = "done"
    store.insert(HANDLER_ACTIONS, [record])
    return record | {"reused": False}


def _decision(store: Store, record: dict[str, Any]) -> str:
    scripted = store.get_meta(_DECISIONS, {}) or {}
    by_step = scripted.get("byStep") or {}
    for key in (record.get("stepId"), record.get("automationStepId")):
        if key and key in by_step:
            return str(by_step[key])
    if scripted.get("default"):
        return str(scripted["default"])
    outcomes = record["info"].get("outcomes") or []
    if not outcomes:
        raise invalid_field("info.outcomes", "aiDecision needs at least one outcome")
    return str(outcomes[0])


def script_decisions(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    by_step = body.get("byStep") or {}
    if not isinstance(by_step, dict) or not all(isinstance(v, str) for v in by_step.values()):
        raise invalid_field("byStep", "Expecting an object of step id -> outcome")
    default = body.get("default")
    if default is not None and not isinstance(default, str):
        raise invalid_field("default", f"Expecting a string but got {default}")
    scripted = {"byStep": by_step, "default": default}
    store.set_meta(_DECISIONS, scripted)
    return scripted


def list_actions(
    store: Store, *, enduser_id: str | None = None, action_type: str | None = None
) -> list[dict[str, Any]]:
    found = [
        r
        for r in store.scan(HANDLER_ACTIONS)
        if (enduser_id is None or r.get("enduserId") == enduser_id)
        and (action_type is None or r.get("actionType") == action_type)
    ]
    return sorted(found, key=lambda r: (r["createdAt"], r["id"]))


def configure_delivery(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise invalid_field("url", "Expecting the engine's http(s) URL of POST /v1/step-outcomes")
    api_key = body.get("apiKey")
    if not isinstance(api_key, str) or not api_key:
        raise missing_field("apiKey")
    store.set_meta(_DELIVERY, {"url": url, "apiKey": api_key})
    return {"url": url}


def delivery_target(store: Store) -> dict[str, Any]:
    delivery = store.get_meta(_DELIVERY)
    return {"url": delivery["url"] if delivery else None}


async def choose_outcome(
    store: Store, action_id: str, body: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """Record the outcome of a started call / AI conversation and deliver it to the engine."""
    record = store.get(HANDLER_ACTIONS, action_id)
    if record is None:
        raise TellescopeError(404, f"No handler action {action_id}")
    outcome = body.get("outcome")
    if not isinstance(outcome, str) or not outcome:
        raise missing_field("outcome")
    if record["status"] != "started":
        raise TellescopeError(409, f"Handler action {action_id} is {record['status']}")
    delivery = store.get_meta(_DELIVERY)
    if not delivery:
        raise TellescopeError(
            409, "Outcome delivery is not configured: PUT /sandbox/handler-actions/delivery"
        )
    payload = {
        "journeyId": record.get("journeyId"),
        "enduserId": record["enduserId"],
        "automatedActionId": record["automatedActionId"],
        "outcome": outcome,
    }
    headers = {
        "Authorization": f"API_KEY {delivery['apiKey']}",
        # A retry of this delivery is answered once by the engine (its Idempotency-Key).
        "Idempotency-Key": f"sandbox-outcome-{action_id}",
    }
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answer = await client.post(delivery["url"], json=payload, headers=headers)
    except httpx.HTTPError as error:
        raise TellescopeError(502, f"Outcome not delivered: {error!r}") from None
    if answer.status_code >= 300:
        raise TellescopeError(
            502, f"Outcome not delivered: the engine answered {answer.status_code}", answer.text
        )
    record = record | {"status": "completed", "outcome": outcome, "completedAt": now_iso()}
    store.save(HANDLER_ACTIONS, record)
    return record
