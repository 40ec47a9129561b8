"""The patient page, GET /journeys/{journeyId}/enrollments/{enduserId}: one enrollment's
timeline and the trigger decisions about the enduser (docs/operator-view.md §4). Same sign-in as
the journey page (`api.routes.pages.page_access`: session cookie, link token or API key header)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from api.deps import StateDep
from api.routes.pages import page_access
from api.routes.timeline import build_timeline
from api.schemas import EnduserId
from services.patient_page import render

router = APIRouter(tags=["pages"])


@router.get(
    "/journeys/{journeyId}/enrollments/{enduserId}",
    response_class=HTMLResponse,
    summary="One patient's timeline in a journey, and the trigger decisions about them",
)
async def patient_page(
    journeyId: Annotated[str, Path(min_length=1, max_length=200)],
    enduserId: Annotated[EnduserId, Path()],
    state: StateDep,
    refused: Annotated[Response | None, Depends(page_access)],
) -> Response:
    if refused is not None:
        return refused
    timeline = await build_timeline(state, journeyId, enduserId)
    page = await run_in_threadpool(render, timeline)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
