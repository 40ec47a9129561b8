"""AutomationStep actions: what a step does (docs/semantics.md §8), as a `type`-discriminated union.

Every action is `{type, info, continueOnError?, isBrandedWebhook?}`. Core actions (8.1-8.7) are
typed field by field because the engine executes them; AI, telephony and third-party integration
actions (8.8, 8.9) are typed on their top-level fields and keep vendor-specific sub-objects as JSON,
since the engine only validates them and fails them with "not configured"
(docs/decisions.md D11, D12).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, Union, get_args

from pydantic import Field

from models.base import TellescopeModel
from models.events import EmptyInfo

Json = dict[str, Any]


# --- shared shapes ------------------------------------------------------------------------------


class ListOfStringsWithQualifier(TellescopeModel):
    qualifier: Literal["One Of", "All Of"]
    values: list[str]


class LabeledField(TellescopeModel):
    field: str
    value: str


class DefaultSender(TellescopeModel):
    type: Literal["Default"]
    info: EmptyInfo = Field(default_factory=EmptyInfo)


class CareTeamPrimarySender(TellescopeModel):
    type: Literal["Care Team Primary"]
    info: EmptyInfo = Field(default_factory=EmptyInfo)


class CareTeamSenderInfo(TellescopeModel):
    tags: ListOfStringsWithQualifier | None = None


class CareTeamSender(TellescopeModel):
    type: Literal["Care Team"]
    info: CareTeamSenderInfo = Field(default_factory=CareTeamSenderInfo)


SenderAssignment = Annotated[
    DefaultSender | CareTeamPrimarySender | CareTeamSender, Field(discriminator="type")
]


class ActionBase(TellescopeModel):
    continueOnError: bool | None = None
    isBrandedWebhook: bool | None = None
    if TYPE_CHECKING:  # every action declares its own `type: Literal[...]` and `info` model
        type: str
        info: Any


# --- 8.1 messaging ------------------------------------------------------------------------------


class MessageInfo(TellescopeModel):
    senderId: str
    templateId: str
    assignment: SenderAssignment | None = None
    sendToDestinationOfRelatedContactTypes: list[str] | None = None
    hiddenFromTimeline: bool | None = None


class SendEmailInfo(MessageInfo):
    fromEmailOverride: str | None = None
    ccRelatedContactTypes: list[str] | None = None
    customEmailField: str | None = None


class SendSMSInfo(MessageInfo):
    phoneNumberOverride: str | None = None


class SendChatInfo(TellescopeModel):
    templateId: str
    identifier: str
    includeCareTeam: bool | None = None
    careTeamTags: ListOfStringsWithQualifier | None = None
    userIds: list[str] | None = None
    sendToDestinationOfRelatedContactTypes: list[str] | None = None


class NotifyTeamInfo(TellescopeModel):
    templateId: str
    forAssigned: bool
    roles: list[str] | None = None
    tags: ListOfStringsWithQualifier | None = None
    dontSendEmail: bool | None = None
    sendSMS: bool | None = None
    smsTemplateId: str | None = None


class SendEmailAction(ActionBase):
    type: Literal["sendEmail"]
    info: SendEmailInfo


class SendSMSAction(ActionBase):
    type: Literal["sendSMS"]
    info: SendSMSInfo


class SendChatAction(ActionBase):
    type: Literal["sendChat"]
    info: SendChatInfo


class NotifyTeamAction(ActionBase):
    type: Literal["notifyTeam"]
    info: NotifyTeamInfo


# --- 8.2 forms and content ----------------------------------------------------------------------


class SendFormInfo(TellescopeModel):
    senderId: str
    formId: str
    channel: Literal["Email", "SMS", "Chat"] | None = None
    assignment: SenderAssignment | None = None


class PushFormsInfo(TellescopeModel):
    formIds: list[str] | None = None
    formGroupIds: list[str] | None = None


class ShareContentInfo(TellescopeModel):
    managedContentRecordIds: list[str]


class SendFormAction(ActionBase):
    type: Literal["sendForm"]
    info: SendFormInfo


class PushFormsToPortalAction(ActionBase):
    type: Literal["pushFormsToPortal"]
    info: PushFormsInfo


class ShareContentAction(ActionBase):
    type: Literal["shareContent"]
    info: ShareContentInfo


# --- 8.3 tickets and care plans -----------------------------------------------------------------


class QueueAssignmentInfo(TellescopeModel):
    queueId: str
    tags: ListOfStringsWithQualifier | None = None


def _strategy(name: str, info_type: type = EmptyInfo) -> type[TellescopeModel]:
    """One ticket assignment strategy: `{type: name, info}`."""
    annotations = {"type": Literal[name], "info": info_type}
    namespace: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    if info_type is EmptyInfo:
        namespace["info"] = Field(default_factory=EmptyInfo)
    title = "".join(part.capitalize() for part in name.replace("-", " ").split()) + "Strategy"
    return type(title, (TellescopeModel,), namespace)


if TYPE_CHECKING:  # the union is built at run time: the checker sees their common base
    TicketAssignmentStrategy: TypeAlias = TellescopeModel
else:
    TicketAssignmentStrategy = Annotated[
        _strategy("default")
        | _strategy("care-team-random")
        | _strategy("care-team-primary")
        | _strategy("by-tags", ListOfStringsWithQualifier)
        | _strategy("previous-owner")
        | _strategy("queue", QueueAssignmentInfo)
        | _strategy("Recently-Booked Appointment Host")
        | _strategy("Form Submitter for Journey Trigger"),
        Field(discriminator="type"),
    ]


class TicketReminder(TellescopeModel):
    msBeforeDueDate: int
    queueId: str | None = None
    didRemind: bool | None = None


class TicketToDo(TellescopeModel):
    """A ticket action ("Complete Form", "Send SMS", ...): kept as Tellescope sends it."""

    model_config = {"extra": "allow"}
    type: Literal["Complete Form", "Create Prescription", "Send SMS", "Send Email", "Send Chat"]
    info: Json = Field(default_factory=dict)
    optional: bool | None = None
    completedAt: str | None = None


class CreateTicketInfo(TellescopeModel):
    title: str
    assignmentStrategy: TicketAssignmentStrategy
    defaultAssignee: str
    restrictByState: bool | None = None
    restrictByCareTeam: bool | None = None
    closeReasons: list[str] | None = None
    forCarePlan: bool | None = None
    hiddenFromTickets: bool | None = None
    description: str | None = None
    htmlDescription: str | None = None
    actions: list[TicketToDo] | None = None
    closeOnFinishedActions: bool | None = None
    dueDateOffsetInMS: int | None = None
    skipDaysOfWeekForDueDate: list[Annotated[int, Field(ge=0, le=6)]] | None = None
    requireConfirmation: bool | None = None
    reminders: list[TicketReminder] | None = None
    priority: int | None = None
    preserveContext: bool | None = None
    tags: list[str] | None = None
    contextFormIds: list[str] | None = None
    contextEnduserFields: list[str] | None = None
    contextContentIds: list[str] | None = None
    disableEditTitle: bool | None = None
    skipCareTeamAssignment: bool | None = None


class CompleteTicketsInfo(TellescopeModel):
    journeyIds: list[str] | None = None


class CreateCarePlanInfo(TellescopeModel):
    title: str
    htmlDescription: str | None = None
    hideRemainingTicketsProgress: bool | None = None
    highlightedEnduserFields: list[str] | None = None
    closeAutomaticallyByTicket: bool | None = None


class CreateTicketAction(ActionBase):
    type: Literal["createTicket"]
    info: CreateTicketInfo


class CompleteTicketsAction(ActionBase):
    type: Literal["completeTickets"]
    info: CompleteTicketsInfo = Field(default_factory=CompleteTicketsInfo)


class CreateCarePlanAction(ActionBase):
    type: Literal["createCarePlan"]
    info: CreateCarePlanInfo


class CompleteCarePlanAction(ActionBase):
    type: Literal["completeCarePlan"]
    info: EmptyInfo = Field(default_factory=EmptyInfo)


# --- 8.4 enduser mutations ----------------------------------------------------------------------

FieldSetterType = Literal[
    "Custom Value", "Current Timestamp", "Current Date", "Increment Number", "Date Difference"
]


class DateDifferenceOptions(TellescopeModel):
    date1: str  # "$now", an enduser field name, or a literal date
    date2: str


class EnduserFieldSetter(TellescopeModel):
    name: str
    type: FieldSetterType
    value: str = ""
    increment: int | float | None = None  # ms for timestamps/dates, a number for Increment Number
    dateDifferenceOptions: DateDifferenceOptions | None = None


class SetEnduserStatusInfo(TellescopeModel):
    status: str


class SetEnduserFieldsInfo(TellescopeModel):
    fields: list[EnduserFieldSetter]


class TagsInfo(TellescopeModel):
    tags: list[str]
    replaceExisting: bool | None = None


class RemoveTagsInfo(TellescopeModel):
    tags: list[str]


class ChangeContactTypeInfo(TellescopeModel):
    type: str  # "" = the default type, else a custom type id


class AssignCareTeamInfo(TellescopeModel):
    tags: ListOfStringsWithQualifier
    limitToOneUser: bool | None = None
    setAsPrimary: bool | None = None
    restrictByState: bool | None = None


class RemoveCareTeamInfo(TellescopeModel):
    tags: ListOfStringsWithQualifier


class SwitchToRelatedContactInfo(TellescopeModel):
    type: str
    otherTypes: list[str] | None = None


class SetEnduserStatusAction(ActionBase):
    type: Literal["setEnduserStatus"]
    info: SetEnduserStatusInfo


class SetEnduserFieldsAction(ActionBase):
    type: Literal["setEnduserFields"]
    info: SetEnduserFieldsInfo


class AddEnduserTagsAction(ActionBase):
    type: Literal["addEnduserTags"]
    info: TagsInfo


class RemoveEnduserTagsAction(ActionBase):
    type: Literal["removeEnduserTags"]
    info: RemoveTagsInfo


class AddAccessTagsAction(ActionBase):
    type: Literal["addAccessTags"]
    info: TagsInfo


class RemoveAccessTagsAction(ActionBase):
    type: Literal["removeAccessTags"]
    info: RemoveTagsInfo


class ChangeContactTypeAction(ActionBase):
    type: Literal["changeContactType"]
    info: ChangeContactTypeInfo


class AssignCareTeamAction(ActionBase):
    type: Literal["assignCareTeam"]
    info: AssignCareTeamInfo


class RemoveCareTeamAction(ActionBase):
    type: Literal["removeCareTeam"]
    info: RemoveCareTeamInfo


class SwitchToRelatedContactAction(ActionBase):
    type: Literal["switchToRelatedContact"]
    info: SwitchToRelatedContactInfo


# --- 8.5 journey control ------------------------------------------------------------------------


class JourneyRefInfo(TellescopeModel):
    journeyId: str


class AddToJourneyAction(ActionBase):
    type: Literal["addToJourney"]
    info: JourneyRefInfo


class RemoveFromJourneyAction(ActionBase):
    type: Literal["removeFromJourney"]
    info: JourneyRefInfo


class RemoveFromAllJourneysAction(ActionBase):
    type: Literal["removeFromAllJourneys"]
    info: EmptyInfo = Field(default_factory=EmptyInfo)


# --- 8.6 webhook --------------------------------------------------------------------------------


class SendWebhookInfo(TellescopeModel):
    message: str
    url: str | None = None
    secret: str | None = None
    fields: list[LabeledField] | None = None
    headers: list[LabeledField] | None = None
    method: Literal["get", "patch", "post", "put", "delete"] | None = None
    rawJSONBody: str | None = None


class SendWebhookAction(ActionBase):
    type: Literal["sendWebhook"]
    info: SendWebhookInfo


class BrandedWebhookAction(ActionBase):
    """Branded webhooks reuse sendWebhook's info shape (docs/semantics.md §8.6)."""

    type: Literal["Puppeteer: Start Agent"]
    info: SendWebhookInfo


