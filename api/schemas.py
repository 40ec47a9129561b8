"""Request and response bodies of the API (pydantic), apart from the sqlmodel tables in
store/tables.py. Request models forbid unknown fields, so a typo is a 422 naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

from models.automated_action import JourneyContext
from models.enrollment import HistoryEntry, PauseState, PendingView
from services.enrollment_history import EnrollmentOutcomeView
from triggers.models import FireReport, IntakeReport, SyncReport

EnduserId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]
JourneyRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]
StepRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]
MAX_BULK = 1000  # Tellescope's add-endusers-to-journey limit

# journeyContext as the API accepts it (docs/limits.md): record ids are Tellescope ObjectIds (24
# hex characters), other values short text, so a context stays a few KB, far under Temporal's
# payload limits however it is copied from step to step.
ObjectId = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{24}$")]
MAX_CONTEXT_TEXT = 256
ContextText = Annotated[str, StringConstraints(max_length=MAX_CONTEXT_TEXT)]
BoundedJourneyContext = create_model(  # type: ignore[call-overload]
    "BoundedJourneyContext",
    __base__=JourneyContext,
    __doc__="journeyContext: record ids are 24-hex ObjectIds, other values at most 256 chars.",
    **{
        name: ((ObjectId if name.endswith("Id") else ContextText) | None, None)
        for name in JourneyContext.model_fields
    },
)


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- enrollments --------------------------------------------------------------------------------


class EnrollRequest(ApiModel):
    """Enroll one enduser (`enduserId`) or many (`enduserIds`, at most 1000)."""

    enduserId: EnduserId | None = None
    enduserIds: list[EnduserId] | None = Field(default=None, min_length=1, max_length=MAX_BULK)
    journeyContext: BoundedJourneyContext | None = None  # type: ignore[valid-type]
    restart: bool = Field(
        default=False,
        description="Already enrolled: leave the running journey as it is and answer"
        " `alreadyEnrolled` (false, the default), or restart it (true).",
    )
    automationStepId: StepRef | None = Field(
        default=None,
        description="Start at this step (readable or Tellescope id) instead of the roots.",
    )
    source: Annotated[str, StringConstraints(max_length=100)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> EnrollRequest:
        if (self.enduserId is None) == (self.enduserIds is None):
            raise ValueError("give either enduserId or enduserIds")
        return self

    @property
    def endusers(self) -> list[str]:
        return [self.enduserId] if self.enduserId is not None else list(self.enduserIds or [])


class EnrollmentOutcome(BaseModel):
    enduserId: str
    workflowId: str
    status: Literal["started", "scheduled", "restarted", "alreadyEnrolled", "error"]
    runId: str | None = Field(
        default=None,
        description="The run that acts: the started run, or the one already enrolled. Null for"
        " `restarted`: the journey restarts in the next run of `workflowId`.",
    )
    message: str | None = None
    code: int | None = None  # `error` only: 503 Temporal unreachable, 502 Temporal refused
    restartedRunId: str | None = Field(
        default=None, description="`restarted`: the run that was told to restart."
    )
    startAt: datetime | None = Field(
        default=None, description="`scheduled`: when the journey starts (the run waits)."
    )


class EnrollResponse(BaseModel):
    journeyId: str
    version: str
    tellescopeJourneyId: str
    results: list[EnrollmentOutcome]
    counts: dict[str, int]


class RemoveResponse(BaseModel):
    journeyId: str
    enduserId: str
    removed: bool


class EnrollmentSummary(BaseModel):
    enduserId: str | None
    workflowId: str
    runId: str
    journeyVersion: str | None
    state: str | None
    nextActionAt: datetime | None
    startedAt: datetime | None
    paused: bool = False  # docs/decisions.md D28 (search attribute EnrollmentStatus)


class EnrollmentList(BaseModel):
    journeyId: str
    enrollments: list[EnrollmentSummary]
    lastId: str | None = Field(
        default=None, description="Pass as `lastId` for the next page; null on the last page."
    )


class EnduserEnrollment(BaseModel):
    journeyId: str
    workflowId: str
    runId: str
    planVersion: str | None = None
    state: str | None = None
    startedAt: datetime | None = None
    pending: list[PendingView] = []
    waitingFor: list[str] = []
    history: list[HistoryEntry] = []
    paused: PauseState | None = Field(
        default=None, description="Since when and by whom, while paused (docs/decisions.md D28)."
    )
    error: str | None = Field(default=None, description="Why the status query failed, if it did.")
    # docs/operator-view.md §1: listed with `include=all`, a closed enrollment says how it ended
    status: str = Field(
        default="running",
        description="running, completed, removed, failed, terminated, cancelled or timedOut",
    )
    closedAt: datetime | None = None
    outcome: EnrollmentOutcomeView | None = None


class EnduserJourneys(BaseModel):
    enduserId: str
    enrollments: list[EnduserEnrollment]
    nextOffset: int | None = Field(
        default=None, description="`offset` of the next page (None: this is the last page)"
    )


class PauseJourneyRequest(ApiModel):
    """Pause or resume a journey's running enrollments (all of them, or `enduserIds`)."""

    enduserIds: list[EnduserId] | None = Field(default=None, min_length=1, max_length=MAX_BULK)
    batchSize: int = Field(default=100, ge=1, le=1000)


