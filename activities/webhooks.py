"""The `sendWebhook` action (docs/semantics.md §8.6, §11.2), both forms, delivered by Tellescope.

`POST /v1/send-automation-webhook {message, enduserId, automationStepId, action, context}` is the
documented way to send an automation webhook (Tellescope's worker uses it too): Tellescope renders
merge fields with the journey context, signs the body (`integrity = sha256(message + timestamp +
secret)`, the action's `secret` or the organisation's) and delivers it, in the default form
(organisation URL, `{type: "automation", message, timestamp, integrity, enduserId}`) or the
extended one (`url`, `method`, `headers`, body `fields`, `rawJSONBody`). Delivering through
Tellescope keeps the organisation's webhook secret where it belongs and the payload byte-for-byte
Tellescope's. The call answers once the receiver has; a failed delivery comes back as an error and
is the step's `error` (a 4xx is not retried, a 5xx is).

Webhooks are not Tellescope records, so they cannot be looked up: delivery is at least once.
"""

from __future__ import annotations

from activities.run import ActionRun
from models.runtime import ActionOutcome, family_of
from tellescope.errors import cannot_perform

WEBHOOK_FAMILY = "send_webhook"


async def send_webhook(run: ActionRun) -> ActionOutcome:
    if family_of(run.action_type) != WEBHOOK_FAMILY:
        raise cannot_perform(f"send_webhook does not perform {run.action_type}")
    info = run.info
    await run.client.send_automation_webhook(
        message=info.message,
        enduserId=run.enduser_id,
        automationStepId=run.request.automationStepId,
        action=run.request.action.model_dump(mode="json", exclude_none=True, by_alias=True),
        context=run.journey_context() or None,
    )
    target = f"{(info.method or 'post').upper()} {info.url}" if info.url else "organisation webhook"
    return ActionOutcome(detail=f"webhook delivered ({target})")
