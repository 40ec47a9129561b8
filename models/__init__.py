"""Pydantic models mirroring Tellescope's JSON (camelCase, `type`-discriminated unions).

Pure data: no I/O and no clock- or random-based defaults, so workflows can pass these through the
Temporal sandbox.
"""

from models.actions import (
    ACTION_TYPES,
    AI_ACTION_TYPES,
    FORM_PRODUCING_ACTIONS,
    INTEGRATION_ACTION_TYPES,
    AutomationAction,
)
from models.automated_action import AutomatedAction, CancelReason, JourneyContext
from models.events import DELAY_EVENT_TYPES, EVENT_TYPES, AutomationEvent
from models.journey import Journey, JourneyState
from models.organization import Organization
from models.steps import AutomationStep
from models.triggers import (
    DEPRECATED_TRIGGER_EVENT_TYPES,
    TRIGGER_ACTION_TYPES,
    TRIGGER_EVENT_TYPES,
    AutomationTrigger,
)

__all__ = [
    "ACTION_TYPES",
    "AI_ACTION_TYPES",
    "DELAY_EVENT_TYPES",
    "DEPRECATED_TRIGGER_EVENT_TYPES",
    "EVENT_TYPES",
    "FORM_PRODUCING_ACTIONS",
    "INTEGRATION_ACTION_TYPES",
    "TRIGGER_ACTION_TYPES",
    "TRIGGER_EVENT_TYPES",
    "AutomatedAction",
    "AutomationAction",
    "AutomationEvent",
    "AutomationStep",
    "AutomationTrigger",
    "CancelReason",
    "Journey",
    "JourneyContext",
    "JourneyState",
    "Organization",
]