class PauseEnrollmentResponse(BaseModel):
    journeyId: str
    enduserId: str
    action: Literal["pause", "resume"]


class PauseJourneyResponse(BaseModel):
    journeyId: str
    action: Literal["pause", "resume"]
    signalled: list[str]
    notRunning: list[str]
    failed: list[str] = Field(description="Temporal refused or was unreachable: run it again.")
    batches: int


StepId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MigrationRequest(ApiModel):
    """Move a journey's running enrollments to another version (docs/live-change.md §3): a
    dry run reports, `dryRun: false` applies (`migrationId` of an interrupted one resumes it)."""

    toVersion: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    map: dict[StepId, StepId] = Field(default_factory=dict, description="OLD_STEP -> NEW_STEP")
    onRemoved: Literal["cancel", "keep"] = "cancel"
    dryRun: bool = True
    enduserIds: list[EnduserId] | None = Field(default=None, min_length=1, max_length=MAX_BULK)
    migrationId: (
        Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
        | None
    ) = None
    batchSize: int = Field(default=100, ge=1, le=1000)


class MigrationReportResponse(BaseModel):
    migrationId: str
    journeyId: str
    toVersion: str
    migrated: list[str]
    kept: list[str]
    alreadyOnTarget: list[str]
    notRunning: list[str]
    pending: list[str] = Field(description="No answer in time: apply again with migrationId.")
    failed: list[str]
    batches: int
    undoes: str | None = None


class MigrationUndoResponse(BaseModel):
    migrationId: str
    reports: list[MigrationReportResponse]


class MigrationAuditRow(BaseModel):
    migrationId: str
    journeyId: str
    enduserId: str
    fromVersion: str
    toVersion: str
    mapping: dict[str, str]
    onRemoved: str
    by: str
    at: datetime
    outcome: str
    detail: str
    undoes: str | None


class MigrationAuditResponse(BaseModel):
    migrationId: str
    rows: list[MigrationAuditRow]


class StepMoveView(BaseModel):
    actionId: str
    stepId: str
    eventType: str
    dueAt: str | None
    toStepId: str | None
    toDueAt: str | None
    change: Literal["kept", "retimed", "mapped", "cancelled", "keptOld"]
    waitingFor: str


class EnrollmentPreviewView(BaseModel):
    enduserId: str
    fromVersion: str
    moves: list[StepMoveView]
    listening: list[str]
    paused: bool
    error: str | None
    outcome: Literal["migrated", "kept"]


class MigrationPreviewResponse(BaseModel):
    journeyId: str
    toVersion: str
    mapping: dict[str, str]
    onRemoved: Literal["cancel", "keep"]
    dryRun: Literal[True] = True
    enrollments: list[EnrollmentPreviewView]
    alreadyOnTarget: list[str]
    notRunning: list[str]
    waitingNow: dict[str, int]
    waitingAfter: dict[str, int]
    cancelled: dict[str, int]
    retimed: dict[str, int]


# --- Tellescope-compatible ----------------------------------------------------------------------


class AddEndusersRequest(ApiModel):
    enduserIds: list[EnduserId] = Field(min_length=1, max_length=MAX_BULK)
    journeyId: JourneyRef = Field(description="Readable journey id or Tellescope journey id.")
    automationStepId: StepRef | None = None
    journeyContext: BoundedJourneyContext | None = None  # type: ignore[valid-type]
    throttle: bool | None = None
    source: Annotated[str, StringConstraints(max_length=100)] | None = None
    startAt: str | None = Field(
        default=None,
        description="ISO date-time: start the journey then (`scheduled`); a past time starts now.",
    )
    enduserStartTimes: dict[str, Any] | None = Field(
        default=None,
        description="enduserId -> ISO date-time, overriding `startAt` for that enduser.",
    )


class AddEndusersResponse(BaseModel):
    journeyId: str
    results: list[EnrollmentOutcome]


class RemoveEndusersRequest(ApiModel):
    enduserIds: list[EnduserId] = Field(min_length=1, max_length=MAX_BULK)
    journeyId: JourneyRef


class RemoveFailure(BaseModel):
    enduserId: str
    code: int  # 503 Temporal unreachable, 502 Temporal refused
    message: str


