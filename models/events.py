"""AutomationStep events: when a step fires (docs/semantics.md §4.3), as a
`type`-discriminated union.

Every event but `onJourneyStart` names its parent step in `info.automationStepId`; in YAML that is
the readable step id, in Tellescope JSON an ObjectId. The delay block shared by `afterAction`,
`formUnsubmitted` and `formsUnsubmitted` lives in `DelayInfo`.

How each event type behaves (what creates its children, delay, office hours, cancel conditions,
parking, waiting for the outside world, the parent it needs) is one table, `EVENT_TRAITS`, that
the compiler's checks and the workflow read instead of comparing type names; the accessors at the
end read typed fields by matching on the event classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Annotated, Literal, get_args

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

EventType = Literal[
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
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)


class Fires(Enum):
    """What makes the engine create a child with this event (docs/semantics.md §4.3)."""

    JOURNEY_START = "journey start"  # enrollment (no parent)
    PARENT_ERRORED = "parent errored"  # the parent's action failed
    PARENT_FINISHED = "parent finished"  # the parent's action succeeded
    FORMS_SENT = "forms sent"  # the parent generated forms: a timer for their submission
    FORM_SUBMITTED = "form submitted"  # any form the parent generated was submitted
    ALL_FORMS_SUBMITTED = "all forms submitted"  # every form the parent generated was submitted
    TICKET_CLOSED = "ticket closed"  # the ticket the parent created was closed
    DECISION = "decision"  # the parent's own outcome (an AI decision)
    OUTCOME_SIGNAL = "outcome signal"  # an outcome reported after the parent finished


@dataclass(frozen=True)
class EventTraits:
    """How a step event behaves: what the compiler checks and the interpreter branches on."""

    fires: Fires
    # `info` is the delay block (`DelayInfo`): delayInMS, cancelConditions, abTestCondition.
    delay: bool = False
    # `officeHoursOnly` defers the child to the next office opening (docs/decisions.md D4).
    office_hours: bool = False
    # Takes the parent's inheritable cancel conditions (docs/semantics.md §7.2).
    inherits_cancel: bool = False
    # The cancel conditions it was created with are handed down to its afterAction children.
    passes_cancel: bool = False
    # Created with this cancel condition on its parent's forms (docs/semantics.md §7.3, §7.4).
    cancelled_by: Literal["formResponse", "formResponses"] | None = None
    # Created parked: it waits for its trigger, not for a time (docs/semantics.md §9.6).
    parks: bool = False
    # The outside world (a person, a ticket, a trigger, a call) decides when it fires, so a
    # loop through it cannot spin on its own.
    waits: bool = False
    # The parent must send forms (FORM_PRODUCING_ACTIONS).
    form_parent: bool = False
    # The parent's action type must be one of these (empty: any action).
    parent_actions: tuple[str, ...] = ()


EVENT_TRAITS: dict[EventType, EventTraits] = {
    "onJourneyStart": EventTraits(Fires.JOURNEY_START),
    "afterAction": EventTraits(
        Fires.PARENT_FINISHED, delay=True, office_hours=True, inherits_cancel=True
    ),
    "formResponse": EventTraits(Fires.FORM_SUBMITTED, waits=True, form_parent=True),
    "formResponses": EventTraits(Fires.ALL_FORMS_SUBMITTED, waits=True, form_parent=True),
    "formUnsubmitted": EventTraits(
        Fires.FORMS_SENT,
        delay=True,
        office_hours=True,
        passes_cancel=True,
        cancelled_by="formResponse",
        form_parent=True,
    ),
    "formsUnsubmitted": EventTraits(
        Fires.FORMS_SENT,
        delay=True,
        office_hours=True,
        passes_cancel=True,
        cancelled_by="formResponses",
        form_parent=True,
    ),
    "ticketCompleted": EventTraits(
        Fires.TICKET_CLOSED, waits=True, parent_actions=("createTicket",)
    ),
    "waitForTrigger": EventTraits(Fires.PARENT_FINISHED, parks=True, waits=True),
    "onCallOutcome": EventTraits(
        Fires.OUTCOME_SIGNAL, waits=True, parent_actions=("outboundCall",)
    ),
    "onAIDecision": EventTraits(Fires.DECISION, parent_actions=("aiDecision",)),
    "onAIConversationOutcome": EventTraits(
        Fires.OUTCOME_SIGNAL, waits=True, parent_actions=("startAIConversation",)
    ),
    "onError": EventTraits(Fires.PARENT_ERRORED),
}


def traits(event: AutomationEvent) -> EventTraits:
    return EVENT_TRAITS[event.type]


@cache
def fired_by(*fires: Fires) -> tuple[EventType, ...]:
    """The event types whose children these moments create, in EVENT_TYPES order."""
    return tuple(t for t in EVENT_TYPES if EVENT_TRAITS[t].fires in fires)


# Events whose info carries the delay block.
DELAY_EVENT_TYPES: tuple[EventType, ...] = tuple(t for t in EVENT_TYPES if EVENT_TRAITS[t].delay)


def delay_info(event: AutomationEvent) -> DelayInfo | None:
    """The delay block of an event that has one (see `EventTraits.delay`)."""
    match event:
        case AfterActionEvent(info=info):
            return info
        case FormUnsubmittedEvent(info=info) | FormsUnsubmittedEvent(info=info):
            return info
        case _:
            return None


def ab_test_label(event: AutomationEvent) -> str | None:
    """The A/B label of an event (docs/decisions.md D1); only the delay block carries one."""
    info = delay_info(event)
    return (info.abTestCondition or None) if info is not None else None


def expected_outcomes(event: AutomationEvent) -> list[str]:
    """The outcomes that fire an outcome event (onAIDecision, onCallOutcome, ...)."""
    match event:
        case OnAIDecisionEvent(info=info):
            return info.outcomes
        case OnCallOutcomeEvent(info=info) | OnAIConversationOutcomeEvent(info=info):
            return [info.outcome]
        case _:
            return []


def parent_step_id(event: AutomationEvent) -> str | None:
    """The step whose action fires this event (None for onJourneyStart)."""
    match event:
        case OnJourneyStartEvent():
            return None
        case _:
            return event.info.automationStepId


def close_reason(event: AutomationEvent) -> str | None:
    """The close reason a ticketCompleted event fires for (None: closed without one)."""
    match event:
        case TicketCompletedEvent(info=info):
            return info.closedForReason or None
        case _:
            return None


def trigger_id(event: AutomationEvent) -> str | None:
    """The trigger a waitForTrigger event waits for."""
    match event:
        case WaitForTriggerEvent(info=info):
            return info.triggerId
        case _:
            return None
