"""Tellescope-shaped errors: every failure answers `{"message": str, "code": int, "info": {}}`.

| status | when |
|---|---|
| 400 | the body is not JSON (or not the declared content type), a bad cursor |
| 401 | no / unknown / revoked API key; a webhook whose integrity, age or secret is wrong |
| 404 | unknown journey, enduser, version, enrollment, route |
| 409 | a conflict with current state (throttled re-add, webhook replayed with another body) |
| 413 | the body is larger than the configured limit |
| 422 | the JSON does not match the schema; `info.path` is the offending field (`enduserIds[3]`) |
| 207 | a bulk enrollment where some endusers were enrolled and some failed (per-enduser results) |
| 502 | Tellescope or Temporal answered with an error |
| 503 | Temporal or the database cannot be reached now: nothing was done; see `Retry-After` |

The services (`services/`) raise domain errors (`services.errors`); `SERVICE_STATUS` below is the
one place that gives each its status.

Bad input never changes state: every check runs before the first side effect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from services.availability import temporal_outage
from services.errors import (
    Conflict,
    InvalidInput,
    MalformedInput,
    NotFound,
    ServiceError,
    Unauthenticated,
    Unavailable,
    UpstreamFailed,
)

log = logging.getLogger("journeys.api")

SERVER_ERROR = (
    "Something went wrong on our end, and our team has been notified. Please try again later."
)


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    message: str
    code: int
    info: dict[str, Any] = {}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        info: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.info = info or {}
        self.headers = headers or {}


def not_found(message: str, **info: Any) -> ApiError:
    return ApiError(404, message, info)


def bad_request(message: str, **info: Any) -> ApiError:
    return ApiError(400, message, info)


def unprocessable(message: str, path: str | None = None, **info: Any) -> ApiError:
    if path is not None:
        info["path"] = path
    return ApiError(422, message, info)


def unauthenticated(message: str = "Unauthenticated") -> ApiError:
    return ApiError(401, message)


# Most specific first: a subclass is looked up before its base.
SERVICE_STATUS: dict[type[ServiceError], int] = {
    MalformedInput: 400,
    InvalidInput: 422,
    Unauthenticated: 401,
    NotFound: 404,
    Conflict: 409,
    Unavailable: 503,
    UpstreamFailed: 502,
}

# OpenAPI `responses` of the bulk enrollment routes (services.availability.bulk_status).
BULK_RESPONSES: dict[int | str, dict[str, Any]] = {
    207: {"description": "Some endusers succeeded, some failed (per-enduser `code`)"},
    503: {
        "description": "Temporal or the database is unreachable: nothing was started",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}

# Seconds a client should wait before retrying a 503 (Temporal or the database unreachable).
RETRY_AFTER_SECONDS = 5
RETRY_AFTER = {"Retry-After": str(RETRY_AFTER_SECONDS)}


def status_of(error: ServiceError) -> int:
    for kind in type(error).__mro__:
        if kind in SERVICE_STATUS:
            return SERVICE_STATUS[kind]
    return 500


def error_response(
    status: int,
    message: str,
    info: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"message": message, "code": status, "info": info or {}},
        status_code=status,
        headers=headers,
    )


def json_path(loc: Sequence[Any]) -> str:
    """`("body", "enduserIds", 3)` -> `enduserIds[3]` (the JSON path in the request)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_errors(errors: Sequence[dict[str, Any]], *, strip_location: bool = True):
    """pydantic errors -> (status, message, info) in Tellescope's words."""
    described = []
    for error in errors:
        loc = list(error.get("loc") or ())
        location = loc[0] if strip_location and loc and loc[0] in _LOCATIONS else "body"
        if strip_location and loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        described.append(
            {
                "path": json_path(loc),
                "location": location,
                "type": error.get("type", ""),
                "message": error.get("msg", ""),
            }
        )
    first = described[0] if described else {"path": "", "type": "", "message": "invalid"}
    if first["type"] == "json_invalid":
        detail = errors[0].get("ctx", {}).get("error", "") if errors else ""
        return 400, f"Invalid JSON body: {detail}".rstrip(": "), {"errors": described}
    if first["type"] == "missing":
        message = f"Value not provided for required field: {first['path']}"
    elif first["path"]:
        message = f"Error parsing field {first['path']}: {first['message']}"
    else:
        message = f"Error parsing request: {first['message']}"
    info = {"path": first["path"], "location": first.get("location", "body"), "errors": described}
    return 422, message, info


_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def validation_error(error: ValidationError, prefix: Sequence[Any] = ()) -> ApiError:
    """A pydantic ValidationError raised by our own parsing (manually read bodies)."""
    errors = [
        {**e, "loc": ("body", *prefix, *e.get("loc", ()))} for e in error.errors(include_url=False)
    ]
    status, message, info = describe_errors(errors)
    return ApiError(status, message, info)


# Deepest JSON body accepted (docs/limits.md). Tellescope's records nest a handful of levels;
# the limit only stops bodies built to exhaust the parser or the code walking them.
MAX_JSON_DEPTH = 64


def parse_json(raw: bytes) -> Any:
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise bad_request(f"Invalid JSON body: {error}") from None
    except RecursionError:  # nested past what the parser itself can follow
        raise too_deep() from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise too_deep()
    return value


def too_deep() -> ApiError:
    return bad_request(
        f"JSON body nested deeper than {MAX_JSON_DEPTH} levels (the limit)",
        limit=MAX_JSON_DEPTH,
    )


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), iteratively: a deep value cannot exhaust
    the stack here."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.message, error.info, error.headers)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, error: ServiceError) -> JSONResponse:
        status = status_of(error)
        headers = RETRY_AFTER if status == 503 else None
        return error_response(status, error.message, error.info, headers)

    @app.exception_handler(RPCError)
    async def _temporal_error(request: Request, error: RPCError) -> JSONResponse:
        log.warning("Temporal call failed: %s %s", error.status, error.message)
        info = {"status": error.status.name}
        if temporal_outage(error):
            return error_response(
                503, f"Temporal is not reachable: {error.message}", info, RETRY_AFTER
            )
        return error_response(502, f"Temporal: {error.message}", info)

    @app.exception_handler(OperationalError)
    async def _store_error(request: Request, error: DBAPIError) -> JSONResponse:
        # The database is down or unreachable (connection refused, lost, timed out).
        log.warning("database call failed: %s", error.orig)
        return error_response(
            503, "The database is not reachable", {"dependency": "database"}, RETRY_AFTER
        )

    @app.exception_handler(ApplicationError)
    async def _tellescope_error(request: Request, error: ApplicationError) -> JSONResponse:
        # TellescopeClient raises these (tellescope.errors): Tellescope refused or was down.
        log.warning("Tellescope call failed: %s", error.message)
        details = error.details[0] if error.details else {}
        return error_response(
            502, f"Tellescope: {error.message}", {"tellescope": details, "type": error.type}
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        status, message, info = describe_errors(list(error.errors()))
        return error_response(status, message, info)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code in (404, 405) and error.detail in ("Not Found", "Method Not Allowed"):
            message = f"Cannot {request.method} {request.url.path}"
        else:
            message = str(error.detail)
        response = error_response(error.status_code, message)
        for key, value in (error.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, SERVER_ERROR)
