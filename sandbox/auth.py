"""API-key authentication, as Tellescope does it.

A key may come as `Authorization: API_KEY <key>` or as the `apiKey` parameter (query string or
JSON body). Keys are stored hashed; each belongs to a user of the organisation, who becomes the
caller of every request made with it. The /sandbox helpers need no key but answer loopback
clients only.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated, Any

from fastapi import Depends, Request

from sandbox.db import Store
from sandbox.errors import UNAUTHENTICATED, TellescopeError
from sandbox.records import Caller
from sandbox.request_body import json_body
from sandbox.settings import SandboxSettings

API_KEYS = "api_keys"
_LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return secrets.token_hex(32)


class ApiKeys:
    def __init__(self, store: Store, settings: SandboxSettings, admin: Caller) -> None:
        self.store = store
        self.admin = admin
        self._configured = {hash_key(settings.dev_api_key), *map(hash_key, settings.extra_api_keys)}

    def caller_for(self, key: str | None) -> Caller | None:
        if not key:
            return None
        hashed = hash_key(key)
        if hashed in self._configured:
            return self.admin
        for record in self.store.scan(API_KEYS):
            if secrets.compare_digest(record.get("hashedKey", ""), hashed):
                return Caller(user_id=record["userId"], business_id=record["businessId"])
        return None


def presented_key(request: Request, body: dict[str, Any] | None) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.upper() == "API_KEY" and value.strip():
        return value.strip()
    if request.query_params.get("apiKey"):
        return request.query_params["apiKey"]
    if body and isinstance(body.get("apiKey"), str):
        return body["apiKey"]
    return None


async def require_caller(request: Request) -> Caller:
    """FastAPI dependency for every /v1 route."""
    sandbox = request.app.state.sandbox
    body = await json_body(request) if request.method != "GET" else None
    caller = sandbox.api_keys.caller_for(presented_key(request, body))
    if caller is None:
        raise TellescopeError(401, UNAUTHENTICATED)
    return caller


async def require_loopback(request: Request) -> None:
    """FastAPI dependency for the /sandbox helpers: they act without a key, so stay local."""
    settings: SandboxSettings = request.app.state.sandbox.settings
    host = request.client.host if request.client else ""
    if host not in _LOOPBACK and not settings.allow_remote_helpers:
        raise TellescopeError(403, "Sandbox helpers answer loopback clients only")


# The caller of a /v1 route, resolved from its API key.
CallerDep = Annotated[Caller, Depends(require_caller)]
