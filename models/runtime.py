"""What crosses the boundary between JourneyWorkflow and its activities and signals.

One model per argument (Temporal's advice: new optional fields can be added without breaking
running histories). Pure data with no clock or random defaults: the workflow builds these with
`workflow.now()` and `workflow.random()` values it passes in explicitly.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.actions import AutomationAction
from models.automated_action import JourneyContext
from models.base import GivenFieldsInJson, OmitNoneInJson
from models.message_policy import MessagePolicy
from models.plan import JourneyPlan


class RuntimeModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- enrollment ---------------------------------------------------------------------------------


class EnrollmentInput(OmitNoneInJson, RuntimeModel):
    """Start one enrollment: the plan version it runs on for its whole life, and who it is for."""

    journeyId: str  # the readable id from the YAML (`onboarding`)
    planVersion: str
    enduserId: str  # Tellescope enduser id
    # The journey's record id in Tellescope, for `enduser.journeys[...]` and record stamps.
    tellescopeJourneyId: str
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)
    startAtStepId: str | None = None  # add-endusers-to-journey `automationStepId`: start there
    source: str = "api"
    # The state the start writes into `enduser.journeys` instead of "": the value a client wrote
    # when adding the key itself (docs/semantics.md §3.2). A restart starts with "" again.
    initialState: str | None = None
    # How long one attempt of a step's side effect may take before Temporal retries it (keep it
    # above the Tellescope client's timeouts).
    stepTimeoutSeconds: int = Field(default=60, ge=2, le=3600)
    # Continue-as-new after this many history events, besides when the server suggests it
    # (operators wanting shorter histories; tests).
    continueAsNewAfterEvents: int | None = Field(default=None, ge=50)
    # Set only by continue-as-new: everything the previous run had not finished (the
    # workflow's models.enrollment.EnrollmentState as JSON).
    resume: dict[str, Any] | None = None
    # Which history shape the run records (workflows/patches.py; set by `workflows.starter` on
    # every new enrollment, kept across continue-as-new). None is the shape of runs started
    # before it existed: their histories replay the way they were made.
    historyShape: int | None = None
    # The compact and folded shapes carry the plan they run (planVersion's, without
    # triggers: `PlanStore.enrollment_plan`) instead of loading it; set by `workflows.starter`.
    plan: Annotated[JourneyPlan, GivenFieldsInJson] | None = None


def enrollment_workflow_id(journey_id: str, enduser_id: str) -> str:
    """Opaque ids only: workflow ids are visible to every Temporal operator (never PHI)."""
    return f"journey:{journey_id}:{enduser_id}"


# --- actions ------------------------------------------------------------------------------------


class ActionRequest(OmitNoneInJson, RuntimeModel):
    """Perform one AutomatedAction's side effect in Tellescope."""

    automatedActionId: str  # unique per AutomatedAction: the idempotency key of the side effect
    enduserId: str
    journeyId: str  # Tellescope journey id (stamped on records)
    automationStepId: str  # Tellescope step id (ObjectId; stamped on records, echoed by webhooks)
    stepName: str  # the readable step id, for logs and summaries
    action: Annotated[AutomationAction, GivenFieldsInJson]
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)
    organizationTimezone: str = "America/New_York"
    now: str  # ISO instant of the workflow's clock when the action ran (setters, due dates)
    # The organisation's message policy, for a patient-facing message of a step not exempt from
    # it (docs/message-policy.md); None: no policy applies.
    messagePolicy: MessagePolicy | None = None
    # The folded history shape (docs/decisions.md D41): the enrollment's join and first ledger
    # rows, written by the worker's `JoinFirst` interceptor before this action's side effect.
    joinFirst: CarriedJoin | None = None


