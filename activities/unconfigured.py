"""Actions Journey Engine parses and validates but does not perform
(docs/decisions.md D11 and D12): integrations, and AI and telephony actions with no handler
configured (docs/handlers.md). Each fails at once, non-retryably, with a message that names the
action, so `onError` branches run and the step history says why."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from models.actions import AI_ACTION_TYPES, INTEGRATION_ACTION_TYPES
from tellescope.errors import not_configured


def unconfigured_message(action_type: str) -> str:
    if action_type in INTEGRATION_ACTION_TYPES:
        return f'integration "{action_type}" is not configured'
    if action_type in AI_ACTION_TYPES:
        return (
            f'AI/telephony action "{action_type}" is not configured: '
            "no handler for it in ACTION_HANDLERS or the journey_engine.action_handlers entry"
            " points (docs/handlers.md)"
        )
    return f'action "{action_type}" has no handler configured in Journey Engine'


def unconfigured_error(action_type: str) -> ApplicationError:
    return not_configured(unconfigured_message(action_type))
