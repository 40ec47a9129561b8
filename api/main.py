"""The FastAPI app (full-stack-template layout): `create_app()` builds it, the lifespan opens
what it holds for its lifetime (one Temporal client with the pydantic data converter, one
TellescopeClient, the store, migrated to the newest schema) on `app.state.journeys`.

    journeys api --host 0.0.0.0 --port 8000      (uvicorn api.main:create_app --factory)

Every route but `/health`, `/health/live`, `/health/ready` and the Tellescope webhook receiver
takes `Authorization: API_KEY <key>`; the journey pages also take a signed session cookie
(api.routes.pages).
OpenAPI at /openapi.json, docs at /docs and /redoc (offline: api.docs_pages).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.docs_pages import install_docs_pages
from api.errors import ErrorBody, install_error_handlers
from api.idempotency import IdempotencyMiddleware
from api.metrics import ApiMetrics
from api.metrics import router as metrics_router
from api.middleware import BodyLimitMiddleware
from api.openapi_extra import COMPONENTS
from api.redaction import install_access_log_redaction
from api.state import AppState, EngineStore
from services.gc_freeze import freeze_startup_heap
from settings import ApiSettings, EngineSettings, TellescopeSettings, load_settings
from store.db import get_engine, upgrade_engine
from store.idempotency_keys import IdempotencyKeys
from tellescope.client import TellescopeClient
from temporal_connection import TemporalConnectionError, connect_temporal
from triggers.active import warm_trigger_caches

log = logging.getLogger("journeys.api")


ERROR_DESCRIPTIONS = {
    "401": "Unauthenticated",
    "404": "Unknown journey, enduser or record",
    "422": "The request does not match the schema (`info.path` names the field)",
}


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(
    settings: ApiSettings | None = None,
    *,
    engine_settings: EngineSettings | None = None,
    temporal=None,
    tellescope: TellescopeClient | None = None,
    tellescope_settings: TellescopeSettings | None = None,
) -> FastAPI:
    """The app. Tests hand in a Temporal client (a test server's) and a TellescopeClient (the
    sandbox's); otherwise both come from the environment, connected in the lifespan."""
    from api.routes import api_router

    # A wrong setting is one line on stderr and exit status 1, not a traceback (settings.py).
    settings = settings or load_settings(ApiSettings)
    engine_settings = engine_settings or load_settings(EngineSettings)
    if settings.webhook_secret is None:
        log.warning(
            "WEBHOOK_SECRET is not set: Tellescope webhook deliveries will be refused (401)"
        )
    install_access_log_redaction()  # no key or token in the access log (api.redaction)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = get_engine(engine_settings.database_url)
        await run_in_threadpool(upgrade_engine, engine)
        store = EngineStore.for_engine(engine, engine_settings)
        await run_in_threadpool(
            store.webhooks.purge, timedelta(hours=settings.webhook_retention_hours)
        )
        own_tellescope = tellescope is None
        client = temporal
        if client is None:
            try:
                client = await connect_temporal(engine_settings, timeout=10.0)
            except TemporalConnectionError as error:  # served anyway; connected on first use
                log.warning("%s (retried on first use)", error)
        state = AppState(
            settings=settings,
            engine_settings=engine_settings,
            store=store,
            tellescope=tellescope
            or TellescopeClient.from_settings(tellescope_settings or TellescopeSettings()),
            temporal=client,
            metrics=metrics,
        )
        app.state.journeys = state
        metrics.ledger.ledger = store.ledger  # the waiting/overdue gauges read it when scraped
        # The triggers in force and the step routing, built now rather than by the first event,
        # then the start-up heap frozen out of the garbage collector's way (services.gc_freeze).
        await run_in_threadpool(warm_trigger_caches, store.plans)
        freeze_startup_heap()
        try:
            yield
        finally:
            if own_tellescope:
                await state.tellescope.aclose()

    app = FastAPI(
        title="Journey Engine API",
        version="1",
        description=(
            "Tellescope-compatible patient-journey automation on Temporal. Authenticate with"
            " `Authorization: API_KEY <key>` (`journeys api-key create`). Errors are"
            ' `{"message", "code", "info"}`.'
        ),
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        docs_url=None,  # served from installed assets, not a CDN (api.docs_pages)
        redoc_url=None,
    )
    install_error_handlers(app)
    install_docs_pages(app)

    app.include_router(api_router)
    metrics = ApiMetrics()  # GET /metrics (docs/metrics.md §3)
    app.state.metrics = metrics
    app.include_router(metrics_router)

    def idempotency_keys(scope: dict) -> IdempotencyKeys | None:
        state = getattr(app.state, "journeys", None)
        return state.store.idempotency_keys if state is not None else None

    # Added first, so it runs inside the body limit (it buffers the body it fingerprints).
    app.add_middleware(IdempotencyMiddleware, keys=idempotency_keys)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=settings.api_max_body_bytes,
        limits={"/v1/webhooks/": settings.webhook_max_body_bytes},
    )

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in COMPONENTS.items():
                components.setdefault(name, definition)
            # Validation errors answer our error shape, not FastAPI's `{detail}`.
            components["HTTPValidationError"] = ErrorBody.model_json_schema()
            for operation in (op for ops in schema["paths"].values() for op in ops.values()):
                for status in ("422", "401", "404"):
                    if status == "401" and "security" not in operation:
                        continue  # /health; webhooks authenticate by integrity (documented)
                    operation["responses"].setdefault(
                        status,
                        {
                            "description": ERROR_DESCRIPTIONS[status],
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/HTTPValidationError"}
                                }
                            },
                        },
                    )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    return app
