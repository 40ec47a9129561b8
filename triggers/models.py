"""What crosses Temporal for triggers (workflow and activity inputs and results) and what the
engine's callers get back (evaluation, dispatch and intake reports).

Pure pydantic data with no clock or random defaults: `triggers.workflows` builds some of these
inside the workflow sandbox, with `workflow.now()` values passed in explicitly.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.automated_action import JourneyContext
from models.plan import tellescope_id
from models.triggers import AutomationTrigger, AutomationTriggerAction
from rules.conditions import UPCOMING_EVENTS_KEY, condition_keys


class TriggerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- ids ----------------------------------------------------------------------------------------

FIRING_PREFIX = "trigger"
THROTTLE_PREFIX = "trigger-throttle"
SCAN_SCHEDULE_PREFIX = "trigger-scan"
THROTTLE_SECONDS = 60  # docs/decisions.md D7: at most one firing per (trigger, enduser) per minute
# Prefix of the idempotency keys trigger actions stamp on what they write: the intake recognises
# records a trigger made by it and derives no events from them (no chaining,
# docs/semantics.md §9.2 step 7).
TRIGGER_ACTION_ID_PREFIX = "trg-"


def firing_workflow_id(
    trigger_id: str, enduser_id: str, event_id: str | None, *, once: bool = False
) -> str:
    """`trigger:{triggerId}:{enduserId}:{eventId}`; `oncePerEnduser` triggers use
    `trigger:{triggerId}:{enduserId}`, so an enduser can hold only one firing of them."""
    if once or event_id is None:
        return f"{FIRING_PREFIX}:{trigger_id}:{enduser_id}"
    return f"{FIRING_PREFIX}:{trigger_id}:{enduser_id}:{event_id}"


def throttle_workflow_id(trigger_id: str, enduser_id: str) -> str:
    return f"{THROTTLE_PREFIX}:{trigger_id}:{enduser_id}"


def scan_schedule_id(trigger_id: str) -> str:
    return f"{SCAN_SCHEDULE_PREFIX}:{trigger_id}"


def trigger_action_id(firing_id: str) -> str:
    """The `automatedActionId` a firing's side effects are keyed by: short, id-safe, stable for
    the firing (every retry of it), and recognisable (`trg-` prefix) by the intake."""
    return TRIGGER_ACTION_ID_PREFIX + hashlib.sha256(firing_id.encode()).hexdigest()[:32]


def trigger_record_id(trigger_id: str) -> str:
    """The ObjectId-shaped id a trigger goes by in Tellescope records (`enduser.triggerIds`):
    the id itself for imported triggers, else a stable hash of the readable id."""
    return tellescope_id("trigger", trigger_id)


# --- the triggers in force ----------------------------------------------------------------------


class ActiveTrigger(TriggerModel):
    """A trigger of a deployed journey, with what evaluating and firing it needs to know."""

    trigger: AutomationTrigger
    definedIn: str  # readable id of the journey (YAML file) whose current version holds it
    planVersion: str
    organizationTimezone: str = "America/New_York"
    # `trigger.journeyId` (scope; Move To Step target) as readable id and as Tellescope id
    scopeJourneyId: str | None = None
    scopeTellescopeJourneyId: str | None = None

    @property
    def id(self) -> str:
        assert self.trigger.id is not None
        return self.trigger.id

    @cached_property
    def condition_keys(self) -> list[str]:
        """The leaf keys of `trigger.enduserCondition`, walked once per built trigger: every
        event's decisions record the values they had (docs/operator-view.md §2), and walking
        the condition per event was a fifth of evaluating 1,000 triggers."""
        condition = self.trigger.enduserCondition
        return condition_keys(condition) if condition else []

    @cached_property
    def reads_upcoming_events(self) -> bool:
        """Whether the enduserCondition counts upcoming appointments (a `__upcomingEvents__`
        leaf): an evaluation then reads them once. Asked of every candidate for every event."""
        return UPCOMING_EVENTS_KEY in self.condition_keys


# --- evaluation ---------------------------------------------------------------------------------

Stage = Literal[
    "status", "event", "enduserCondition", "journey", "oncePerEnduser", "availability", "throttle"
]


class Decision(TriggerModel):
    """Whether one trigger fires for the event, and if not, at which stage it stopped and why.
    Frozen: decisions not to fire are shared between events (triggers.evaluate)."""

    model_config = ConfigDict(frozen=True)  # besides TriggerModel's

    triggerId: str
    title: str
    fire: bool
    stage: Stage | None = None  # where it was skipped (None when it fires)
    reason: str = ""
    # the enduser's fields the trigger's enduserCondition read, as evaluated (fired or not):
    # why a condition was false (docs/operator-view.md §2)
    values: dict[str, Any] | None = None


class Evaluation(TriggerModel):
    eventType: str
    eventId: str
    enduserId: str
    decisions: list[Decision] = Field(default_factory=list)

    @property
    def firing(self) -> list[Decision]:
        return [d for d in self.decisions if d.fire]

    def decision(self, trigger_id: str) -> Decision:
        return next(d for d in self.decisions if d.triggerId == trigger_id)


# --- firing -------------------------------------------------------------------------------------

FiringSource = Literal["event", "schedule", "admin"]


class FiringInput(TriggerModel):
    """One firing of one trigger for one enduser: the workflow `trigger:...` runs it."""

    triggerId: str
    title: str
    action: AutomationTriggerAction  # the trigger's action, or the admin endpoint's inline one
    enduserId: str
    eventId: str
    eventType: str | None = None
    source: FiringSource = "event"
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)
    scopeJourneyId: str | None = None  # readable; Move To Step signals this enrollment
    scopeTellescopeJourneyId: str | None = None
    organizationTimezone: str = "America/New_York"
    throttle: bool = True  # docs/decisions.md D7; the admin endpoint executes without it
    recordTriggerId: bool = True  # append the trigger's id to enduser.triggerIds


FiringOutcome = Literal["fired", "throttled", "not-enrolled"]


class FiringResult(TriggerModel):
    outcome: FiringOutcome
    triggerId: str
    enduserId: str
    actionType: str
    detail: str = ""


class ThrottleInput(TriggerModel):
    triggerId: str
    enduserId: str
    firingId: str  # the firing holding the gate
    seconds: int = THROTTLE_SECONDS


class TriggerActionRequest(TriggerModel):
    """Perform a trigger action (docs/semantics.md §9.4) for one firing. Idempotent by
    `automatedActionId`."""

    automatedActionId: str
    firingId: str
    firingStartedAt: str  # ISO: a (re)start of an enrollment at or after it was this firing's
    triggerId: str
    enduserId: str
    action: AutomationTriggerAction
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)
    scopeJourneyId: str | None = None
    scopeTellescopeJourneyId: str | None = None
    organizationTimezone: str = "America/New_York"
    now: str  # ISO instant of the workflow clock (field setters, lookups)


class TriggerActionOutcome(TriggerModel):
    detail: str = ""
    recordIds: list[str] = Field(default_factory=list)
    # Move To Step / Remove From Journey: the enrollments (readable journey ids) to signal
    signalJourneyIds: list[str] = Field(default_factory=list)


class TriggerFiredMark(TriggerModel):
    """Append the trigger's Tellescope id to `enduser.triggerIds`
    (docs/semantics.md §9.2 step 6)."""

    enduserId: str
    triggerId: str


# --- time-based triggers ------------------------------------------------------------------------


class ScanInput(TriggerModel):
    """What a schedule starts: scan the candidates of one time-based trigger."""

    triggerId: str
    definedIn: str  # readable journey id whose current version holds the trigger
    asOf: str | None = None  # ISO; the scan's "now" (default: the workflow's clock)


class ScanRequest(TriggerModel):
    triggerId: str
    definedIn: str
    now: str  # ISO
    scanWorkflowId: str


class ScanReport(TriggerModel):
    triggerId: str
    candidates: int = 0
    started: list[str] = Field(default_factory=list)  # firing workflow ids started
    duplicates: list[str] = Field(default_factory=list)  # already fired for that candidate
    skipped: dict[str, str] = Field(default_factory=dict)  # enduser id -> reason
    note: str = ""


# --- reports for callers ------------------------------------------------------------------------


class StartedFiring(TriggerModel):
    triggerId: str
    workflowId: str
    started: bool  # False: that firing already exists (a duplicate event)
    detail: str = ""


class DispatchReport(TriggerModel):
    eventType: str
    eventId: str
    enduserId: str
    evaluation: Evaluation | None = None
    firings: list[StartedFiring] = Field(default_factory=list)
    ignored: str | None = None  # why nothing was evaluated (no triggers, unknown enduser)


class FireReport(TriggerModel):
    """`fire_trigger` (admin endpoint): the firing started, and its result when waited for."""

    triggerId: str
    enduserId: str
    workflowId: str
    result: FiringResult | None = None


class SignalSent(TriggerModel):
    workflowId: str
    signal: str
    delivered: bool
    reason: str = ""


class MembershipChange(TriggerModel):
    """A key of `enduser.journeys` a client added or removed, and what the engine did
    (docs/semantics.md §3.2, §3.5)."""

    journeyId: str  # readable
    enduserId: str
    change: str  # added | removed
    outcome: str  # started | alreadyEnrolled | removed | notEnrolled | error
    reason: str = ""


class IgnoredRecord(TriggerModel):
    model: str
    recordId: str | None = None
    reason: str


class IntakeReport(TriggerModel):
    model: str
    type: str
    signals: list[SignalSent] = Field(default_factory=list)
    dispatched: list[DispatchReport] = Field(default_factory=list)
    ignored: list[IgnoredRecord] = Field(default_factory=list)
    # readable ids of the journeys deleted because Tellescope deleted their record
    deletedJourneys: list[str] = Field(default_factory=list)
    # enrollments started or removed because a client wrote `enduser.journeys`
    memberships: list[MembershipChange] = Field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "signals": sum(1 for s in self.signals if s.delivered),
            "events": len(self.dispatched),
            "firings": sum(len(d.firings) for d in self.dispatched),
            "ignored": len(self.ignored),
        }


class SyncReport(TriggerModel):
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    unsupported: dict[str, str] = Field(default_factory=dict)  # trigger id -> why no schedule
