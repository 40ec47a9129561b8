"""BackgroundError records for failed steps (docs/semantics.md §4.4: an action that fails gets
status `error` and a BackgroundError `{title, message, journeyId, enduserId}`; we also stamp the
Tellescope step id in `automationStepId`).

Idempotent per AutomatedAction: BackgroundError has no free key field, so the action's key
(`tellescope.idempotency.action_key`) closes the message in brackets, and every attempt first
looks for a record of that enduser and journey whose message carries it.
"""

from __future__ import annotations

from models.runtime import BackgroundErrorRequest
from tellescope.client import TellescopeClient
from tellescope.idempotency import action_key


def _title(request: BackgroundErrorRequest) -> str:
    return f'Journey step "{request.stepName}" ({request.actionType}) failed'


async def record_background_error(client: TellescopeClient, request: BackgroundErrorRequest) -> str:
    """The id of the step's BackgroundError, created unless an earlier attempt did."""
    key = action_key(request.automatedActionId, "error")
    marker = f"[{key}]"
    scope = {"enduserId": request.enduserId, "journeyId": request.journeyId}
    for record in await client.find_all("background_errors", scope):
        if str(record.get("message", "")).endswith(marker):
            return str(record["id"])
    created = await client.create(
        "background_errors",
        {
            "title": _title(request),
            "message": f"{request.message} {marker}",
            "journeyId": request.journeyId,
            "automationStepId": request.automationStepId,
            "enduserId": request.enduserId,
        },
    )
    return str(created["id"])
