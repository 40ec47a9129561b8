"""The patient page, GET /journeys/{journeyId}/enrollments/{enduserId}: one enrollment's
timeline and the trigger decisions about the enduser (docs/operator-view.md §4). Same sign-in as
the journey page (`api.routes.pages.page_access`: session cookie, link token or API key header);
with a session, Pause and Resume buttons for the enrollment (api.routes.page_actions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from api.deps import StateDep
from api.routes.pages import action_result, page_access
from api.routes.timeline import build_timeline
from api.schemas import EnduserId
from services.page_sessions import SESSION_COOKIE
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
    request: Request,
    state: StateDep,
    refused: Annotated[Response | None, Depends(page_access)],
) -> Response:
    if refused is not None:
        return refused
    timeline = await build_timeline(state, journeyId, enduserId)
    cookie = request.cookies.get(SESSION_COOKIE)
    csrf = state.page_signer.csrf_token(cookie) if cookie else ""  # api.routes.page_actions
    page = await run_in_threadpool(
        lambda: render(timeline, csrf=csrf, result=action_result(request))
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
