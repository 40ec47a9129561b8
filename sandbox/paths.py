"""Request paths as Tellescope's server reads them.

Tellescope's SDK builds most custom-action paths as `"/v1/" + action.path`, and action paths
start with a slash, so it sends `/v1//tickets/close`, `/v1//automation-triggers/trigger-events`,
`/v1//templated-message`, ... Tellescope's (Express) server accepts those as the single-slash path.
`CollapseSlashes` does the same for every route, outermost (before fault injection, so fault
`paths` match the normalised path). An unknown route is still reported with the path as sent
(`Cannot POST /v1//nope`), as Express does.
"""

from __future__ import annotations

import re
from typing import Any

ORIGINAL_PATH = "sandbox.original_path"
_SLASHES = re.compile(r"/{2,}")


def collapse_slashes(path: str) -> str:
    return _SLASHES.sub("/", path)


class CollapseSlashes:
    """ASGI middleware: `//` (or more) in the path becomes `/`; the path as sent stays in
    `scope["sandbox.original_path"]`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:  # expose the wrapped app's attributes (state, ...)
        return getattr(self.app, name)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and "//" in scope.get("path", ""):
            path = scope["path"]
            collapsed = collapse_slashes(path)
            scope = {
                **scope,
                "path": collapsed,
                "raw_path": collapse_slashes(
                    scope.get("raw_path", path.encode()).decode("latin-1")
                ).encode("latin-1"),
                ORIGINAL_PATH: scope.get(ORIGINAL_PATH, path),
            }
        await self.app(scope, receive, send)


def path_as_sent(scope: dict) -> str:
    return scope.get(ORIGINAL_PATH) or scope.get("path", "")