class ActionOutcome(OmitNoneInJson, RuntimeModel):
    """What the workflow needs back to schedule the step's children."""

    recordIds: list[str] = Field(default_factory=list)  # records created or updated
    # Form responses generated for this step, in order: drive formResponse(s) and
    # formUnsubmitted / formsUnsubmitted children (docs/semantics.md §4.3, §7).
    formResponseIds: list[str] = Field(default_factory=list)
    ticketId: str | None = None  # createTicket: the ticket whose closing fires ticketCompleted
    journeyState: str | None = None  # setEnduserStatus: the state now stored on the enduser
    outcome: str | None = None  # aiDecision-style branching
    # switchToRelatedContact: the related contact the rest of the branch acts on
    switchedToEnduserId: str | None = None
    reused: bool = False  # an earlier attempt had already done it; its record was reused
    # The message policy held the message until this ISO instant (nothing was sent), or
    # dropped it (`skipped` is the ledger's skip reason); docs/message-policy.md.
    heldUntil: str | None = None
    skipped: str | None = None
    detail: str = ""  # one human line for the step history ("SMS 65f... to enduser")
    # Set by the worker's `JoinFirst` interceptor: the request's `joinFirst` was written before
    # the side effect (docs/decisions.md D41).
    joinedJourney: bool | None = None


class BackgroundErrorRequest(RuntimeModel):
    """Report a failed step as a Tellescope BackgroundError (docs/semantics.md §4.4): one per
    failed AutomatedAction, whatever the retries."""

    automatedActionId: str  # the idempotency key
    enduserId: str
    journeyId: str  # Tellescope journey id
    automationStepId: str  # Tellescope step id
    stepName: str  # readable step id
    actionType: str
    message: str  # the step's error message


class EnduserRef(RuntimeModel):
    enduserId: str


class ConditionInputsRequest(RuntimeModel):
    """What evaluating a step's conditions needs, read in one activity (docs/semantics.md §4.6,
    §10.1): the enduser, and their upcoming appointments when a condition counts them."""

    enduserId: str
    now: str  # ISO instant of the workflow's clock: appointments before it are not upcoming
    upcomingEvents: bool = False


class ConditionInputs(RuntimeModel):
    enduser: dict[str, Any]
    # `{id, startTimeInMS, templateId}` of the enduser's appointments not cancelled and starting
    # at or after `now` (Tellescope's `_upcomingEvents`); empty unless asked for.
    upcomingEvents: list[dict[str, Any]] = Field(default_factory=list)


class JourneyStateUpdate(RuntimeModel):
    """Mirror membership and state into `enduser.journeys` (docs/semantics.md §3.1-§3.5)."""

    enduserId: str
    journeyId: str  # Tellescope journey id
    state: str | None  # None removes the enduser from the journey (unsets the key)


class AnchorDateRequest(RuntimeModel):
    """The date a date-relative delay counts from (docs/semantics.md §5.4, docs/decisions.md D6)."""

    enduserId: str
    kind: Literal["field", "form", "event"]
    field: str | None = None  # fieldCondition: enduser field name
    formId: str | None = None  # formCondition
    formFieldId: str | None = None
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)  # eventCondition


# --- journey-control actions (acting on other enrollments) --------------------------------------


class JourneyControlRequest(RuntimeModel):
    """addToJourney / removeFromJourney / removeFromAllJourneys for one enduser."""

    automatedActionId: str
    enduserId: str
    fromJourneyId: str  # the readable id of the journey whose step acts
    kind: Literal["add", "remove", "remove_all"]
    targetJourneyId: str | None = None  # readable id (add / remove)
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)


# --- signals ------------------------------------------------------------------------------------


class FormSubmitted(RuntimeModel):
    formResponseId: str
    automationStepId: str  # Tellescope step id the form response carries
    formId: str | None = None
    submittedAt: str | None = None


class TicketClosed(RuntimeModel):
    ticketId: str
    automationStepId: str | None = None
    closedForReason: str | None = None


class TriggerFired(RuntimeModel):
    """A journey-scoped `Move To Step` trigger fired for this enduser (docs/semantics.md §9.6)."""

    triggerId: str
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)


class IncomingMessage(RuntimeModel):
    channel: str | None = None  # SMS | Email | Chat | Call
    messageId: str | None = None


class RemoveRequest(RuntimeModel):
    # docs/semantics.md §3.6 index: 0 by user/API, 4 by automation, 5 journey deleted
    cancelReason: int = 0
    cancelledBy: str | None = None


class PauseRequest(RuntimeModel):
    """Hold an enrollment's due steps until resumed (docs/decisions.md D28)."""

    by: str | None = None


class ResumeRequest(RuntimeModel):
    """Let a paused enrollment's steps run again; the journey's `onResume` decides what happens
    to the steps that fell due meanwhile (docs/decisions.md D28)."""

    by: str | None = None