# --- 8.7 calendar -------------------------------------------------------------------------------


class CancelFutureAppointmentsAction(ActionBase):
    type: Literal["cancelFutureAppointments"]
    info: EmptyInfo = Field(default_factory=EmptyInfo)


class CancelCurrentEventAction(ActionBase):
    type: Literal["cancelCurrentEvent"]
    info: EmptyInfo = Field(default_factory=EmptyInfo)


class ConfirmCurrentEventAction(ActionBase):
    type: Literal["confirmCurrentEvent"]
    info: EmptyInfo = Field(default_factory=EmptyInfo)


# --- 8.8 AI and telephony -----------------------------------------------------------------------


class AIDecisionInfo(TellescopeModel):
    outcomes: list[str]
    prompt: str | None = None
    sources: list[Json] | None = None
    aiSummaryConfiguration: Json | None = None


class AISummaryInfo(TellescopeModel):
    aiSummaryConfiguration: Json | None = None


class CreateNoteInfo(TellescopeModel):
    title: str
    text: str | None = None
    tags: list[str] | None = None
    hiddenFromTimeline: bool | None = None
    aiSummaryConfiguration: Json | None = None


class StartAIConversationInfo(TellescopeModel):
    model_config = {"extra": "allow"}  # the AI agent configuration evolves quickly upstream
    channel: Literal["SMS"]
    senderId: str
    initialMessage: str
    fromNumber: str | None = None
    inactivityTimeoutHours: int | float | None = None
    prompt: str | None = None
    outcomes: list[Json] | None = None


