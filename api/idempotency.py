"""`Idempotency-Key` on POST requests, as plain ASGI (after the body limit, before the app).

A client that may retry a POST (a timeout, a dropped connection) sends `Idempotency-Key: <key>`
(the IETF httpapi draft, as Stripe uses it). The first request with a key runs; its answer is
stored (`store.idempotency_keys`) and replayed, with `Idempotent-Replayed: true`, to every later
request with the same key, caller and body, for 24 hours: a retried enrollment never starts,
restarts or removes anything twice. The same key with another body is refused (422); a retry
while the first request still runs is told to come back (409 with Retry-After). An answer of 500
or more is not kept (nothing was done, or nothing known to be done): the key is released and a
retry runs afresh. Keys are scoped to the caller (a hash of its Authorization header) and the
method and path, so two callers' keys never meet. Webhook deliveries have their own claims
(docs/decisions.md D13) and ignore the header.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool

from store.idempotency_keys import IdempotencyKeys

Scope = dict[str, Any]
Receive = Callable[..., Any]
Send = Callable[..., Any]

HEADER = b"idempotency-key"
# Printable ASCII without spaces or quotes, at most 255 characters (the column's size).
VALID_KEY = re.compile(r"^[!#-~]{1,255}$")
RETRY_AFTER_SECONDS = 1
EXEMPT_PREFIXES = ("/v1/webhooks/",)


async def _send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


def _error(status: int, message: str) -> dict[str, Any]:
    return {"message": message, "code": status, "info": {"header": "Idempotency-Key"}}


class IdempotencyMiddleware:
    def __init__(self, app: Any, *, keys: Callable[[Scope], IdempotencyKeys | None]) -> None:
        self.app = app
        self.keys = keys  # the store's repository, once the app's lifespan has opened it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(HEADER)
        path = scope.get("path", "")
        if raw_key is None or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not VALID_KEY.match(key):
            await _send_json(
                send,
                400,
                _error(400, "Idempotency-Key must be 1 to 255 printable characters, no spaces"),
            )
            return
        keys = self.keys(scope)
        if keys is None:  # not started yet: nothing can be remembered, so nothing may run
            await _send_json(send, 503, _error(503, "The API is starting"))
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        caller = hashlib.sha256(headers.get(b"authorization", b"")).hexdigest()[:32]
        operation = f"{caller}:POST:{path}"
        digest = hashlib.sha256(bytes(body)).hexdigest()
        begun = await run_in_threadpool(keys.begin, operation, key, digest)
        if begun.outcome == "replay":
            await _send_json(
                send,
                begun.status or 200,
                json.dumps(begun.body).encode(),
                [(b"idempotent-replayed", b"true")],
            )
            return
        if begun.outcome == "mismatch":
            await _send_json(
                send, 422, _error(422, "Idempotency-Key was used with another request body")
            )
            return
        if begun.outcome == "in_progress":
            await _send_json(
                send,
                409,
                _error(409, "A request with this Idempotency-Key is in progress; retry later"),
                [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
            )
            return

        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # type: ignore[no-any-return]

        status = 500
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, capture)
        except BaseException:
            await run_in_threadpool(keys.release, operation, key)
            raise
        if status >= 500:
            await run_in_threadpool(keys.release, operation, key)
            return
        raw = b"".join(chunks)
        try:
            stored: Any = json.loads(raw) if raw else None
        except ValueError:
            stored = raw.decode("utf-8", "replace")
        await run_in_threadpool(keys.complete, operation, key, status, stored)