class MigrateRequest(RuntimeModel):
    """Move the enrollment to another version of its journey at a safe point
    (docs/decisions.md D29). A migration id the enrollment has seen is ignored (a resumed run)."""

    migrationId: str
    toVersion: str
    mapping: dict[str, str] = Field(default_factory=dict)  # old step id -> new step id
    onRemoved: Literal["cancel", "keep"] = "cancel"
    by: str | None = None


class RestartRequest(RuntimeModel):
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)
    startAtStepId: str | None = None
    # The run the caller found running. A journey that has restarted since (its runs no longer
    # include this one) already satisfies the request and ignores it (docs/decisions.md D15).
    seenRunId: str | None = None


class StepOutcome(RuntimeModel):
    """A later outcome of a call / AI conversation step (onCallOutcome, onAIConversationOutcome)."""

    automationStepId: str
    outcome: str


# --- families: which activity performs which action type ----------------------------------------

ACTION_FAMILIES: dict[str, tuple[str, ...]] = {
    "send_message": ("sendEmail", "sendSMS", "sendChat", "notifyTeam"),
    "send_forms": ("sendForm", "pushFormsToPortal", "shareContent"),
    "manage_care": ("createTicket", "completeTickets", "createCarePlan", "completeCarePlan"),
    "update_enduser": (
        "setEnduserStatus",
        "setEnduserFields",
        "addEnduserTags",
        "removeEnduserTags",
        "addAccessTags",
        "removeAccessTags",
        "changeContactType",
        "assignCareTeam",
        "removeCareTeam",
        "switchToRelatedContact",
    ),
    "send_webhook": ("sendWebhook", "Puppeteer: Start Agent"),
    "manage_records": (
        "cancelFutureAppointments",
        "cancelCurrentEvent",
        "confirmCurrentEvent",
        "createNote",
    ),
    "control_journeys": ("addToJourney", "removeFromJourney", "removeFromAllJourneys"),
}
# Everything else (AI, telephony, third-party integrations) goes to `run_unconfigured`, which
# fails with a clear, non-retryable "not configured" error (docs/decisions.md D11, D12).
UNCONFIGURED_FAMILY = "run_unconfigured"


def family_of(action_type: str) -> str:
    for family, types in ACTION_FAMILIES.items():
        if action_type in types:
            return family
    return UNCONFIGURED_FAMILY


# ApplicationError types activities raise; the workflow treats both as the step's `error`.
TELLESCOPE_REJECTED = "TellescopeRejected"  # a 4xx from Tellescope, message verbatim
NOT_CONFIGURED = "NotConfigured"


# --- the AutomatedAction ledger -----------------------------------------------------------------


class LedgerEntry(OmitNoneInJson, RuntimeModel):
    """One AutomatedAction as the workflow last saw it; written (upserted) by a local activity
    at every transition (docs/semantics.md §6.1 fields, plus our readable ids)."""

    id: str
    enduserId: str
    journeyId: str
    journeyVersion: str
    tellescopeJourneyId: str
    automationStepId: str  # readable
    tellescopeStepId: str
    workflowId: str
    event: dict[str, Any]
    action: dict[str, Any]
    status: Literal["active", "finished", "cancelled", "error"]
    processAfter: int  # epoch ms
    cancelReason: int | None = None
    cancelledBy: str | None = None
    cancelConditions: list[dict[str, Any]] | None = None
    didDelayForOutOfOffice: bool = False
    errorMessage: str | None = None
    enduserConditions: dict[str, Any] | None = None
    journeyContext: dict[str, Any] | None = None
    skipped: str | None = None
    abTestLabel: str | None = None
    detail: str = ""
    at: str  # ISO instant of the transition (workflow clock)
    # The related contact the action acted on after a switchToRelatedContact (None: enduserId)
    actingEnduserId: str | None = None
    # formsUnsubmitted: forms of the parent still unsubmitted (the `formResponses` cancel
    # condition's counter, docs/semantics.md §7.4)
    unsubmittedFormCount: int | None = None
    # The effect was already performed in the foreground (a ticket closed by a person,
    # docs/semantics.md §6.1, §8.3): recorded, never executed.
    isNOP: bool = False
    # The failed action's error class (docs/metrics.md §2): a metric label, not stored.
    errorClass: str | None = None


class LedgerBatch(OmitNoneInJson, RuntimeModel):
    entries: list[LedgerEntry]
    # The compact shape's first batch also joins the journey (`join_and_record`, written first).
    membership: JourneyStateUpdate | None = None


