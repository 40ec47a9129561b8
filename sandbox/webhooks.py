"""Outbound webhooks: record webhooks, automation webhooks, calendar-event reminders.

Record webhooks (Tellescope's API docs, "Webhooks"): a POST of `{model, type, records,
timestamp, integrity, relatedRecords}` (updates also carry `updates: [{recordBeforeUpdate,
update}]`) to the organisation's configured URL, where `integrity = sha256_hex(ids
concatenated + timestamp + secret)`. They are queued and delivered in order by one background task,
so API calls never wait for a receiver. Every delivery is logged in `webhook_logs`; a failure (no
response, or HTTP ≥ 400) also increments the configuration's `deliveryFailureCount`. Outbound
requests time out after 15 s.

Automation webhooks (docs/semantics.md §11.2) are sent synchronously:
`POST /v1/send-automation-webhook` answers only once the receiver has, and fails when the
receiver does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.clock import now_iso, now_ms
from sandbox.db import Store
from sandbox.errors import TellescopeError, invalid_field, missing_field
from sandbox.ids import new_id
from sandbox.resources import DEFAULT_WEBHOOK_MODELS
from sandbox.settings import SandboxSettings

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService

log = logging.getLogger("sandbox.webhooks")

AUTOMATION_WEBHOOKS = "sandbox_automation_webhooks"
_CUD = ("create", "update", "delete")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_integrity(records: list[dict[str, Any]], timestamp: str, secret: str) -> str:
    return sha256_hex("".join(str(r["id"]) for r in records) + timestamp + secret)


def default_subscriptions() -> dict[str, dict[str, bool]]:
    return {model: dict.fromkeys(_CUD, True) for model in DEFAULT_WEBHOOK_MODELS}


@dataclass
class Delivery:
    url: str
    ok: bool
    status: int | None
    response: Any


class WebhookDispatcher:
    def __init__(self, store: Store, settings: SandboxSettings) -> None:
        self.store = store
        self.settings = settings
        self.delivered = 0
        self.failed = 0
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.settings.webhook_timeout_seconds)
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="sandbox-webhooks")

    async def stop(self, drain_seconds: float = 2.0) -> None:
        if self._queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_seconds)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._client is not None:
            await self._client.aclose()

    @property
    def pending(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def flush(self, timeout: float = 20.0) -> None:
        """Wait until every queued record webhook has been attempted."""
        if self._queue is not None:
            await asyncio.wait_for(self._queue.join(), timeout)

    # --- configuration -------------------------------------------------------------------------

    def configuration(self) -> dict[str, Any] | None:
        """The organisation's webhook configuration (a copy), if it has one."""
        first = next(iter(self.store.scan("webhooks")), None)
        return self.store.get("webhooks", first["id"]) if first else None

    # --- record webhooks -----------------------------------------------------------------------

    def record_event(
        self,
        model: str,
        kind: str,
        records: list[dict[str, Any]],
        updates: list[dict[str, Any]] | None,
    ) -> None:
        """Queue a record webhook if the organisation subscribes to (model, kind)."""
        config = self.configuration()
        if config is None or not config.get("url") or self._queue is None:
            return
        if not (config.get("subscriptions") or {}).get(model, {}).get(kind):
            return
        timestamp = str(now_ms())
        payload: dict[str, Any] = {
            "model": model,
            "type": kind,
            "records": records,
            "timestamp": timestamp,
            "integrity": record_integrity(records, timestamp, config.get("secret", "")),
            "relatedRecords": self._related_records(records),
        }
        if updates is not None:
            payload["updates"] = updates
        self._queue.put_nowait((config["url"], payload))

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            url, payload = await self._queue.get()
            try:
                await self.deliver(url, payload)
            except Exception:  # a broken receiver must never stop the queue
                log.exception("webhook delivery to %s failed", url)
            finally:
                self._queue.task_done()

    def _related_records(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Best-effort cache of records the webhook's records point to (as Tellescope's is)."""
        related: dict[str, Any] = {}

        def add(model: str, record_id: Any) -> dict[str, Any] | None:
            if not isinstance(record_id, str) or record_id in related:
                return None
            found = self.store.get(model, record_id)
            if found is not None:
                found.pop("secret", None)
                related[record_id] = found
            return found

        for record in records:
            add("endusers", record.get("enduserId"))
            for name in ("userId", "owner"):
                add("users", record.get(name))
            sender = record.get("senderId")
            if add("users", sender) is None:
                add("endusers", sender)
            add("forms", record.get("formId"))
            room = add("chat_rooms", record.get("roomId"))
            if room is not None:
                for user_id in room.get("userIds") or []:
                    add("users", user_id)
                for enduser_id in room.get("enduserIds") or []:
                    add("endusers", enduser_id)
        return related

    # --- delivery ------------------------------------------------------------------------------

    async def deliver(
        self,
        url: str,
        payload: dict[str, Any] | None,
        *,
        method: str = "post",
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Send one webhook, log it in `webhook_logs`, count failures on the configuration."""
        client = self._client or httpx.AsyncClient(timeout=self.settings.webhook_timeout_seconds)
        method = method.upper()
        try:
            if method in ("GET", "DELETE"):
                params = {k: _param(v) for k, v in (payload or {}).items()}
                response = await client.request(method, url, params=params, headers=headers)
            else:
                response = await client.request(method, url, json=payload, headers=headers)
            status = response.status_code
            delivery = Delivery(url, status < 400, status, _body(response))
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
            delivery = Delivery(url, False, None, f"{type(error).__name__}: {error}".strip())
        finally:
            if client is not self._client:
                await client.aclose()
        self._log(delivery, payload)
        return delivery

    def _log(self, delivery: Delivery, payload: dict[str, Any] | None) -> None:
        config = self.configuration()
        now = now_iso()
        entry: dict[str, Any] = {
            "id": new_id(),
            "url": delivery.url,
            "payload": payload,
            "response": delivery.response,
            "businessId": (config or {}).get("businessId"),
            "createdAt": now,
            "updatedAt": now,
        }
        if delivery.status is not None:
            entry["responseCode"] = delivery.status
        self.store.insert("webhook_logs", [entry])
        if delivery.ok:
            self.delivered += 1
            return
        self.failed += 1
        if config is not None:
            config["deliveryFailureCount"] = (config.get("deliveryFailureCount") or 0) + 1
            config["updatedAt"] = now
            self.store.save("webhooks", config)