class RemoveEndusersResponse(BaseModel):
    journeyId: str
    removed: list[str]
    notEnrolled: list[str]
    failed: list[RemoveFailure] | None = None  # only in a 207 answer (some removals failed)


class IncomingCommunicationRequest(ApiModel):
    enduserId: EnduserId
    channel: Annotated[str, StringConstraints(max_length=50)] | None = None
    destination: Annotated[str, StringConstraints(max_length=200)] | None = None
    messageId: Annotated[str, StringConstraints(max_length=100)] | None = None


class IncomingCommunicationResponse(BaseModel):
    enduserId: str
    signalled: list[str] = Field(description="Journeys whose running enrollment was signalled.")


class StepStatistics(BaseModel):
    model_config = ConfigDict(extra="allow")

    count: int
    activeCount: int
    finishedCount: int
    errorCount: int
    cancelledCount: int
    abTestLabels: dict[str, int] | None = None


class JourneyStatistics(BaseModel):
    steps: dict[str, StepStatistics]
    stepNames: dict[str, str]


class StatisticsResponse(BaseModel):
    statistics: JourneyStatistics


class TriggerEventItem(ApiModel):
    automationTriggerId: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    enduserId: EnduserId
    action: dict[str, Any] | None = None
    journeyContext: BoundedJourneyContext | None = None  # type: ignore[valid-type]


class TriggerEventsRequest(ApiModel):
    triggers: list[TriggerEventItem] = Field(min_length=1, max_length=100)


class TriggerEventsResponse(BaseModel):
    results: list[FireReport]


# --- deployments --------------------------------------------------------------------------------


class DeployRequest(ApiModel):
    files: dict[str, str] = Field(
        min_length=1, description="file name (`onboarding.yaml`) -> YAML text"
    )
    deployedBy: Annotated[str, StringConstraints(max_length=200)] | None = None


class DeployedJourneyOut(BaseModel):
    journeyId: str
    version: str
    status: Literal["created", "current", "unchanged"]
    previousVersion: str | None
    tellescopeJourneyId: str
    tellescope: str
    source: str


class ScheduleSyncOut(BaseModel):
    status: Literal["synced", "skipped", "failed"]
    message: str = ""
    report: SyncReport | None = None


class DeleteJourneyResponse(BaseModel):
    """A deleted journey (docs/semantics.md §2.2)."""

    journeyId: str
    version: str = Field(description="the version that was current")
    tellescopeJourneyId: str
    removed: list[str] = Field(description="endusers whose running enrollment was removed")
    unset: list[str] = Field(description="endusers whose enduser.journeys key was unset")
    failed: list[str] = Field(
        default_factory=list, description="endusers whose removal Temporal failed"
    )
    tellescope: str = Field(description="the Tellescope journey record: deleted | gone | skipped")
    schedules: ScheduleSyncOut | None = None


class DeployResponse(BaseModel):
    journeys: list[DeployedJourneyOut]
    schedules: ScheduleSyncOut | None = None
    warnings: list[str] = Field(
        default=[],
        description="Constructs that deploy but would not run as Tellescope runs them"
        " (`warning: file:line:col path: message`).",
    )


class DeploymentVersion(BaseModel):
    journeyId: str
    version: str
    current: bool
    deployedAt: datetime
    deployedBy: str
    tellescopeJourneyId: str
    sourcePath: str


class DeploymentList(BaseModel):
    versions: list[DeploymentVersion]


class RollbackRequest(ApiModel):
    version: Annotated[str, StringConstraints(min_length=4, max_length=64)]
    by: Annotated[str, StringConstraints(max_length=200)] | None = None


class RollbackResponse(BaseModel):
    journeyId: str
    version: str
    previousVersion: str | None
    tellescopeJourneyId: str
    tellescope: str
    schedules: ScheduleSyncOut | None = None


class DiffResponse(BaseModel):
    journeyId: str
    fromVersion: str
    toVersion: str
    diff: str


class WebhookAccepted(BaseModel):
    status: Literal["processed", "duplicate"]
    report: IntakeReport | None = None  # what the trigger engine did (processed deliveries)


class Health(BaseModel):
    status: Literal["ok"]
    database: str
    temporal: str


# --- outcomes of calls and AI conversations ---------------------------------------------------

OutcomeText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class StepOutcomeRequest(ApiModel):
    """POST /v1/step-outcomes (docs/handlers.md §3)."""

    journeyId: JourneyRef  # readable or Tellescope journey id
    enduserId: EnduserId
    # Which step's outcome: the AutomatedAction the handler was given, or the step (readable or
    # Tellescope id). Exactly one.
    automatedActionId: OutcomeText | None = None
    stepId: OutcomeText | None = None
    outcome: OutcomeText


class StepOutcomeResponse(BaseModel):
    journeyId: str
    enduserId: str
    stepId: str  # readable
    outcome: str
    workflowId: str
    delivered: bool = True
