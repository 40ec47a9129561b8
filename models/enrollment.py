"""An enrollment's own state: what JourneyWorkflow carries across continue-as-new and shows in
its `status` query. Pure data (see models/runtime.py for why)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
)

from models.runtime import RuntimeModel, TicketClosed

# Fields added after runs wrote continue-as-new inputs: left out of the JSON while empty, so the
# state of a run that never used them is written back in exactly the shape it was read.
ADDED_ACTION_FIELDS = ("enduserId",)
ADDED_STATE_FIELDS = ("ignored", "stepEndusers", "paused", "migrations", "migratedBy")


def _drop_empty(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not (k in fields and v in (None, [], {}))}


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
    # The enduser this action acts on when a switchToRelatedContact earlier in its branch
    # switched to a related contact (docs/semantics.md §8.4); None: the enrolled enduser.
    # Children inherit it, so the rest of the branch acts on that contact.
    enduserId: str | None = None

    @model_serializer(mode="wrap")
    def _without_unset_additions(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        return _drop_empty(handler(self), ADDED_ACTION_FIELDS)


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


ActionStatus = Literal["active", "finished", "cancelled", "error"]


class HistoryEntry(RuntimeModel):
    at: str  # ISO
    actionId: str
    stepId: str
    status: ActionStatus
    detail: str = ""


COUNT_KINDS = ("finished", "cancelled", "error")
IGNORED_KEPT = 20


class PauseState(RuntimeModel):
    """Who paused the enrollment and when (docs/decisions.md D28)."""

    at: str  # ISO
    by: str | None = None


class MigrationRecord(RuntimeModel):
    """A migration this enrollment received and what came of it (docs/decisions.md D29)."""

    migrationId: str
    fromVersion: str
    toVersion: str
    outcome: Literal["migrated", "kept"]
    detail: str = ""
    at: str  # ISO


class MigrationNote(RuntimeModel):
    """Handed to the run that continues on the new version: what moved, for its ledger rows."""

    migrationId: str
    fromVersion: str
    moves: dict[str, str] = Field(default_factory=dict)  # action id -> "old -> new" line


MIGRATIONS_KEPT = 10


class EnrollmentState(RuntimeModel):
    """An enrollment's durable state: everything JourneyWorkflow knows that is not in its plan or
    its input. The workflow works on one instance and hands it whole to the next run on
    continue-as-new (`EnrollmentInput.resume`, as JSON). The JSON shape is the one earlier runs
    wrote (`actions` a list, sets as sorted lists), so their continue-as-new inputs still load."""

    state: str | None = None  # the journey state (setEnduserStatus)
    actions: dict[str, ActionState] = Field(default_factory=dict)  # not yet terminal, by id
    forms: dict[str, FormTracking] = Field(default_factory=dict)  # by generating step id
    # step id -> form response ids seen (also before armed)
    submissions: dict[str, list[str]] = Field(default_factory=dict)
    tickets: dict[str, str] = Field(default_factory=dict)  # ticket id -> createTicket step id
    # closes seen before their step was armed
    closedTickets: dict[str, TicketClosed] = Field(default_factory=dict)
    history: list[HistoryEntry] = Field(default_factory=list)  # the last HISTORY_KEPT entries
    closedTicketIds: set[str] = Field(default_factory=set)
    awaitingOutcome: list[str] = Field(default_factory=list)  # finished call / AI steps
    # step id -> an outcome that arrived before the step finished (PATCH_EARLY_OUTCOMES); left
    # out of the JSON when empty, as the states of earlier runs had no such key.
    earlyOutcomes: dict[str, str] = Field(default_factory=dict, exclude_if=lambda v: not v)
    # finished / cancelled / error so far
    counts: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(COUNT_KINDS, 0))
    failedSteps: set[str] = Field(default_factory=set)
    # The runs of the journey since it last started or restarted (continue-as-new adds one): a
    # restart asked for by someone who saw another run is already satisfied (D15). Empty in
    # states written before it was kept (then every restart applies, as before).
    journeyRunIds: list[str] = Field(default_factory=list, exclude_if=lambda v: not v)
    # Events ignored because they concern records this run did not create (the last
    # IGNORED_KEPT, one line each): shown by the `status` query.
    ignored: list[str] = Field(default_factory=list)
    # step id -> the related contact its forms / ticket were for (a switched branch): the
    # formResponse / ticketCompleted children act on that contact too.
    stepEndusers: dict[str, str] = Field(default_factory=dict)
    # Set while the enrollment is paused: due steps wait for the resume (docs/decisions.md D28).
    paused: PauseState | None = None
    # The last MIGRATIONS_KEPT migrations received (docs/decisions.md D29), and the note the
    # run continuing on the new version turns into ledger details.
    migrations: list[MigrationRecord] = Field(default_factory=list)
    migratedBy: MigrationNote | None = None

    @model_serializer(mode="wrap")
    def _without_unset_additions(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        return _drop_empty(handler(self), ADDED_STATE_FIELDS)

    @field_validator("actions", mode="before")
    @classmethod
    def _actions_by_id(cls, value: Any) -> Any:
        if isinstance(value, list):  # the JSON shape: a list in creation order
            return {(a.id if isinstance(a, ActionState) else a["id"]): a for a in value}
        return value

    @field_validator("counts", mode="after")
    @classmethod
    def _every_count(cls, value: dict[str, int]) -> dict[str, int]:
        return {**dict.fromkeys(COUNT_KINDS, 0), **value}

    @field_serializer("actions")
    def _actions_as_list(self, value: dict[str, ActionState]) -> list[ActionState]:
        return list(value.values())

    @field_serializer("closedTicketIds", "failedSteps")
    def _sorted(self, value: set[str]) -> list[str]:
        return sorted(value)


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
    ignored: list[str] = Field(default_factory=list)  # events for records this run did not create
    paused: PauseState | None = None  # docs/decisions.md D28
    migrations: list[MigrationRecord] = Field(default_factory=list)  # docs/decisions.md D29


class EnrollmentResult(RuntimeModel):
    outcome: Literal["completed", "removed"]
    state: str | None
    finished: int
    cancelled: int
    errors: int