def _param(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


# --- configuration endpoints -------------------------------------------------------------------


def configure_webhooks(
    records: RecordService, caller: Caller, dispatcher: WebhookDispatcher, values: dict[str, Any]
) -> dict[str, Any]:
    """`POST /v1/configure-webhooks`: one configuration per organisation, created or replaced.
    Without `subscriptions`, the sandbox subscribes to create/update/delete of the models a journey
    engine listens to (see `resources.DEFAULT_WEBHOOK_MODELS`)."""
    url, secret = values.get("url"), values.get("secret")
    if url is None:
        raise missing_field("url")
    if secret is None:
        raise missing_field("secret")
    _check_url(url)
    _check_secret(secret)
    subscriptions = values.get("subscriptions")
    if subscriptions is None:
        subscriptions = default_subscriptions()
    _check_subscriptions(subscriptions, "subscriptions")
    settings = {"url": url, "secret": secret, "subscriptions": subscriptions}
    existing = dispatcher.configuration()
    if existing is None:
        records.create(caller, "webhooks", settings)
    else:
        records.update(
            caller, "webhooks", existing["id"], settings, replace_object_fields=True, internal=True
        )
    return {}


def update_webhooks(
    records: RecordService, caller: Caller, dispatcher: WebhookDispatcher, values: dict[str, Any]
) -> dict[str, Any]:
    """`PATCH /v1/update-webhooks`: change the URL/secret, merge subscription changes per model."""
    existing = dispatcher.configuration()
    if existing is None:
        raise TellescopeError(400, "Webhooks have not been configured")
    updates: dict[str, Any] = {}
    if values.get("url") is not None:
        _check_url(values["url"])
        updates["url"] = values["url"]
    if values.get("secret") is not None:
        _check_secret(values["secret"])
        updates["secret"] = values["secret"]
    changes = values.get("subscriptionUpdates")
    if changes is not None:
        _check_subscriptions(changes, "subscriptionUpdates")
        merged = dict(existing.get("subscriptions") or {})
        for model, flags in changes.items():
            merged[model] = {**merged.get(model, {}), **flags}
        updates["subscriptions"] = merged
    if updates:
        records.update(
            caller, "webhooks", existing["id"], updates, replace_object_fields=True, internal=True
        )
    return {}


def webhook_configuration(dispatcher: WebhookDispatcher) -> dict[str, Any]:
    config = dispatcher.configuration() or {}
    return {"url": config.get("url"), "subscriptions": config.get("subscriptions") or {}}


def _check_url(url: Any) -> None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise invalid_field("url", f"Invalid URL: {url}")


def _check_secret(secret: Any) -> None:
    if not isinstance(secret, str) or len(secret) <= 15:
        raise invalid_field("secret", "Secret must exceed 15 characters")


def _check_subscriptions(subscriptions: Any, field: str) -> None:
    if not isinstance(subscriptions, dict):
        raise invalid_field(field, f"Expecting an object but got {subscriptions}")
    for model, flags in subscriptions.items():
        if not isinstance(flags, dict) or any(
            k not in _CUD or not isinstance(v, bool) for k, v in flags.items()
        ):
            raise invalid_field(field, f"Invalid subscription for {model}")
