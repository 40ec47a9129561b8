"""Pages for people: the index of journeys (GET /journeys, and / redirects there) and each
journey's flowchart with patients per step, refreshed live from GET /journeys/{id}/live
(docs/decisions.md D24).

No API key in a URL (it would land in browser history and access logs; `?apiKey=` is refused).
A browser signs in once: GET /journeys/sign-in is a small form that POSTs the key, and the answer
sets an HttpOnly, SameSite=Strict cookie holding a signed, expiring session (no key inside;
services.page_sessions), then redirects to the page. Programs send `Authorization: API_KEY <key>`
as everywhere else. `POST /v1/page-links` (API key in the header) makes a one-click link valid for
five minutes: opening it sets the same cookie and redirects to the page without the token.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import ApiKeyDep, StateDep, StoreDep, api_key_header, check_api_key
from api.errors import ApiError, error_response
from api.state import AppState, EngineStore
from services.journey_html import index_page, journey_page
from services.journey_page import index, live
from services.journeys import plan_of, resolve_journey
from services.page_sessions import LINK_SECONDS, SESSION_COOKIE
from store.tables import ApiKeyRow
from temporal_connection import temporal_namespace

router = APIRouter(tags=["pages"])
links = APIRouter(prefix="/v1", tags=["pages"])

SIGN_IN = "/journeys/sign-in"
URL_KEY_REFUSED = (
    "API keys are not accepted in URLs (they end up in browser history and logs): sign in below."
)


def own_page(target: str | None) -> bool:
    """Only our own pages may be redirected to (no open redirect)."""
    return target is not None and (target == "/journeys" or target.startswith("/journeys/"))


def _safe_next(target: str | None) -> str:
    return target if target is not None and own_page(target) else "/docs"


def sign_in_page(next_url: str, message: str = "", status: int = 200) -> HTMLResponse:
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Journey Engine</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto}}
input{{width:100%;padding:.4rem;margin:.3rem 0 1rem}}.error{{color:#b00}}</style></head>
<body><h1>Journey Engine</h1>{note}
<form method="post" action="{SIGN_IN}">
<label for="apiKey">API key</label>
<input id="apiKey" name="apiKey" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{html.escape(next_url)}">
<button type="submit">Sign in</button></form></body></html>"""
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def with_session(response: Response, request: Request, state: AppState, key_id: str) -> Response:
    seconds = state.settings.page_session_hours * 3600
    response.set_cookie(
        SESSION_COOKIE,
        state.page_signer.sign(key_id, "session", seconds),
        max_age=int(seconds),
        path="/journeys",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _live_key(store: EngineStore, key_id: str) -> bool:
    with Session(store.engine) as session:
        row = session.get(ApiKeyRow, key_id)
        return row is not None and row.revoked_at is None


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def page_access(
    request: Request,
    store: StoreDep,
    state: StateDep,
    authorization: Annotated[str | None, Depends(api_key_header)] = None,
) -> Response | None:
    """None when the caller may see the page; otherwise the answer to give (sign-in form for a
    browser, the JSON 401 for a program, a redirect that trades a link token for a cookie)."""
    if authorization:
        await run_in_threadpool(check_api_key, store, authorization)  # 401 when wrong
        return None
    signer, params = state.page_signer, request.query_params
    token = params.get("token")
    if token:
        key_id = signer.verify(token, "link")
        if key_id and await run_in_threadpool(_live_key, store, key_id):
            redirect = RedirectResponse(request.url.path, status_code=303)
            return with_session(redirect, request, state, key_id)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and not token and "apiKey" not in params:
        key_id = signer.verify(cookie, "session")
        if key_id and await run_in_threadpool(_live_key, store, key_id):
            return None
    message = URL_KEY_REFUSED if "apiKey" in params else ""
    if token:
        message = "This sign-in link has expired or is not valid: sign in below."
    if _wants_html(request):
        return sign_in_page(request.url.path, message, status=401)
    return error_response(401, message or "Unauthenticated")


def action_result(request: Request) -> str:
    """What the page says after a pause or resume button (api.routes.page_actions redirects
    here with `?did=pause&n=..&notRunning=..&failed=..`); empty otherwise."""
    params = request.query_params
    verb = params.get("did")
    if verb not in ("pause", "resume"):
        return ""
    try:
        n, idle, failed = (int(params.get(k, "0")) for k in ("n", "notRunning", "failed"))
    except ValueError:
        return ""
    done = "Paused" if verb == "pause" else "Resumed"
    noun = "enrollment" if n == 1 else "enrollments"
    text = f"{done} {n} {noun}"
    if idle:
        text += f"; {idle} not running"
    if failed:
        text += f"; {failed} failed (Temporal did not take the signal: press again)"
    return text + "."


@router.get(SIGN_IN, include_in_schema=False)
async def sign_in_form(request: Request) -> HTMLResponse:
    return sign_in_page(_safe_next(request.query_params.get("next")))


@router.post(SIGN_IN, include_in_schema=False)
async def sign_in(request: Request, store: StoreDep, state: StateDep) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("apiKey") or [""])[0].strip()
    target = _safe_next((form.get("next") or [""])[0])
    try:
        row = await run_in_threadpool(check_api_key, store, f"API_KEY {key}")
    except ApiError:
        return sign_in_page(target, "That API key is not valid.", status=401)
    return with_session(RedirectResponse(target, status_code=303), request, state, row.id)


