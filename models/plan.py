"""The compiled, immutable execution plan one JourneyWorkflow interprets.

Produced by `compiler`, stored per version, and passed to the workflow, so everything here is pure
data: no I/O, no defaults that read the clock. The plan carries the organisation settings it was
compiled with (office hours, time zone) so a running enrollment never needs I/O to schedule a step.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict

from models.events import AutomationEvent
from models.journey import Journey
from models.organization import Organization
from models.steps import AutomationStep
from models.triggers import AutomationTrigger

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def tellescope_id(*parts: str) -> str:
    """The Tellescope record id for a readable id: the id itself when it already is an ObjectId
    (imported journeys), else a stable ObjectId-shaped hash, so records we stamp with it pass
    Tellescope's id validation and webhooks that echo it map back to the step."""
    if len(parts) and OBJECT_ID.match(parts[-1]):
        return parts[-1]
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:24]


class EventRef(BaseModel):
    """A child step and which of its events matched the parent (a step may list several)."""

    model_config = ConfigDict(frozen=True)

    stepId: str
    eventIndex: int


class JourneyPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    journeyId: str
    version: str  # content hash of the canonical JSON of everything below
    source: str  # the YAML file the plan was compiled from
    journey: Journey
    organization: Organization
    steps: dict[str, AutomationStep]  # by readable step id, in file order
    roots: list[str]  # steps with an onJourneyStart event
    # parent step id -> event type -> children, in file order (siblings run as parallel branches)
    children: dict[str, dict[str, list[EventRef]]]
    triggers: list[AutomationTrigger]
    # readable step id -> the id Tellescope records carry in `automationStepId`
    tellescopeStepIds: dict[str, str]

    def children_of(self, parent_id: str, event_type: str) -> list[EventRef]:
        return self.children.get(parent_id, {}).get(event_type, [])

    def event_of(self, ref: EventRef) -> AutomationEvent:
        return self.steps[ref.stepId].events[ref.eventIndex]

    def step_for_tellescope_id(self, tellescope_step_id: str) -> str | None:
        """The readable step id for a Tellescope `automationStepId` (from a webhook or signal)."""
        for step_id, record_id in self.tellescopeStepIds.items():
            if record_id == tellescope_step_id:
                return step_id
        return None

    def step_id(self, step_ref: str) -> str | None:
        """The readable step id for a readable step id or a Tellescope `automationStepId`;
        None when the plan has no such step."""
        if step_ref in self.steps:
            return step_ref
        return self.step_for_tellescope_id(step_ref)

    @property
    def tellescopeJourneyId(self) -> str:
        """Default Tellescope journey id (a deployment may map the journey to another record)."""
        return tellescope_id("journey", self.journeyId)