class AssignInboxItemInfo(TellescopeModel):
    tags: ListOfStringsWithQualifier
    limit: int


class OutboundCallInfo(TellescopeModel):
    treeId: str


class CallUserInfo(TellescopeModel):
    message: str
    routeBy: Literal["Appointment Host", "Match Users"]
    restrictToCareTeam: bool | None = None
    tags: ListOfStringsWithQualifier | None = None
    limit: int | None = None


class AIDecisionAction(ActionBase):
    type: Literal["aiDecision"]
    info: AIDecisionInfo


class GenerateEnduserSummaryAction(ActionBase):
    type: Literal["generateEnduserSummary"]
    info: AISummaryInfo = Field(default_factory=AISummaryInfo)


class CreateNoteAction(ActionBase):
    type: Literal["createNote"]
    info: CreateNoteInfo


class StartAIConversationAction(ActionBase):
    type: Literal["startAIConversation"]
    info: StartAIConversationInfo


class AssignInboxItemAction(ActionBase):
    type: Literal["assignInboxItem"]
    info: AssignInboxItemInfo


class OutboundCallAction(ActionBase):
    type: Literal["outboundCall"]
    info: OutboundCallInfo


class CallUserAction(ActionBase):
    type: Literal["callUser"]
    info: CallUserInfo


