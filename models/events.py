"""AutomationStep events: when a step fires (docs/semantics.md §4.3), as a
`type`-discriminated union.

Every event but `onJourneyStart` names its parent step in `info.automationStepId`; in YAML that is
the readable step id, in Tellescope JSON an ObjectId. The delay block shared by `afterAction`,
`formUnsubmitted` and `formsUnsubmitted` lives in `DelayInfo`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from models.base import TellescopeModel

UnitOfTime = Literal["Seconds", "Minutes", "Hours", "Days"]


class CancelConditionInfo(TellescopeModel):
    automationStepId: str


class FormResponseCancelCondition(TellescopeModel):
    """Cancel the pending action when a form sent by `automationStepId` is submitted
    (docs/semantics.md §7)."""

    type: Literal["formResponse"]
    info: CancelConditionInfo


class FormResponsesCancelConditionInfo(CancelConditionInfo):
    unsubmittedFormCount: int


class FormResponsesCancelCondition(TellescopeModel):
    """System-managed counter for `formsUnsubmitted` (docs/semantics.md §7.4); never written
    by authors."""

    type: Literal["formResponses"]
    info: FormResponsesCancelConditionInfo


CancelCondition = Annotated[
    FormResponseCancelCondition | FormResponsesCancelCondition, Field(discriminator="type")
]


class DelayInfo(TellescopeModel):
    """The delay block (docs/semantics.md §4.3). `delayInMS` is authoritative; `delay` + `unit`
    are for display (the compiler derives `delayInMS` from them when it is omitted)."""

    automationStepId: str
    delayInMS: int = Field(ge=0)
    delay: int | float | None = None
    unit: UnitOfTime | None = None
    officeHoursOnly: bool | None = None
    useEnduserTimezone: bool | None = None
    cancelConditions: list[CancelCondition] | None = None
    abTestCondition: str | None = None


class FormCondition(TellescopeModel):
    formId: str
    formFieldId: str
    before: bool | None = None


class FieldCondition(TellescopeModel):
    field: str
    before: bool | None = None


class EventCondition(TellescopeModel):
    before: bool | None = None


class DayOfMonthCondition(TellescopeModel):
    dayOfMonth: int = Field(ge=1, le=31)
    hour: int | None = Field(default=None, ge=0, le=23)  # default 9
    minute: int | None = Field(default=None, ge=0, le=59)  # default 0


class AfterActionInfo(DelayInfo):
    formCondition: FormCondition | None = None
    fieldCondition: FieldCondition | None = None
    eventCondition: EventCondition | None = None
    dayOfMonthCondition: DayOfMonthCondition | None = None
    skipIfDelayPassed: bool | None = None


class ParentInfo(TellescopeModel):
    automationStepId: str


class EmptyInfo(TellescopeModel):
    pass


class TicketCompletedInfo(TellescopeModel):
    automationStepId: str
    # None: the "closed without a reason" branch (docs/semantics.md §4.5)
    closedForReason: str | None = None


class WaitForTriggerInfo(TellescopeModel):
    automationStepId: str
    triggerId: str


class OutcomeInfo(TellescopeModel):
    automationStepId: str
    outcome: str


class AIDecisionOutcomesInfo(TellescopeModel):
    automationStepId: str
    outcomes: list[str]


class OnJourneyStartEvent(TellescopeModel):
    type: Literal["onJourneyStart"]
    info: EmptyInfo = Field(default_factory=EmptyInfo)


class AfterActionEvent(TellescopeModel):
    type: Literal["afterAction"]
    info: AfterActionInfo


class FormResponseEvent(TellescopeModel):
    type: Literal["formResponse"]
    info: ParentInfo


class FormResponsesEvent(TellescopeModel):
    type: Literal["formResponses"]
    info: ParentInfo


class FormUnsubmittedEvent(TellescopeModel):
    type: Literal["formUnsubmitted"]
    info: DelayInfo


class FormsUnsubmittedEvent(TellescopeModel):
    type: Literal["formsUnsubmitted"]
    info: DelayInfo


class TicketCompletedEvent(TellescopeModel):
    type: Literal["ticketCompleted"]
    info: TicketCompletedInfo


class WaitForTriggerEvent(TellescopeModel):
    type: Literal["waitForTrigger"]
    info: WaitForTriggerInfo


class OnCallOutcomeEvent(TellescopeModel):
    type: Literal["onCallOutcome"]
    info: OutcomeInfo


class OnAIDecisionEvent(TellescopeModel):
    type: Literal["onAIDecision"]
    info: AIDecisionOutcomesInfo


class OnAIConversationOutcomeEvent(TellescopeModel):
    type: Literal["onAIConversationOutcome"]
    info: OutcomeInfo


class OnErrorEvent(TellescopeModel):
    type: Literal["onError"]
    info: ParentInfo


AutomationEvent = Annotated[
    OnJourneyStartEvent
    | AfterActionEvent
    | FormResponseEvent
    | FormResponsesEvent
    | FormUnsubmittedEvent
    | FormsUnsubmittedEvent
    | TicketCompletedEvent
    | WaitForTriggerEvent
    | OnCallOutcomeEvent
    | OnAIDecisionEvent
    | OnAIConversationOutcomeEvent
    | OnErrorEvent,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[str, ...] = (
    "onJourneyStart",
    "afterAction",
    "formResponse",
    "formResponses",
    "formUnsubmitted",
    "formsUnsubmitted",
    "ticketCompleted",
    "waitForTrigger",
    "onCallOutcome",
    "onAIDecision",
    "onAIConversationOutcome",
    "onError",
)
# Events whose info carries the delay block.
DELAY_EVENT_TYPES = ("afterAction", "formUnsubmitted", "formsUnsubmitted")