class CarriedJoin(RuntimeModel):
    """A LedgerBatch with its membership as the folded shape's first step carries it in its
    request (docs/decisions.md D41), so in its history: each row without what `JoinFirst` can
    restore. Every row's `enduserId` and `tellescopeJourneyId` are the membership's and its
    `workflowId` the activity's; the row of the action the request performs has no `id` and
    takes that id, its step ids and its action from the request; a field at its default is left
    out. A value that differs from what would be restored is kept, so `batch` gives back the
    rows `of` was given."""

    membership: JourneyStateUpdate
    entries: list[dict[str, Any]]  # LedgerEntry JSON, less what `batch` restores

    @classmethod
    def of(cls, batch: LedgerBatch, request: ActionRequest, workflow_id: str) -> CarriedJoin:
        assert batch.membership is not None
        entries = []
        for entry in batch.entries:
            performing = entry.id == request.automatedActionId
            restored = _restorable(batch.membership, workflow_id, request, performing=performing)
            entries.append(
                {
                    key: value
                    for key, value in entry.model_dump(mode="json").items()
                    if not (key in restored and restored[key] == value)
                    and not _at_default(key, value)
                }
            )
        return cls(membership=batch.membership, entries=entries)

    def batch(self, request: ActionRequest, workflow_id: str) -> LedgerBatch:
        """The rows as the workflow queued them, and the membership."""
        entries = []
        for carried in self.entries:
            restored = _restorable(
                self.membership, workflow_id, request, performing="id" not in carried
            )
            entries.append(LedgerEntry.model_validate({**restored, **carried}))
        return LedgerBatch(entries=entries, membership=self.membership)


def _restorable(
    membership: JourneyStateUpdate, workflow_id: str, request: ActionRequest, *, performing: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "enduserId": membership.enduserId,
        "tellescopeJourneyId": membership.journeyId,
        "workflowId": workflow_id,
    }
    if performing:
        values |= {
            "id": request.automatedActionId,
            "automationStepId": request.stepName,
            "tellescopeStepId": request.automationStepId,
            "action": request.action.to_json(),
        }
    return values


def _at_default(key: str, value: Any) -> bool:
    field = LedgerEntry.model_fields.get(key)
    return (
        field is not None
        and not field.is_required()
        and field.default_factory is None
        and value == field.default
    )


ActionRequest.model_rebuild()  # its `joinFirst` is a CarriedJoin, defined above only now


class PlanRef(RuntimeModel):
    journeyId: str
    version: str


# --- AutomatedActions created through the API ---------------------------------------------------

# Families an AutomatedAction created directly (`POST /v1/automated-action`) cannot run on its own:
# journey control acts on enrollments, and forms exist for the formResponse / formUnsubmitted
# branches of the step that sent them (docs/decisions.md D22).
STANDALONE_REFUSED_FAMILIES: dict[str, str] = {
    "control_journeys": "journey control acts on enrollments: enroll through the journey endpoints",
    "send_forms": "forms drive the branches of the step that sent them: run it in a journey",
}
STANDALONE_REFUSED_TYPES: dict[str, str] = {
    "switchToRelatedContact": "it only changes who the rest of a journey branch acts on",
}


def standalone_refusal(action_type: str) -> str | None:
    """Why an action of this type cannot run as a directly created AutomatedAction (None: it
    can)."""
    if action_type in STANDALONE_REFUSED_TYPES:
        return STANDALONE_REFUSED_TYPES[action_type]
    return STANDALONE_REFUSED_FAMILIES.get(family_of(action_type))


def adhoc_workflow_id(automated_action_id: str) -> str:
    return f"automated-action:{automated_action_id}"


class AdHocActionInput(RuntimeModel):
    """Run one AutomatedAction created through the API when `processAfter` is due
    (workflows/adhoc.py). `entry` is its ledger row as created (status active)."""

    entry: LedgerEntry
    action: AutomationAction
    journeyContext: JourneyContext = Field(default_factory=JourneyContext)
    organizationTimezone: str = "America/New_York"
    stepTimeoutSeconds: int = Field(default=60, ge=2, le=3600)


class AdHocCancel(RuntimeModel):
    cancelReason: int = 0  # docs/semantics.md §3.6: 0 removed by user
    cancelledBy: str | None = None
