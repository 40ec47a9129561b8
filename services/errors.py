"""What can go wrong in a service, in the domain's words: the API turns each into its HTTP answer
in one place (`api.errors`), the CLI into a message and an exit code. No HTTP here.

| error | means |
|---|---|
| `InvalidInput` | wrong where `path` says: a JSON path (`enduserIds[3]`), `file:line:col` |
| `MalformedInput` | unreadable input (not JSON, a cursor we never issued) |
| `Unauthenticated` | the caller could not be verified (a webhook's integrity, age or secret) |
| `NotFound` | an unknown journey, version, step, enduser or record |
| `Conflict` | contradicts the current state (a Tellescope title owned by another journey) |
| `Unavailable` | what the engine needs (Temporal, the store) cannot be reached now; retry later |
| `UpstreamFailed` | Temporal or Tellescope answered, with an error |

Every error carries a `message` for people and `info`, JSON-ready details for programs.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    def __init__(self, message: str, info: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.info = dict(info or {})


class InvalidInput(ServiceError):
    def __init__(
        self, message: str, path: str | None = None, info: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, info)
        self.path = path
        if path is not None:
            self.info.setdefault("path", path)


class MalformedInput(InvalidInput):
    pass


class Unauthenticated(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Unavailable(ServiceError):
    pass


class UpstreamFailed(ServiceError):
    pass
