"""Health without an API key.

- `/health/live`: the process answers (no dependency is called); 200 `{"status": "ok"}`.
- `/health/ready`: the database and Temporal each answer a real call NOW (`SELECT 1`,
  `GetSystemInfo` without retries), each within `HEALTH_TIMEOUT_SECONDS`: 200 with the body
  `/health` always had (status, database, temporal). Otherwise 503 with Retry-After and the
  usual error body; `info.failed` names the dependencies that did not answer, `info.<name>` why.
- `/health`: an alias of `/health/ready`.

Orchestrators: liveness on /health/live (restart a hung process), readiness on /health/ready
(stop routing requests while Temporal or the database is down).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from api.deps import StateDep
from api.errors import RETRY_AFTER, ErrorBody, error_response
from api.schemas import Health
from api.state import AppState

router = APIRouter(tags=["health"])

HEALTH_TIMEOUT_SECONDS = 2.0
NOT_READY = {
    503: {"model": ErrorBody, "description": "A dependency did not answer (`info.failed`)"}
}


@router.get("/health/live", summary="Liveness: the process answers (no dependency called)")
async def live() -> dict[str, str]:
    return {"status": "ok"}


def _select_one(state: AppState) -> str:
    with state.store.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return state.store.engine.dialect.name


async def _check_database(state: AppState) -> str:
    return await asyncio.wait_for(run_in_threadpool(_select_one, state), HEALTH_TIMEOUT_SECONDS)


async def _check_temporal(state: AppState) -> str:
    async def call() -> None:
        client = await state.temporal_client()
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(),
            retry=False,
            timeout=timedelta(seconds=HEALTH_TIMEOUT_SECONDS),
        )

    await asyncio.wait_for(call(), HEALTH_TIMEOUT_SECONDS + 0.5)
    return "connected"


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {HEALTH_TIMEOUT_SECONDS:g}s"
    return (getattr(error, "message", None) or str(error) or type(error).__name__)[:300]


async def readiness(state: AppState) -> Health | JSONResponse:
    names = ("database", "temporal")
    results = await asyncio.gather(
        _check_database(state), _check_temporal(state), return_exceptions=True
    )
    failed: dict[str, Any] = {
        name: _reason(result)
        for name, result in zip(names, results, strict=True)
        if isinstance(result, BaseException)
    }
    if failed:
        message = "Not ready: " + "; ".join(f"{n} did not answer ({r})" for n, r in failed.items())
        return error_response(503, message, {"failed": list(failed), **failed}, RETRY_AFTER)
    database, temporal = results
    return Health(status="ok", database=str(database), temporal=str(temporal))


@router.get(
    "/health/ready",
    response_model=Health,
    responses=NOT_READY,
    summary="Readiness: the database and Temporal answer now",
)
async def ready(state: StateDep) -> Health | JSONResponse:
    return await readiness(state)


@router.get(
    "/health",
    response_model=Health,
    responses=NOT_READY,
    summary="Alias of /health/ready (no API key)",
)
async def health(state: StateDep) -> Health | JSONResponse:
    return await readiness(state)
