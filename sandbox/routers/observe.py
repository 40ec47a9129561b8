"""Observe and steer the sandbox (no API key; loopback only).

GET    /sandbox/outbox          HTML, or JSON with Accept: application/json or ?format=json;
                                ?inbound=true ?enduserId= ?channel= ?limit= ?refresh=seconds
GET    /sandbox/stats           record counts per model, messages sent, webhooks, faults
PUT    /sandbox/faults          {rate, kinds, paths?, methods?, seed?, count?, timeoutSeconds?}
GET    /sandbox/faults          the active plan and what was injected
DELETE /sandbox/faults          stop injecting
POST   /sandbox/webhooks/flush  wait until queued record webhooks have been attempted
*      /sandbox/echo[/...]      record any request (?status=, ?delay= shape the answer)
GET    /sandbox/echo/log        what /sandbox/echo received, oldest first (?limit=)
DELETE /sandbox/echo/log        forget it
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sandbox.auth import require_loopback
from sandbox.errors import TellescopeError
from sandbox.faults import parse_plan
from sandbox.outbox import outbox_entries
from sandbox.pages import outbox_page
from sandbox.request_body import json_body
from sandbox.runtime import Sandbox, sandbox_of
from sandbox.seed import ADMIN_USER_ID, BUSINESS_ID
from sandbox.webhooks import AUTOMATION_WEBHOOKS

router = APIRouter(dependencies=[Depends(require_loopback)], tags=["sandbox: observe"])


def _wants_json(request: Request) -> bool:
    if request.query_params.get("format") == "json":
        return True
    if request.query_params.get("format") == "html":
        return False
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


@router.get("/sandbox/outbox")
async def outbox(request: Request) -> Response:
    sandbox = sandbox_of(request)
    params = request.query_params
    limit = params.get("limit")
    entries = outbox_entries(
        sandbox.store,
        include_inbound=params.get("inbound") == "true",
        enduser_id=params.get("enduserId") or None,
        channel=params.get("channel") or None,
        limit=int(limit) if limit and limit.isdigit() else None,
    )
    if _wants_json(request):
        return JSONResponse(entries)
    pending = [
        r
        for r in sandbox.records.find("form_responses", {"submittedAt": {"_exists": False}})
        if r.get("accessCode")
    ]
    open_tickets = sandbox.records.find("tickets", {"closedAt": {"_exists": False}})
    refresh = params.get("refresh")
    page = outbox_page(
        entries,
        list(reversed(pending)),
        list(reversed(open_tickets)),
        refresh=int(refresh) if refresh and refresh.isdigit() else None,
    )
    return HTMLResponse(page)


@router.get("/sandbox/stats")
async def stats(request: Request) -> Any:
    sandbox = sandbox_of(request)
    return stats_of(sandbox)


def stats_of(sandbox: Sandbox) -> dict[str, Any]:
    store = sandbox.store

    def directions(model: str) -> dict[str, int]:
        inbound = sum(1 for r in store.scan(model) if r.get("inbound"))
        return {"outbound": store.count(model) - inbound, "inbound": inbound}

    chats_inbound = sum(
        1 for c in store.scan("chats") if store.exists("endusers", c.get("senderId") or "")
    )
    return {
        "records": {model: store.count(model) for model in store.models()},
        "messages": {
            "sms": directions("sms_messages"),
            "email": directions("emails"),
            "chat": {
                "outbound": store.count("chats") - chats_inbound,
                "inbound": chats_inbound,
            },
            "userNotifications": store.count("user_notifications"),
            "automationWebhooks": store.count(AUTOMATION_WEBHOOKS),
        },
        "webhooks": {
            "configured": sandbox.webhooks.configuration() is not None,
            "delivered": sandbox.webhooks.delivered,
            "failed": sandbox.webhooks.failed,
            "pending": sandbox.webhooks.pending,
        },
        "faults": sandbox.faults.status(),
        "seed": {"businessId": BUSINESS_ID, "apiKeyUserId": ADMIN_USER_ID},
    }


@router.put("/sandbox/faults")
async def set_faults(request: Request) -> Any:
    sandbox = sandbox_of(request)
    plan = parse_plan(await json_body(request), sandbox.settings.fault_timeout_seconds)
    sandbox.faults.configure(plan)
    return sandbox.faults.status()


@router.get("/sandbox/faults")
async def get_faults(request: Request) -> Any:
    return sandbox_of(request).faults.status()


@router.delete("/sandbox/faults")
async def clear_faults(request: Request) -> Any:
    sandbox = sandbox_of(request)
    sandbox.faults.clear()
    return sandbox.faults.status()


@router.post("/sandbox/webhooks/flush")
async def flush_webhooks(request: Request) -> Any:
    sandbox = sandbox_of(request)
    try:
        await sandbox.webhooks.flush()
    except TimeoutError:
        raise TellescopeError(504, "Webhooks still pending after 20 s") from None
    return {"pending": sandbox.webhooks.pending}


@router.get("/sandbox/echo/log")
async def echo_log(request: Request) -> Any:
    limit = request.query_params.get("limit")
    return sandbox_of(request).echo.list(int(limit) if limit and limit.isdigit() else None)


@router.delete("/sandbox/echo/log")
async def clear_echo_log(request: Request) -> Any:
    sandbox_of(request).echo.clear()
    return {}


_ECHO_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/sandbox/echo", methods=_ECHO_METHODS)
@router.api_route("/sandbox/echo/{rest:path}", methods=_ECHO_METHODS)
async def echo(request: Request, rest: str = "") -> Response:
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", errors="replace")
    entry = sandbox_of(request).echo.record(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
        body=body,
    )
    delay = request.query_params.get("delay")
    if delay:
        try:
            await asyncio.sleep(min(float(delay), 60.0))
        except ValueError:
            pass
    status = request.query_params.get("status")
    code = int(status) if status and status.isdigit() else 200
    return JSONResponse({"received": True, "id": entry["id"]}, status_code=code)
