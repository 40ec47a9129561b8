"""How a failed Tellescope call reaches the workflow (docs/architecture.md §4).

Every failure becomes a Temporal `ApplicationError`, so the workflow sees one shape:

| Tellescope answer                 | error type (`.type`)    | retried?                         |
|-----------------------------------|-------------------------|----------------------------------|
| 4xx other than 408/429            | `TellescopeRejected`    | no: the step's `error` (onError) |
| 429                               | `TellescopeRateLimited` | yes, after `Retry-After` if given|
| 408, 5xx                          | `TellescopeUnavailable` | yes, with the workflow's backoff |
| timeout, connection refused/reset | `TellescopeUnreachable` | yes                              |
| a write too late for its attempt  | `AttemptOutOfTime`      | yes (nothing was sent)           |

The message of a rejection is Tellescope's own `message`, verbatim ("Missing email consent"), so
the step history shows what Tellescope said; the status, method, path and whole error body travel
in `details`. Retryable errors may hide a request Tellescope did process (it answered 500 after
committing, or the answer was lost): that is what the idempotency keys in `tellescope.idempotency`
are for.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

from models.runtime import NOT_CONFIGURED, TELLESCOPE_REJECTED

RATE_LIMITED = "TellescopeRateLimited"
UNAVAILABLE = "TellescopeUnavailable"
UNREACHABLE = "TellescopeUnreachable"
OUT_OF_TIME = "AttemptOutOfTime"

# What the SDK reports for a 500 (it hides the body); used when a 5xx body has no message.
SERVER_ERROR_TEXT = (
    "Something went wrong on our end, and our team has been notified. Please try again later."
)


class TellescopeRejected(ApplicationError):
    """Tellescope refused the request (4xx): retrying the same request cannot succeed."""

    def __init__(self, message: str, *, status: int, method: str, path: str, body: Any) -> None:
        super().__init__(
            message,
            {"status": status, "method": method, "path": path, "body": body},
            type=TELLESCOPE_REJECTED,
            non_retryable=True,
        )
        self.status = status
        self.body = body


class TellescopeRetryable(ApplicationError):
    """The call may succeed later: 429, 5xx, timeouts, broken connections."""

    def __init__(
        self,
        message: str,
        *,
        type: str,
        method: str,
        path: str,
        status: int | None = None,
        body: Any = None,
        next_retry_delay: timedelta | None = None,
    ) -> None:
        super().__init__(
            message,
            {"status": status, "method": method, "path": path, "body": body},
            type=type,
            non_retryable=False,
            next_retry_delay=next_retry_delay,
        )
        self.status = status
        self.body = body


def not_configured(message: str) -> ApplicationError:
    """An action Journey Engine cannot perform here (docs/decisions.md D11, D12): fails the
    step at once."""
    return ApplicationError(message, type=NOT_CONFIGURED, non_retryable=True)


def cannot_perform(message: str) -> ApplicationError:
    """The action itself cannot be carried out as configured (a missing context record, a wrong
    family): retrying would give the same answer, so it is the step's `error` at once. Typed as a
    rejection because, like a 4xx, it is a property of the request, not of the moment."""
    return ApplicationError(message, type=TELLESCOPE_REJECTED, non_retryable=True)


def error_message(body: Any, fallback: str) -> str:
    """Tellescope's message as its SDK surfaces it: the `message` of a JSON error body, or the
    body itself when it is a plain string."""
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return body["message"]
    if isinstance(body, str) and body.strip():
        return body.strip()
    return fallback


def read_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def error_for_response(response: httpx.Response, method: str, path: str) -> ApplicationError:
    status = response.status_code
    body = read_body(response)
    if status == 429:
        return TellescopeRetryable(
            error_message(body, "Too many requests"),
            type=RATE_LIMITED,
            method=method,
            path=path,
            status=status,
            body=body,
            next_retry_delay=retry_after(response),
        )
    if status == 408 or status >= 500:
        return TellescopeRetryable(
            error_message(body, SERVER_ERROR_TEXT),
            type=UNAVAILABLE,
            method=method,
            path=path,
            status=status,
            body=body,
        )
    return TellescopeRejected(
        error_message(body, f"HTTP {status}"), status=status, method=method, path=path, body=body
    )


def error_for_transport(error: httpx.TransportError, method: str, path: str) -> ApplicationError:
    kind = "timed out" if isinstance(error, httpx.TimeoutException) else "failed"
    detail = str(error) or type(error).__name__
    return TellescopeRetryable(
        f"{method} {path} {kind}: {detail}", type=UNREACHABLE, method=method, path=path
    )


def out_of_time(method: str, path: str, *, abandoned: bool = False) -> ApplicationError:
    """A write not sent, or abandoned unanswered, because its activity attempt is about to time
    out (tellescope.client, `write_deadline`); the retry Temporal starts after the timeout looks
    the record up before writing."""
    what = "abandoned unanswered" if abandoned else "not sent"
    return TellescopeRetryable(
        f"{method} {path} {what}: this attempt is about to time out, and its retry must not"
        " overlap the write",
        type=OUT_OF_TIME,
        method=method,
        path=path,
    )


def retry_after(response: httpx.Response) -> timedelta | None:
    """`Retry-After` as seconds or an HTTP date; None when absent or unreadable."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        date_header = response.headers.get("date")
        try:
            now = parsedate_to_datetime(date_header) if date_header else None
        except (TypeError, ValueError):
            now = None
        if now is None:
            now = datetime.now(UTC)
        seconds = (when - now).total_seconds()
    return timedelta(seconds=max(seconds, 0.0))
