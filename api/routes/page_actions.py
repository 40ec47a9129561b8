"""Pause and resume from the journey page and the patient page (docs/decisions.md D28): HTML
forms POST here with the page's sign-in cookie, and services.pausing does what the API's
POST /v1/journeys/{id}/pause does.

A cookie rides along with any request the browser makes, so a cookie-authenticated POST needs
protection against cross-site request forgery, in three layers: the cookie is SameSite=Strict
(a browser does not send it on a request another site starts); the Origin header (or, without
one, the Referer) must name this server; and the form must carry the session's CSRF token
(services.page_sessions), which only a page of this origin can read. A POST without a valid
session answers 401, a failed check 403, and neither signals anything. Programs with
`Authorization: API_KEY` use the /v1 routes instead (api.routes.pausing).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from api.deps import StateDep, StoreDep, TemporalDep
from api.errors import error_response
from api.routes.pages import own_page
from api.state import AppState, EngineStore
from services import pausing
from services.errors import NotFound
from services.journeys import resolve_journey
from services.page_sessions import SESSION_COOKIE
from store.tables import ApiKeyRow

router = APIRouter(tags=["pages"])

Verb = Literal["pause", "resume"]
ENDUSER_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _key_row(store: EngineStore, key_id: str) -> ApiKeyRow | None:
    with Session(store.engine) as session:
        row = session.get(ApiKeyRow, key_id)
        return row if row is not None and row.revoked_at is None else None


def _same_origin(request: Request) -> bool:
    """The Origin header, or the Referer's origin when a browser sent no Origin, names this
    server (its Host); a POST with neither is refused (browsers send one of them on a form
    POST). The scheme is not compared: TLS may end at a proxy that forwards plain HTTP."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    host = request.headers.get("host") or request.url.netloc
    return urlsplit(source).netloc.lower() == host.lower()


async def _checked(
    request: Request, store: EngineStore, state: AppState
) -> tuple[ApiKeyRow | None, dict[str, list[str]], Response | None]:
    """(the session's API key, the form, None) or the refusal to answer."""
    cookie = request.cookies.get(SESSION_COOKIE)
    key_id = state.page_signer.verify(cookie, "session") if cookie else None
    key = await run_in_threadpool(_key_row, store, key_id) if key_id else None
    if cookie is None or key is None:
        return None, {}, error_response(401, "Sign in first (GET /journeys/sign-in)")
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("csrf") or [""])[0]
    if not _same_origin(request) or not state.page_signer.check_csrf(cookie, token):
        return None, {}, error_response(403, "Refused: this form did not come from this server")
    return key, form, None


def _result(target: str, verb: Verb, report: pausing.PauseReport) -> Response:
    """303 to the page, which shows what happened (POST-redirect-GET: a reload does not
    resend the form)."""
    query = urlencode(
        {
            "did": verb,
            "n": len(report.signalled),
            "notRunning": len(report.notRunning),
            "failed": len(report.failed),
        }
    )
    return RedirectResponse(f"{target}?{query}", status_code=303)


async def _journey(
    journey_ref: str,
    verb: Verb,
    request: Request,
    store: StoreDep,
    state: StateDep,
    temporal: TemporalDep,
) -> Response:
    key, _form, refused = await _checked(request, store, state)
    if refused is not None or key is None:
        return refused or error_response(401, "Unauthenticated")
    row = resolve_journey(store.plans, journey_ref)
    report = await pausing.pause_journey(
        temporal,
        store.ledger,
        row.journey_id,
        verb,
        by=f"page {key.name or key.id}",
        concurrency=state.settings.bulk_concurrency,
    )
    return _result(f"/journeys/{quote(row.journey_id, safe='')}", verb, report)


async def _one(
    journey_ref: str,
    enduser_id: str,
    verb: Verb,
    request: Request,
    store: StoreDep,
    state: StateDep,
    temporal: TemporalDep,
) -> Response:
    key, form, refused = await _checked(request, store, state)
    if refused is not None or key is None:
        return refused or error_response(401, "Unauthenticated")
    if not enduser_id or len(enduser_id) > 64 or not set(enduser_id) <= ENDUSER_CHARS:
        return error_response(400, f'enduserId "{enduser_id[:64]}" is not an enduser id')
    row = resolve_journey(store.plans, journey_ref)
    report = pausing.PauseReport(journeyId=row.journey_id, action=verb)
    try:
        await pausing.pause_enrollment(
            temporal, row.journey_id, enduser_id, verb, by=f"page {key.name or key.id}"
        )
        report.signalled.append(enduser_id)
    except NotFound:
        report.notRunning.append(enduser_id)
    # back to the page the button was on: the patient's page (`next`), else the journey page
    target = (form.get("next") or [""])[0]
    if not own_page(target):
        target = f"/journeys/{quote(row.journey_id, safe='')}"
    return _result(target, verb, report)


@router.post("/journeys/{journeyId}/pause", include_in_schema=False)
async def pause_journey(
    journeyId: str, request: Request, store: StoreDep, state: StateDep, temporal: TemporalDep
) -> Response:
    return await _journey(journeyId, "pause", request, store, state, temporal)


@router.post("/journeys/{journeyId}/resume", include_in_schema=False)
async def resume_journey(
    journeyId: str, request: Request, store: StoreDep, state: StateDep, temporal: TemporalDep
) -> Response:
    return await _journey(journeyId, "resume", request, store, state, temporal)


@router.post("/journeys/{journeyId}/enrollments/{enduserId}/pause", include_in_schema=False)
async def pause_enrollment(
    journeyId: str,
    enduserId: str,
    request: Request,
    store: StoreDep,
    state: StateDep,
    temporal: TemporalDep,
) -> Response:
    return await _one(journeyId, enduserId, "pause", request, store, state, temporal)


@router.post("/journeys/{journeyId}/enrollments/{enduserId}/resume", include_in_schema=False)
async def resume_enrollment(
    journeyId: str,
    enduserId: str,
    request: Request,
    store: StoreDep,
    state: StateDep,
    temporal: TemporalDep,
) -> Response:
    return await _one(journeyId, enduserId, "resume", request, store, state, temporal)
