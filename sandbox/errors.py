"""Tellescope-shaped errors.

Tellescope answers errors with JSON `{"message": str, "code": int, "info": object}` (its OpenAPI
`Error` schema; the SDK surfaces the body as-is and clients match on `message`). The messages below
are Tellescope's own texts, taken from its schema, validators and API tests.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.paths import path_as_sent

RECORD_NOT_FOUND = "Could not find a record for the given id"
RELATED_RECORD_NOT_FOUND = "Could not find a related record for the given id(s)"
UNIQUENESS_VIOLATION = "Uniqueness Violation"
UNAUTHENTICATED = "Unauthenticated"
SERVER_ERROR = (
    "Something went wrong on our end, and our team has been notified. Please try again later."
)


class TellescopeError(Exception):
    """An error answered as Tellescope would: status code plus `{message, code, info}`."""

    def __init__(self, status: int, message: str, info: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.info = info if info is not None else {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.info)


def error_body(status: int, message: str, info: Any = None) -> dict[str, Any]:
    return {"message": message, "code": status, "info": info if info is not None else {}}


def error_response(status: int, message: str, info: Any = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, info), status_code=status)


def missing_field(field: str) -> TellescopeError:
    return TellescopeError(400, f"Value not provided for required field: {field}")


def invalid_field(field: str, problem: str) -> TellescopeError:
    return TellescopeError(400, f"Error parsing field {field}: {problem}")


def not_found(message: str = RECORD_NOT_FOUND) -> TellescopeError:
    return TellescopeError(404, message)


def related_not_found() -> TellescopeError:
    return TellescopeError(400, RELATED_RECORD_NOT_FOUND)


def uniqueness_violation(conflicting: dict[str, Any], existing: dict[str, Any]) -> TellescopeError:
    """Tellescope lists the conflicting fields and exposes only `_id` and `businessId` of the
    record already holding them."""
    info = [
        {
            "conflictingFields": conflicting,
            "existingRecord": {"_id": existing.get("id"), "businessId": existing.get("businessId")},
        }
    ]
    return TellescopeError(409, UNIQUENESS_VIOLATION, info)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TellescopeError)
    async def _tellescope(_: Request, exc: TellescopeError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.info)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
        if first.get("type") == "missing":
            return error_response(400, f"Value not provided for required field: {field}")
        return error_response(400, f"Error parsing field {field}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            # Express's wording for an unknown route, so clients can tell it from a missing record.
            return error_response(
                exc.status_code, f"Cannot {request.method} {path_as_sent(request.scope)}"
            )
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return error_response(500, SERVER_ERROR, {"error": repr(exc)})