@router.post("/journeys/sign-out", include_in_schema=False)
async def sign_out() -> Response:
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/journeys", httponly=True, samesite="strict")
    return response


@router.get("/", include_in_schema=False)
async def root() -> Response:
    return RedirectResponse("/journeys", status_code=307)


@router.get(
    "/journeys",
    response_class=HTMLResponse,
    summary="Every deployed journey with its version and patients per enrollment state",
)
async def journeys_index(
    store: StoreDep, refused: Annotated[Response | None, Depends(page_access)]
) -> Response:
    if refused is not None:
        return refused
    summaries = await run_in_threadpool(lambda: index(store.plans.current_plans(), store.ledger))
    return HTMLResponse(index_page(summaries), headers={"Cache-Control": "no-store"})


@router.get(
    "/journeys/{journeyId}",
    response_class=HTMLResponse,
    summary="The journey as a flowchart, with patients per step, refreshed live",
)
async def journey(
    journeyId: str,
    request: Request,
    store: StoreDep,
    state: StateDep,
    refused: Annotated[Response | None, Depends(page_access)],
) -> Response:
    if refused is not None:
        return refused
    plan = plan_of(store.plans, resolve_journey(store.plans, journeyId))
    engine = state.engine_settings
    data = await run_in_threadpool(live, plan, store.ledger)
    cookie = request.cookies.get(SESSION_COOKIE)
    page = journey_page(
        plan,
        data,
        ui_url=engine.temporal_ui_url.rstrip("/"),
        namespace=temporal_namespace(engine),
        # the pause and resume forms (api.routes.page_actions); a program has no session
        csrf=state.page_signer.csrf_token(cookie) if cookie else "",
        result=action_result(request),
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get(
    "/journeys/{journeyId}/live",
    summary="What the journey page polls: patients per step and the patients waiting at each",
)
async def journey_live(
    journeyId: str,
    store: StoreDep,
    refused: Annotated[Response | None, Depends(page_access)],
) -> Response:
    if refused is not None:
        return refused
    plan = plan_of(store.plans, resolve_journey(store.plans, journeyId))
    data = await run_in_threadpool(live, plan, store.ledger)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


class PageLinkRequest(BaseModel):
    journeyId: str = Field(min_length=1, max_length=200)
    # with an enduser: the link opens that patient's page (api.routes.patient_page)
    enduserId: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"
    )


class PageLink(BaseModel):
    url: str  # relative to the API's base URL
    expiresAt: datetime


@links.post(
    "/page-links",
    response_model=PageLink,
    summary="A one-click sign-in link to a journey page (or a patient's page with enduserId),"
    " valid for five minutes",
)
async def page_link(
    body: PageLinkRequest, key: ApiKeyDep, store: StoreDep, state: StateDep
) -> PageLink:
    row = resolve_journey(store.plans, body.journeyId)
    token = state.page_signer.sign(key.id, "link", LINK_SECONDS)
    path = f"/journeys/{quote(row.journey_id, safe='')}"
    if body.enduserId is not None:
        path += f"/enrollments/{body.enduserId}"
    return PageLink(
        url=f"{path}?token={token}",
        expiresAt=datetime.now(UTC) + timedelta(seconds=LINK_SECONDS),
    )
