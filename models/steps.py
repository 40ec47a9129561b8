"""AutomationStep: one node of a journey, one action plus the events that fire it
(docs/semantics.md §4)."""

from __future__ import annotations

from typing import Literal

from models.actions import AutomationAction
from models.base import CompoundFilter, TellescopeModel, TellescopeRecord
from models.events import AutomationEvent


class AtJourneyStateInfo(TellescopeModel):
    journeyId: str
    state: str


class AtJourneyStateCondition(TellescopeModel):
    """Deprecated step condition (docs/semantics.md §4.1): run only while the enduser is in
    this state."""

    type: Literal["atJourneyState"]
    info: AtJourneyStateInfo


class FlowchartUI(TellescopeModel):
    x: int | float
    y: int | float


class AutomationStep(TellescopeRecord):
    journeyId: str
    events: list[AutomationEvent]
    action: AutomationAction
    conditions: list[AtJourneyStateCondition] | None = None
    enduserConditions: CompoundFilter | None = None
    continueOnError: bool | None = None  # unused by Tellescope: the action's flag decides
    flowchartUI: FlowchartUI | None = None
    tags: list[str] | None = None
    # Journey Engine's own field: this step's message ignores the organisation's message policy
    # (urgent clinical messages; docs/message-policy.md).
    exemptFromMessagePolicy: bool | None = None