# --- 8.9 third-party integrations ---------------------------------------------------------------


def _integration(name: str, **fields: Any) -> type[ActionBase]:
    """An integration action: `{type: name, info: {fields...}}`. `fields` maps a field name to
    `(annotation, default)`; a default of `...` makes it required."""
    info_annotations = {key: spec[0] for key, spec in fields.items()}
    info_namespace: dict[str, Any] = {"__annotations__": info_annotations, "__module__": __name__}
    for key, (_, default) in fields.items():
        if default is not ...:
            info_namespace[key] = default
    base = name[0].upper() + name[1:]
    info_type = type(f"{base}Info", (TellescopeModel,), info_namespace)
    namespace: dict[str, Any] = {
        "__annotations__": {"type": Literal[name], "info": info_type},
        "__module__": __name__,
        "__doc__": f"Integration action `{name}` (docs/semantics.md §8.9): runs if configured.",
    }
    if not any(default is ... for _, default in fields.values()):
        namespace["info"] = Field(default_factory=info_type)
    return type(f"{base}Action", (ActionBase,), namespace)


REQ = ...
OptStr = (str | None, None)
OptStrs = (list[str] | None, None)
OptBool = (bool | None, None)

INTEGRATION_ACTIONS: tuple[type[ActionBase], ...] = (
    _integration("iterableSendEmail", campaignId=(str, REQ)),
    _integration(
        "iterableCustomEvent",
        eventName=(str, REQ),
        description=(str, REQ),
        dataFieldsMapping=(list[Json] | None, None),
        environment=OptStr,
        customEmailField=OptStr,
    ),
    _integration(
        "zendeskCreateTicket",
        templateId=(str, REQ),
        defaultSenderId=(str, REQ),
        isInternalNote=OptBool,
    ),
    _integration("zusSync"),
    _integration("zusPull"),
    _integration("zusSubscribe", practitionerId=(str, REQ), packageIds=(list[str], REQ)),
    _integration(
        "pagerDutyCreateIncident", type=(str, REQ), title=(str, REQ), serviceId=(str, REQ)
    ),
    _integration("smartMeterPlaceOrder", lines=(list[Json], REQ), shipping=OptStr),
    _integration("healthieSync"),
    _integration("healthieAddToCourse", courseId=(str, REQ)),
    _integration(
        "healthieSendChat", templateId=(str, REQ), identifier=(str, REQ), includeCareTeam=OptBool
    ),
    _integration("healthiePushForms", formIds=(list[str], REQ)),
    _integration("elationSync"),
    _integration("canvasSync"),
    _integration(
        "canvasCreateNote",
        formIds=(list[str], REQ),
        matchCareTeamTagsForCanvasPractitionerResolution=(ListOfStringsWithQualifier, REQ),
        noteCoding=(Json, REQ),
        syncAllFormResponses=OptBool,
    ),
    _integration("canvasAddToGroup", groupId=(str, REQ)),
    _integration("athenaSync", departmentid=(str, REQ)),
    _integration("activeCampaignSync"),
    _integration("activeCampaignAddToLists", listIds=(list[str], REQ)),
    _integration("metriportSync", facilityId=(str, REQ), integrationTitle=OptStr),
    _integration("metriportPushFormResponse", formId=OptStr, integrationTitle=OptStr),
    _integration(
        "belugaAutoRx",
        formId=(str, REQ),
        patientPreference=(Json | None, None),
        pharmacyId=OptStr,
        useOrganizationMapping=OptBool,
        customFieldName=OptStr,
    ),
    _integration(
        "belugaUpdateVisit",
        formId=(str, REQ),
        patientPreferences=(list[Json] | None, None),
        pharmacyId=OptStr,
        useOrganizationMapping=OptBool,
        customFieldName=OptStr,
    ),
    _integration(
        "belugaTriggerRefill",
        formId=(str, REQ),
        patientPreferences=(list[Json] | None, None),
        useOrganizationMapping=OptBool,
        customFieldName=OptStr,
    ),
    _integration("mdiTriggerRefill", onlySubmitWhenDue=OptBool),
    _integration(
        "developHealthMedEligibility",
        drugs=(list[Json], REQ),
        diagnoses=(list[Json], REQ),
        providerUserId=(str, REQ),
        mock_result=(Json | None, None),
    ),
    _integration("customerIOIdentify"),
    _integration("customerIOTrack", event=(str, REQ), trackProperties=OptStrs),
    _integration(
        "stripeChargeCardOnFile",
        stripeKey=OptStr,
        priceIds=(list[str], REQ),
        productIds=OptStrs,
        subscriptionPriceId=OptStr,
    ),
    _integration(
        "stripeCancelSubscription",
        stripeKey=OptStr,
        metadataKey=(str, REQ),
        metadataValue=(str, REQ),
        cancelImmediately=OptBool,
    ),
    _integration(
        "chargebeeChargeCardOnFile",
        chargebeeEnvironment=(str, REQ),
        chargeType=(Literal["One-Time", "Subscription"], REQ),
        itemPriceId=(str, REQ),
        quantity=(int | None, None),
        couponIds=OptStrs,
    ),
    _integration(
        "createScriptSureDraft",
        prescriptionRouteId=(str, REQ),
        matchMedicationTitle=OptStr,
        matchEnduserState=OptBool,
    ),
)

