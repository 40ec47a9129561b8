"""Pages for people: the journey flowchart with live per-step counts (GET /journeys/{id}).

Browsers cannot send an `Authorization` header from a link, so pages also take the API key as
the `apiKey` query parameter, as Tellescope's API does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.deps import StateDep, StoreDep, api_key_header, check_api_key
from services.journey_page import render
from services.journeys import plan_of, resolve_journey
from store.tables import ApiKeyRow
from temporal_connection import temporal_namespace

router = APIRouter(tags=["pages"])


def require_page_key(
    store: StoreDep,
    authorization: Annotated[str | None, Depends(api_key_header)] = None,
    apiKey: Annotated[
        str | None, Query(description="The API key, for links opened in a browser")
    ] = None,
) -> ApiKeyRow:
    header = authorization or (f"API_KEY {apiKey}" if apiKey else None)
    return check_api_key(store, header)


@router.get(
    "/journeys/{journeyId}",
    response_class=HTMLResponse,
    summary="The journey as a flowchart, with live AutomatedAction counts per step",
    dependencies=[Depends(require_page_key)],
)
async def journey_page(journeyId: str, store: StoreDep, state: StateDep) -> HTMLResponse:
    row = resolve_journey(store.plans, journeyId)
    plan = plan_of(store.plans, row)
    engine = state.engine_settings
    page = await run_in_threadpool(
        render,
        plan,
        store.ledger,
        ui_url=engine.temporal_ui_url.rstrip("/"),
        namespace=temporal_namespace(engine),
    )
    return HTMLResponse(page)
