"""Typed dependencies for the routes (the full-stack-template style: declare `store: StoreDep`).

| alias | what |
|---|---|
| `StateDep` | the app's `AppState` |
| `SettingsDep` | `ApiSettings` |
| `StoreDep` | the engine store (plans, ledger, API keys, webhook claims) |
| `SessionDep` | a sqlmodel Session on the store's engine, closed after the request |
| `TemporalDep` | the Temporal client (503 when Temporal cannot be reached) |
| `TellescopeDep` | the shared TellescopeClient |
| `TriggerDepsDep` | what the trigger engine needs (store, Temporal client, TellescopeClient) |
| `ApiKeyDep` | the caller's API key row (401 without a valid `Authorization: API_KEY <key>`) |
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from sqlmodel import Session
from temporalio.client import Client

from api.errors import unauthenticated
from api.state import AppState, EngineStore
from settings import ApiSettings
from store.db import session_for
from store.tables import ApiKeyRow
from tellescope.client import TellescopeClient
from triggers.dispatch import TriggerDeps

# The dependencies below are `async def` although they do no I/O: FastAPI runs a plain `def`
# dependency in its threadpool, and that hop (a thread handoff under the GIL) cost more than the
# rest of a request's dependencies together (BENCHMARKS.md, "enrollments through the API").


async def get_state(request: Request) -> AppState:
    return request.app.state.journeys


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> ApiSettings:
    return state.settings


async def get_store(state: StateDep) -> EngineStore:
    return state.store


def get_session(state: StateDep) -> Iterator[Session]:
    with session_for(state.store.engine) as session:
        yield session


async def get_temporal(state: StateDep) -> Client:
    return await state.temporal_client()  # TemporalUnavailable: 503 (api.errors)


async def get_tellescope(state: StateDep) -> TellescopeClient:
    return state.tellescope


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
StoreDep = Annotated[EngineStore, Depends(get_store)]
SessionDep = Annotated[Session, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
TellescopeDep = Annotated[TellescopeClient, Depends(get_tellescope)]


async def get_trigger_deps(state: StateDep, temporal: TemporalDep) -> TriggerDeps:
    return state.trigger_deps(temporal)


TriggerDepsDep = Annotated[TriggerDeps, Depends(get_trigger_deps)]

api_key_header = APIKeyHeader(
    name="Authorization",
    scheme_name="ApiKey",
    description="`API_KEY <key>` (create one with `journeys api-key create`)",
    auto_error=False,
)


def check_api_key(store: EngineStore, authorization: str | None) -> ApiKeyRow:
    """The caller's key row, or 401 (blocking: a DB read)."""
    scheme, _, key = (authorization or "").strip().partition(" ")
    if scheme != "API_KEY" or not key.strip():
        raise unauthenticated()
    row = store.api_keys.verify(key.strip())
    if row is None:
        raise unauthenticated()
    return row


async def require_api_key(
    store: StoreDep, authorization: Annotated[str | None, Security(api_key_header)] = None
) -> ApiKeyRow:
    """A key verified in the last few seconds is taken from memory (store.api_keys); otherwise
    the DB read runs in the threadpool, off the event loop."""
    scheme, _, key = (authorization or "").strip().partition(" ")
    if scheme == "API_KEY" and key.strip():
        row = store.api_keys.verify_cached(key.strip())
        if row is not None:
            return row
    return await run_in_threadpool(check_api_key, store, authorization)


ApiKeyDep = Annotated[ApiKeyRow, Depends(require_api_key)]
