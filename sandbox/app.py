"""The FastAPI application, assembled from the routers, plus the fault-injecting ASGI wrapper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from sandbox.errors import install_error_handlers
from sandbox.faults import FaultInjectionApp
from sandbox.paths import CollapseSlashes
from sandbox.routers import (
    automation_triggers,
    forms,
    handlers,
    journeys,
    messaging,
    observe,
    patient,
    tickets,
    webhooks,
)
from sandbox.routers.crud import build_crud_router
from sandbox.runtime import Sandbox, build_sandbox
from sandbox.settings import SandboxSettings


def create_app(
    settings: SandboxSettings | None = None, *, reset: bool = False, sandbox: Sandbox | None = None
) -> FastAPI:
    sandbox = sandbox or build_sandbox(settings or SandboxSettings(), reset=reset)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sandbox.webhooks.start()
        try:
            yield
        finally:
            await sandbox.webhooks.stop()
            sandbox.close()

    app = FastAPI(
        title="Journey Engine Tellescope sandbox",
        description="Tellescope's REST wire protocol, served locally (see sandbox/__init__.py).",
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    # `/v1//tickets/close` (how Tellescope's SDK sends custom actions) is `/v1/tickets/close`.
    app.add_middleware(CollapseSlashes)
    install_error_handlers(app)
    # Custom actions first: their paths must win over the generic /v1/<model>/... routes.
    for router in (
        messaging,
        forms,
        tickets,
        journeys,
        automation_triggers,
        webhooks,
        patient,
        observe,
        handlers,
    ):
        app.include_router(router.router)
    app.include_router(build_crud_router())

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/sandbox/outbox")

    return app


def with_fault_injection(app: FastAPI) -> Any:
    """The ASGI callable to serve: faults are injected outside FastAPI so `drop` can really
    drop the connection. Paths are normalised first, so fault `paths` match what the SDK sends."""
    return CollapseSlashes(FaultInjectionApp(app, app.state.sandbox.faults))
