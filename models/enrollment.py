"""An enrollment's own state: what JourneyWorkflow carries across continue-as-new and shows in
its `status` query. Pure data (see models/runtime.py for why)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from models.runtime import RuntimeModel, TicketClosed


class CancelOn(RuntimeModel):
    """A cancel condition in readable step ids (docs/semantics.md §7): `formResponse` = any
    form of the step was submitted; `formResponses` = every form the step generated was
    submitted."""

    type: Literal["formResponse", "formResponses"]
    stepId: str


class ActionState(RuntimeModel):
    """One AutomatedAction that has not reached a terminal status."""

    id: str
    stepId: str
    eventIndex: int
    createdAt: int  # epoch ms
    processAfter: int | None = None  # epoch ms; None while scheduling or parked for a trigger
    scheduled: bool = False  # processAfter is final (creation-time lookups done)
    parked: bool = False  # waitForTrigger: waits for its trigger, not for a time
    didDelayForOutOfOffice: bool = False
    journeyContext: dict[str, Any] = Field(default_factory=dict)
    cancelConditions: list[CancelOn] = Field(default_factory=list)
    inheritable: list[CancelOn] = Field(default_factory=list)  # passed to afterAction children
    abTestLabel: str | None = None


class FormTracking(RuntimeModel):
    """Forms a step generated (in order) and which of them have been submitted."""

    formResponseIds: list[str]
    submitted: list[str] = Field(default_factory=list)

    @property
    def all_submitted(self) -> bool:
        return set(self.formResponseIds) <= set(self.submitted)

    @property
    def unsubmitted_count(self) -> int:
        return len(set(self.formResponseIds) - set(self.submitted))


class HistoryEntry(RuntimeModel):
    at: str  # ISO
    actionId: str
    stepId: str
    status: Literal["active", "finished", "cancelled", "error"]
    detail: str = ""


class EnrollmentResume(RuntimeModel):
    """Everything a run hands to the next one on continue-as-new."""

    state: str | None
    actions: list[ActionState]
    forms: dict[str, FormTracking]  # by generating step id
    submissions: dict[str, list[str]]  # step id -> form response ids seen (also before armed)
    tickets: dict[str, str]  # ticket id -> createTicket step id
    closedTickets: dict[str, TicketClosed]  # closes seen before their step was armed
    history: list[HistoryEntry]
    closedTicketIds: list[str] = Field(default_factory=list)
    awaitingOutcome: list[str] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)  # finished / cancelled / error so far
    failedSteps: list[str] = Field(default_factory=list)


class PendingView(RuntimeModel):
    actionId: str
    stepId: str
    eventType: str
    dueAt: str | None  # ISO, None when waiting for something other than time
    waitingFor: str


class EnrollmentStatus(RuntimeModel):
    journeyId: str
    planVersion: str
    enduserId: str
    state: str | None
    pending: list[PendingView]
    waitingFor: list[str]  # forms, tickets and triggers the enrollment listens for
    history: list[HistoryEntry]
    removed: bool = False


class EnrollmentResult(RuntimeModel):
    outcome: Literal["completed", "removed"]
    state: str | None
    finished: int
    cancelled: int
    errors: int