CORE_ACTIONS: tuple[type[ActionBase], ...] = (
    SendEmailAction,
    SendSMSAction,
    SendChatAction,
    NotifyTeamAction,
    SendFormAction,
    PushFormsToPortalAction,
    ShareContentAction,
    CreateTicketAction,
    CompleteTicketsAction,
    CreateCarePlanAction,
    CompleteCarePlanAction,
    SetEnduserStatusAction,
    SetEnduserFieldsAction,
    AddEnduserTagsAction,
    RemoveEnduserTagsAction,
    AddAccessTagsAction,
    RemoveAccessTagsAction,
    ChangeContactTypeAction,
    AssignCareTeamAction,
    RemoveCareTeamAction,
    SwitchToRelatedContactAction,
    AddToJourneyAction,
    RemoveFromJourneyAction,
    RemoveFromAllJourneysAction,
    SendWebhookAction,
    BrandedWebhookAction,
    CancelFutureAppointmentsAction,
    CancelCurrentEventAction,
    ConfirmCurrentEventAction,
    CreateNoteAction,
)
AI_AND_TELEPHONY_ACTIONS: tuple[type[ActionBase], ...] = (
    AIDecisionAction,
    GenerateEnduserSummaryAction,
    StartAIConversationAction,
    AssignInboxItemAction,
    OutboundCallAction,
    CallUserAction,
)

_ALL_ACTIONS = CORE_ACTIONS + AI_AND_TELEPHONY_ACTIONS + INTEGRATION_ACTIONS
# One tagged union over every action model (Union over a tuple, since the list is built above);
# the type checker, which cannot see a union built at run time, sees their common base.
if TYPE_CHECKING:
    AutomationAction: TypeAlias = ActionBase
else:
    AutomationAction = Annotated[Union[_ALL_ACTIONS], Field(discriminator="type")]  # noqa: UP007


def _type_name(model: type[ActionBase]) -> str:
    """The tag of an action model: the one value of its `type: Literal[...]`."""
    (name,) = get_args(model.model_fields["type"].annotation)
    return str(name)


ACTION_TYPES: tuple[str, ...] = tuple(_type_name(m) for m in _ALL_ACTIONS)
INTEGRATION_ACTION_TYPES: frozenset[str] = frozenset(_type_name(m) for m in INTEGRATION_ACTIONS)
AI_ACTION_TYPES: frozenset[str] = frozenset(_type_name(m) for m in AI_AND_TELEPHONY_ACTIONS)
# Actions whose message can carry form links, so formResponse/formUnsubmitted children make sense.
FORM_PRODUCING_ACTIONS: frozenset[str] = frozenset(
    {"sendForm", "pushFormsToPortal", "sendEmail", "sendSMS", "sendChat"}
)
