"""AutomationTrigger: "when event X happens to an enduser (and conditions hold), do Y"
(docs/semantics.md §9).

Trigger events (9.3) and trigger actions (9.4) are `type`-discriminated unions whose tags are
Tellescope's display names ("Form Submitted", "Add To Journey").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, TypeVar, Union, get_args

from pydantic import Field, field_validator

from models.actions import EnduserFieldSetter, ListOfStringsWithQualifier
from models.base import CompoundFilter, TellescopeModel, TellescopeRecord, check_time_zone
from models.organization import OfficeHourBlock

Json = dict[str, Any]
REQ = ...
OptStrs = (list[str] | None, None)
OptStr = (str | None, None)
OptBool = (bool | None, None)
_M = TypeVar("_M", bound=TellescopeModel)


def _tagged(kind: str, name: str, base: type[_M], **fields: Any) -> type[_M]:
    """`{type: name, info: {fields...}}` with `fields` as `(annotation, default)` pairs."""
    info_namespace: dict[str, Any] = {
        "__annotations__": {key: spec[0] for key, spec in fields.items()},
        "__module__": __name__,
    }
    for key, (_, default) in fields.items():
        if default is not ...:
            info_namespace[key] = default
    title = "".join(ch for ch in name.title() if ch.isalnum())
    info_type = type(f"{title}{kind}Info", (TellescopeModel,), info_namespace)
    namespace: dict[str, Any] = {
        "__annotations__": {"type": Literal[name], "info": info_type},
        "__module__": __name__,
    }
    if not any(default is ... for _, default in fields.values()):
        namespace["info"] = Field(default_factory=info_type)
    return type(f"{title}{kind}", (base,), namespace)


class TriggerEventBase(TellescopeModel):
    # Form-answer conditions (docs/semantics.md §10.2); only meaningful for Form Submitted.
    conditions: Json | None = None
    if TYPE_CHECKING:  # every event declares its own `type: Literal[...]` and `info` model
        type: str
        info: Any


class TriggerActionBase(TellescopeModel):
    if TYPE_CHECKING:  # every action declares its own `type: Literal[...]` and `info` model
        type: str
        info: Any


def _event(name: str, **fields: Any) -> type[TriggerEventBase]:
    return _tagged("TriggerEvent", name, TriggerEventBase, **fields)


def _action(name: str, **fields: Any) -> type[TriggerActionBase]:
    return _tagged("TriggerAction", name, TriggerActionBase, **fields)


TRIGGER_EVENTS: tuple[type[TriggerEventBase], ...] = (
    _event(
        "Form Submitted",
        formId=(str, REQ),
        otherFormIds=OptStrs,
        submitterType=OptStr,
        publicIdentifier=OptStr,
        hasExpiredEvent=OptBool,
        conditionsByFormId=(Json | None, None),
    ),
    _event("Form Unsubmitted", formId=(str, REQ), intervalInMS=(int, REQ)),  # deprecated
    _event(
        "Purchase Made",
        titles=OptStrs,
        productIds=OptStrs,
        titlePartialMatches=OptStrs,
        couponCodes=OptStrs,
    ),
    _event("Refund Issued"),
    _event("Subscription Ended", productIds=OptStrs),
    _event("Subscription Payment Failed", productIds=OptStrs),
    _event("Subscription Paused", productIds=OptStrs),
    _event("Subscription Resumed", productIds=OptStrs),
    _event("Stripe: Payment Intent Failed"),
    _event("Appointment No-Showed", titles=OptStrs, templateIds=OptStrs),
    _event("Field Equals", field=(str, REQ), value=(str, REQ)),
    _event("Fields Changed", fields=(list[str], REQ)),
    _event("Tag Added", tag=(str, REQ)),
    _event("Contact Created", entityTypes=OptStrs),
    _event("Appointment Created", titles=OptStrs, templateIds=OptStrs, excludeTemplateIds=OptStrs),
    _event("Appointment Completed", titles=OptStrs, templateIds=OptStrs),
    _event(
        "Appointment Cancelled",
        titles=OptStrs,
        templateIds=OptStrs,
        excludeTemplateIds=OptStrs,
        excludeCancelUpcomingEventsJourney=OptBool,
        by=(Literal["", "enduser", "user"] | None, None),
        cancelReasons=OptStrs,
    ),
    _event("Appointment Rescheduled", titles=OptStrs, detectManualReschedules=OptBool),
    _event(
        "Medication Added",
        titles=(list[str], []),
        protocols=(list[str], []),
        titleCondition=(Json | None, None),
    ),
    _event("No Recent Appointment", intervalInMS=(int, REQ), templateIds=OptStrs, titles=OptStrs),
    _event("On Birthday", minutes=(int, REQ)),
    _event("Has Not Engaged", intervalInMS=(int, REQ)),
    _event(
        "Vital Count",
        units=OptStrs,
        minutes=(int, REQ),
        comparison=(Json, REQ),
        periodInMS=(int, REQ),
    ),
    _event(
        "Vital Update",
        configurationIds=(list[str], REQ),
        classifications=(list[str], REQ),
        ignoreDelayedReadings=OptBool,
    ),
    _event("SMS Reply", templateIds=(list[str], REQ), replyKeywords=OptStrs),
    _event(
        "Order Status Equals",
        source=(str, REQ),
        status=OptStr,
        fills=OptStrs,
        skus=OptStrs,
        skuPartials=OptStrs,
        titlePartials=OptStrs,
        titlePartialsAnd=OptStrs,
        protocols=OptStrs,
        frequencies=OptStrs,
    ),
    _event("Missed Call", phoneNumbers=OptStrs, inputs=OptStrs),
    _event("Left Voicemail", phoneNumbers=OptStrs, inputs=OptStrs),
    _event("Order Created", titles=OptStrs, fills=OptStrs, partialFrequency=OptStr),
    _event("Problem Created", titles=OptStrs),
    _event("Message Delivery Failure"),
    _event(
        "Incoming Message",
        noCareTeam=OptBool,
        destinations=OptStrs,
        channels=OptStrs,
        keywords=OptStrs,
    ),
    _event("Outbound Chat Sent"),
    _event("Pregnancy Ended", reason=OptStr),
    _event("Form Group Completed", groupId=(str, REQ)),
    _event("Form Group Incomplete", groupId=(str, REQ), intervalInMS=(int, REQ)),
    _event("Message Opened", templateIds=OptStrs),
    _event("Message Link Clicked", templateIds=OptStrs),
    _event("Healthie Note Locked", healthieFormIds=OptStrs, answersCondition=(Json | None, None)),
    _event(
        "Healthie Form Answer Group Created",
        healthieFormIds=OptStrs,
        answersCondition=(Json | None, None),
    ),
    _event("Database Entry Added", databaseId=(str, REQ)),
    _event("Form Started", formIds=OptStrs, sources=OptStrs),
    _event("Eligibility Result Received", source=(str, REQ)),
    _event("File Added", source=(str, REQ)),
    _event("Incoming Fax", senderFaxNumbers=OptStrs),
    _event("Beluga Visit Sync Failed", formIds=OptStrs),
)

TRIGGER_ACTIONS: tuple[type[TriggerActionBase], ...] = (
    _action("Add To Journey", journeyId=(str, REQ), doNotRestart=OptBool),
    _action("Remove From Journey", journeyId=(str, REQ)),
    _action("Remove From All Journeys"),
    _action("Add Tags", tags=(list[str], REQ), replaceExisting=OptBool),
    _action("Remove Tags", tags=(list[str], REQ)),
    _action("Add Access Tags", tags=(list[str], REQ)),
    _action("Set Fields", fields=(list[EnduserFieldSetter], REQ)),
    _action("Move To Step"),
    _action(
        "Assign Care Team",
        tags=(ListOfStringsWithQualifier, REQ),
        limitToOneUser=OptBool,
        setAsPrimary=OptBool,
        restrictByState=OptBool,
    ),
    _action("Remove Care Team", tags=(ListOfStringsWithQualifier, REQ)),
    _action("Canvas: Add Patient"),
    _action("Zus: Delete Enrollment", packageId=(str, REQ)),
    _action("Require Form Followups", formIds=(list[str], REQ)),
    _action("Add to Waitlist", waitlistId=(str, REQ)),
    _action("Grant Access From Waitlist", waitlistId=(str, REQ), count=(int, REQ)),
    _action("Reply to Chat", message=(str, REQ)),
    _action(
        "Create User Notifications",
        message=(str, REQ),
        notificationType=(str, REQ),
        careTeamOnly=OptBool,
        tags=(ListOfStringsWithQualifier | None, None),
        maxUsers=(int | None, None),
    ),
    _action(
        "Assign to Incoming Message",
        careTeamOnly=OptBool,
        tags=(ListOfStringsWithQualifier | None, None),
        maxUsers=(int | None, None),
    ),
    _action("Zendesk: Update Ticket Assignee"),
)

# Unions built at run time; the type checker, which cannot see them, sees their common bases.
if TYPE_CHECKING:
    AutomationTriggerEvent: TypeAlias = TriggerEventBase
    AutomationTriggerAction: TypeAlias = TriggerActionBase
else:
    AutomationTriggerEvent = Annotated[Union[TRIGGER_EVENTS], Field(discriminator="type")]  # noqa: UP007
    AutomationTriggerAction = Annotated[Union[TRIGGER_ACTIONS], Field(discriminator="type")]  # noqa: UP007


def _tag(model: type[TellescopeModel]) -> str:
    """The tag of an event or action model: the one value of its `type: Literal[...]`."""
    (name,) = get_args(model.model_fields["type"].annotation)
    return str(name)


TRIGGER_EVENT_TYPES: tuple[str, ...] = tuple(_tag(m) for m in TRIGGER_EVENTS)
TRIGGER_ACTION_TYPES: tuple[str, ...] = tuple(_tag(m) for m in TRIGGER_ACTIONS)
DEPRECATED_TRIGGER_EVENT_TYPES: frozenset[str] = frozenset({"Form Unsubmitted"})
# Evaluated on a clock (Temporal Schedules / timers), not on an incoming event.
TIME_BASED_TRIGGER_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "Has Not Engaged",
        "On Birthday",
        "No Recent Appointment",
        "Form Group Incomplete",
        "Vital Count",
    }
)
INTEGRATION_TRIGGER_ACTION_TYPES: frozenset[str] = frozenset(
    {"Canvas: Add Patient", "Zus: Delete Enrollment", "Zendesk: Update Ticket Assignee"}
)


class AutomationTrigger(TellescopeRecord):
    title: str = Field(max_length=100)
    event: AutomationTriggerEvent
    action: AutomationTriggerAction
    status: Literal["Active", "Inactive"]
    enduserCondition: CompoundFilter | None = None
    journeyId: str | None = None
    oncePerEnduser: bool | None = None
    triggerNextAt: str | None = None
    tags: list[str] | None = None
    accessTags: list[str] | None = None
    availabilityTimezone: str | None = None
    weeklyAvailabilities: list[OfficeHourBlock] | None = None
    archivedAt: str | None = None

    _zone = field_validator("availabilityTimezone")(
        lambda v: v if v is None else check_time_zone(v)
    )
