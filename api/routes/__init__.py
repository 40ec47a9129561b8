"""Routers, one module per resource; `api_router` includes them all (see api.main)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import require_api_key
from api.routes import (
    automated_actions,
    deployments,
    enrollments,
    events,
    health,
    migrations,
    outcomes,
    page_actions,
    pages,
    patient_page,
    pausing,
    tellescope,
    timeline,
    webhooks,
)

api_router = APIRouter()
api_router.include_router(health.router)
# Tellescope webhooks authenticate by their integrity hash, not by API key.
api_router.include_router(webhooks.router)
_keyed = [Depends(require_api_key)]
api_router.include_router(enrollments.router, dependencies=_keyed)
api_router.include_router(pausing.router, dependencies=_keyed)
api_router.include_router(migrations.router, dependencies=_keyed)
api_router.include_router(tellescope.router, dependencies=_keyed)
api_router.include_router(automated_actions.router, dependencies=_keyed)
api_router.include_router(events.router, dependencies=_keyed)
api_router.include_router(outcomes.router, dependencies=_keyed)
api_router.include_router(deployments.router, dependencies=_keyed)
api_router.include_router(timeline.router, dependencies=_keyed)
# Pages take the key from the header or a signed session cookie (no key in a URL: api.routes.pages).
api_router.include_router(pages.links, dependencies=_keyed)
api_router.include_router(pages.router)
api_router.include_router(patient_page.router)
# Pause and resume buttons: the session cookie plus CSRF checks (api.routes.page_actions).
api_router.include_router(page_actions.router)
