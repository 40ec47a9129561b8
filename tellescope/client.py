"""A thin async client for Tellescope's REST API (and the local sandbox, which speaks the same).

Wire protocol, as Tellescope's own SDK (`packages/sdk/src/session.ts`) speaks it:
- `Authorization: API_KEY <key>` on every request;
- GET parameters serialised like axios 0.21: each top-level key is one parameter, objects are
  JSON-encoded (`?filter={"enduserId":"..."}&limit=10`), dates ISO strings, arrays repeat the key
  with a `[]` suffix, `null`/`undefined` are left out;
- write bodies are JSON; updates are `{updates, options}` (`replaceObjectFields` replaces arrays
  and objects instead of appending/merging);
- default operations live at `/v1/<model>` (one) and `/v1/<models>` (many), with the model name
  made URL-safe (`sms_messages` -> `/v1/sms-message`, `/v1/sms-messages`);
- errors are `{message, ...}` bodies, surfaced verbatim (see `tellescope.errors`).

The client holds no state besides one shared `httpx.AsyncClient` (connection pool) and, lazily,
the id of the user that renders sender-less merge fields.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from settings import TellescopeSettings
from tellescope.errors import (
    TellescopeRejected,
    cannot_perform,
    error_for_response,
    error_for_transport,
    out_of_time,
    read_body,
)

Record = dict[str, Any]

# When (epoch seconds) the write in progress must be answered or abandoned; None: no limit.
# Temporal starts an activity's retry once the attempt's start-to-close timeout has passed, even
# while that attempt still runs: a write still in flight then could land after the retry looked
# for its record and found nothing, and act twice. Activities set this to their attempt's
# deadline (activities/attempt_deadline.py); a write with less than MIN_WRITE_SECONDS left is not
# sent, and one not answered in time is abandoned (both a retryable `AttemptOutOfTime`).
write_deadline: ContextVar[float | None] = ContextVar("tellescope_write_deadline", default=None)
MIN_WRITE_SECONDS = 1.0

# encodeURIComponent leaves these unescaped; quote() does the same, to match the SDK's bytes.
_URI_COMPONENT_SAFE = "-_.!~*'()"

PAGE_SIZE = 100  # Tellescope's default page size (Tellescope's API docs, "Pagination")


def url_safe(model: str) -> str:
    """`sms_messages` -> `sms-messages` (the SDK's `url_safe_path`)."""
    return model.replace("_", "-")


def singular_path(model: str) -> str:
    return f"/v1/{url_safe(model)[:-1]}"


def plural_path(model: str) -> str:
    return f"/v1/{url_safe(model)}"


# Ids per `POST /v1/<models>/bulk-read`: Tellescope's page size, so one call never asks for more
# records than one page may hold; longer lists are read in several calls.
BULK_READ_CHUNK = 100


def _param_text(value: Any) -> str:
    """One value as axios 0.21 writes it: ISO for dates, JSON for objects, `String(v)` else."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_query(params: Mapping[str, Any]) -> str:
    """GET parameters exactly as Tellescope's SDK serialises them."""
    parts: list[str] = []
    for key, value in params.items():
        if value is None:
            continue
        name, values = (f"{key}[]", value) if isinstance(value, list | tuple) else (key, [value])
        for item in values:
            if item is None:
                continue
            parts.append(
                f"{quote(name, safe=_URI_COMPONENT_SAFE)}="
                f"{quote(_param_text(item), safe=_URI_COMPONENT_SAFE)}"
            )
    return "&".join(parts)


def build_http_client(
    settings: TellescopeSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one shared connection pool the worker hands to `TellescopeClient` (`transport` is
    for tests)."""
    return httpx.AsyncClient(
        base_url=settings.base_url.rstrip("/"),
        headers={"Authorization": f"API_KEY {settings.api_key}"},
        timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
        limits=httpx.Limits(max_connections=settings.max_connections),
        transport=transport,
    )


class TellescopeClient:
    def __init__(self, http: httpx.AsyncClient, settings: TellescopeSettings | None = None) -> None:
        self.http = http
        self.settings = settings or TellescopeSettings()
        self._automation_user_id: str | None = self.settings.automation_user_id

    @classmethod
    def from_settings(cls, settings: TellescopeSettings | None = None) -> TellescopeClient:
        settings = settings or TellescopeSettings()
        return cls(build_http_client(settings), settings)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- transport ------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        read_only: bool = False,
    ) -> Any:
        """One call; the decoded JSON answer (None for an empty one), or an ApplicationError.

        A `read_only` call is tried once more when the connection fails before any answer (a
        pooled keep-alive connection the server had just closed, seen under webhook floods): a
        read cannot act twice, and the caller, often an API request, has no retry of its own."""
        url = path
        if params:
            query = encode_query(params)
            if query:
                url = f"{path}?{query}"
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["content"] = json.dumps(body, ensure_ascii=False).encode("utf-8")
            kwargs["headers"] = {"content-type": "application/json"}
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(
                timeout, connect=self.settings.connect_timeout_seconds
            )
        deadline = None if read_only or method == "GET" else write_deadline.get()
        try:
            if deadline is None:
                response = await self._exchange(method, url, kwargs, read_only=read_only)
            else:
                left = deadline - time.time()
                if left < MIN_WRITE_SECONDS:
                    raise out_of_time(method, path)
                try:
                    async with asyncio.timeout(left):
                        response = await self._exchange(method, url, kwargs, read_only=False)
                except TimeoutError:
                    raise out_of_time(method, path, abandoned=True) from None
        except httpx.TransportError as error:
            raise error_for_transport(error, method, path) from error
        if response.status_code >= 400:
            raise error_for_response(response, method, path)
        if not response.content:
            return None
        return read_body(response)

    async def _exchange(
        self, method: str, url: str, kwargs: dict[str, Any], *, read_only: bool
    ) -> httpx.Response:
        try:
            return await self.http.request(method, url, **kwargs)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError):
            if not read_only:
                raise
            return await self.http.request(method, url, **kwargs)

    # --- default operations ---------------------------------------------------------------------

    async def create(self, model: str, record: Mapping[str, Any]) -> Record:
        return await self.request("POST", singular_path(model), body=record)

    async def get(self, model: str, record_id: str) -> Record:
        return await self.request(
            "GET", f"{singular_path(model)}/{quote(record_id, safe='')}", read_only=True
        )

    async def update(
        self,
        model: str,
        record_id: str,
        updates: Mapping[str, Any],
        *,
        replace_object_fields: bool = False,
    ) -> Record:
        body: dict[str, Any] = {"updates": dict(updates)}
        if replace_object_fields:
            body["options"] = {"replaceObjectFields": True}
        return await self.request(
            "PATCH", f"{singular_path(model)}/{quote(record_id, safe='')}", body=body
        )

    async def delete(self, model: str, record_id: str) -> None:
        await self.request("DELETE", f"{singular_path(model)}/{quote(record_id, safe='')}")

    async def list(
        self,
        model: str,
        filter: Mapping[str, Any] | None = None,
        *,
        limit: int = PAGE_SIZE,
        last_id: str | None = None,
        sort: str | None = None,
        created_from: datetime | None = None,
    ) -> list[Record]:
        """One page (`GET /v1/<models>`), newest first unless `sort="oldFirst"`."""
        params: dict[str, Any] = {
            "filter": dict(filter) if filter else None,
            "limit": limit,
            "lastId": last_id,
            "sort": sort,
            "from": created_from,
        }
        page = await self.request("GET", plural_path(model), params=params, read_only=True)
        return list(page or [])

    async def iterate(
        self,
        model: str,
        filter: Mapping[str, Any] | None = None,
        *,
        page_size: int = PAGE_SIZE,
        sort: str | None = None,
        created_from: datetime | None = None,
    ) -> AsyncIterator[Record]:
        """Every matching record, page by page (`lastId` = the last id of the previous page, until
        a page comes back short: the loop of the "Pagination" example in Tellescope's API docs)."""
        last_id: str | None = None
        while True:
            page = await self.list(
                model,
                filter,
                limit=page_size,
                last_id=last_id,
                sort=sort,
                created_from=created_from,
            )
            for record in page:
                yield record
            if len(page) < page_size:
                return
            last_id = page[-1]["id"]

    async def find_all(
        self,
        model: str,
        filter: Mapping[str, Any] | None = None,
        *,
        sort: str | None = None,
        created_from: datetime | None = None,
    ) -> list[Record]:
        return [r async for r in self.iterate(model, filter, sort=sort, created_from=created_from)]

    async def get_many(self, model: str, ids: Iterable[str]) -> list[Record]:
        """Several records by id (`GET /v1/<model>/:id` each, concurrently), in the order asked,
        skipping ids that no longer exist."""
        wanted = [i for i in dict.fromkeys(ids) if i]

        async def one(record_id: str) -> Record | None:
            try:
                return await self.get(model, record_id)
            except TellescopeRejected as error:
                if error.status == 404:
                    return None
                raise

        found = await asyncio.gather(*(one(i) for i in wanted))
        return [record for record in found if record is not None]

    async def bulk_read(
        self, model: str, ids: Iterable[str], *, chunk_size: int = BULK_READ_CHUNK
    ) -> list[Record]:
        """The records with these ids, by Tellescope's own bulk read (`POST /v1/<models>/bulk-read
        {ids}` -> `{matches}`, what the SDK's `getByIds` sends), `chunk_size` ids a call. Ids
        Tellescope does not have (in this model) are absent from the answer; each record once,
        in the order asked."""
        wanted = [i for i in dict.fromkeys(ids) if isinstance(i, str) and i]
        found: dict[str, Record] = {}
        for start in range(0, len(wanted), max(1, chunk_size)):
            chunk = wanted[start : start + max(1, chunk_size)]
            answer = await self.request(
                "POST", f"{plural_path(model)}/bulk-read", body={"ids": chunk}, read_only=True
            )
            matches = answer.get("matches") if isinstance(answer, dict) else None
            for record in matches or []:
                if isinstance(record, dict) and record.get("id") in chunk:
                    found.setdefault(record["id"], record)
        return [found[i] for i in wanted if i in found]

    # --- custom actions -------------------------------------------------------------------------

    async def templated_message(
        self,
        *,
        message: str,
        user_id: str,
        enduser_id: str,
        html: str | None = None,
        subject: str | None = None,
        channel: str | None = None,
        automation_step_id: str | None = None,
        journey_context: Mapping[str, Any] | None = None,
    ) -> Record:
        """`POST /v1/templated-message` -> `{plaintext, html, subject?, linkOpenTrackingIds}`.
        With `automation_step_id`, form links in the message prepare form responses tied to it."""
        body: dict[str, Any] = {"message": message, "userId": user_id, "enduserId": enduser_id}
        optional = {
            "html": html,
            "subject": subject,
            "channel": channel,
            "automationStepId": automation_step_id,
            "journeyContext": dict(journey_context) if journey_context else None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return await self.request("POST", "/v1/templated-message", body=body)

    async def prepare_form_response(self, **values: Any) -> Record:
        """`POST /v1/prepare-form-response` -> `{accessCode, url, fullURL, response}`."""
        body = {k: v for k, v in values.items() if v is not None}
        return await self.request("POST", "/v1/prepare-form-response", body=body)

    async def close_ticket(self, ticket_id: str, closed_for_reason: str | None = None) -> Record:
        body: dict[str, Any] = {"ticketId": ticket_id}
        if closed_for_reason:
            body["closedForReason"] = closed_for_reason
        return await self.request("POST", "/v1/tickets/close", body=body)

    async def send_automation_webhook(self, **values: Any) -> Any:
        """`POST /v1/send-automation-webhook`: Tellescope delivers the webhook and answers once
        the receiver has, failing when the delivery failed."""
        body = {k: v for k, v in values.items() if v is not None}
        return await self.request(
            "POST",
            "/v1/send-automation-webhook",
            body=body,
            timeout=self.settings.webhook_timeout_seconds,
        )

    async def automation_user_id(self) -> str:
        """The user that renders merge fields of actions without a sender: configured, else the
        organisation's oldest user (its first administrator)."""
        if self._automation_user_id is None:
            users = await self.list("users", limit=1, sort="oldFirst")
            if not users:
                raise cannot_perform("the organisation has no users to render merge fields as")
            self._automation_user_id = users[0]["id"]
        return self._automation_user_id
