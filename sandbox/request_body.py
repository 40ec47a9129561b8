"""Request bodies parsed once per request, with Tellescope-shaped errors.

Handlers read JSON themselves instead of declaring pydantic bodies, so that validation errors use
Tellescope's texts (`Value not provided for required field: X`) rather than FastAPI's 422 shape.
HTML forms of the sandbox's own pages post `application/x-www-form-urlencoded`, read here too.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from sandbox.errors import TellescopeError


async def json_body(request: Request) -> dict[str, Any]:
    cached = getattr(request.state, "json_body", None)
    if cached is not None:
        return cached
    raw = await request.body()
    parsed: Any = {}
    if raw.strip():
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            parsed = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        else:
            try:
                parsed = json.loads(raw)
            except ValueError:
                raise TellescopeError(400, "Request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise TellescopeError(400, f"Expecting an object but got {parsed}")
    request.state.json_body = parsed
    return parsed


async def body_without_key(request: Request) -> dict[str, Any]:
    """The JSON body minus `apiKey` (an authentication parameter, never record data)."""
    return {k: v for k, v in (await json_body(request)).items() if k != "apiKey"}
