"""Event-specific filters (docs/semantics.md §9.3): does trigger event `info` accept this
IncomingEvent?

One function per trigger event type, each returning None when the event passes and otherwise the
reason it does not (the evaluator reports it). Pure: the event carries the record (and the record
before an update), the enduser and `now` come from the caller.

Semantics backed by Tellescope's own tests are implemented as tested (Field Equals coercion and
`$exists`, Fields Changed, Tag Added, Contact Created entity types, Form Submitted multi-form and
per-form conditions, the appointment status rules, Medication Added, Purchase Made). Elsewhere the
rule is the plain reading of the info field; every list filter treats "missing or empty" as "any",
and all given filters must hold.

The transition helpers (`appointment_transitions`, `enduser_update_changed`, ...) are also what
the intake uses to decide which event types a webhook produces, so both agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.conditions import UNDEFINED, enduser_value, js_to_string
from rules.form_conditions import form_response_matches, medication_title_matches
from triggers.events import IncomingEvent

Record = Mapping[str, Any]
Reason = str | None


@dataclass(frozen=True)
class FilterContext:
    enduser: Record
    now: datetime
    # The trigger event's form-answer `conditions` (Tellescope keeps them beside `info`).
    conditions: Mapping[str, Any] | None = None


# --- shared helpers -----------------------------------------------------------------------------


def _given(values: Iterable[Any] | None) -> list[Any]:
    if not values:
        return []
    return [v for v in values if v is not None and v != ""]


def _one_of(value: Any, allowed: Iterable[Any] | None, what: str) -> Reason:
    wanted = _given(allowed)
    if not wanted:
        return None
    if isinstance(value, list):
        if any(v in wanted for v in value):
            return None
    elif value in wanted:
        return None
    return f"{what} {value!r} is not one of {wanted}"


def _none_of(value: Any, excluded: Iterable[Any] | None, what: str) -> Reason:
    if value is not None and value in _given(excluded):
        return f"{what} {value!r} is excluded"
    return None


def _contains_any(text: Any, needles: Iterable[str] | None, what: str) -> Reason:
    wanted = _given(needles)
    if not wanted:
        return None
    haystack = str(text or "").lower()
    if any(n.lower() in haystack for n in wanted):
        return None
    return f"{what} {text!r} contains none of {wanted}"


def _contains_all(text: Any, needles: Iterable[str] | None, what: str) -> Reason:
    wanted = _given(needles)
    haystack = str(text or "").lower()
    missing = [n for n in wanted if n.lower() not in haystack]
    return f"{what} {text!r} lacks {missing}" if missing else None


def _first(*reasons: Reason) -> Reason:
    return next((r for r in reasons if r), None)


def is_set(value: Any) -> bool:
    return value is not None and value is not UNDEFINED and value != "" and value != []


def newly_set(record: Record, previous: Record | None, field: str) -> bool:
    """`field` is set on the record and was not before (a create counts as "before: unset")."""
    return is_set(record.get(field)) and (previous is None or not is_set(previous.get(field)))


def _value(record: Record, name: str) -> Any:
    """An enduser field as the condition language reads it (custom field first, then built-in,
    `insurance.payerName` style sub-fields)."""
    value = enduser_value(record, name)
    return None if value is UNDEFINED else value


def field_touched(event: IncomingEvent, name: str) -> bool:
    """Whether this update wrote the field: its value changed, or the update body names it."""
    if event.previous is None:
        return True
    if _value(event.record, name) != _value(event.previous, name):
        return True
    update = event.update or {}
    if name in update:
        return True
    fields = update.get("fields")
    return isinstance(fields, Mapping) and name in fields


def field_equals(actual: Any, expected: str) -> bool:
    """Field Equals comparison: `$exists` = set and non-empty; otherwise string/number coercion
    ("1" matches 1 and "1"); a list field matches when an element does."""
    if expected == "$exists":
        return is_set(actual)
    if isinstance(actual, list):
        return any(field_equals(item, expected) for item in actual)
    if actual is None or isinstance(actual, dict):
        return False
    if isinstance(actual, bool):
        return js_to_string(actual) == expected
    if isinstance(actual, int | float):
        if js_to_string(actual) == expected:
            return True
        try:
            return float(expected.strip()) == float(actual)
        except ValueError:
            return False
    return str(actual) == expected


def enduser_update_changed(record: Record, previous: Record, name: str) -> bool:
    return _value(record, name) != _value(previous, name)


# --- enduser events -----------------------------------------------------------------------------


def _field_equals(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    actual = _value(event.record, info.field)
    if not field_equals(actual, info.value):
        return f"field {info.field} is {actual!r}, not {info.value!r}"
    if not field_touched(event, info.field):
        return f"field {info.field} was not changed by this update"
    return None


def _fields_changed(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    if event.previous is None:
        return "Fields Changed fires on updates only"
    unchanged = [
        f for f in info.fields if not enduser_update_changed(event.record, event.previous, f)
    ]
    if unchanged:
        return f"fields not changed: {unchanged}"
    return None


def _tag_added(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    if event.previous is None:
        return "Tag Added fires on updates only"
    now = event.record.get("tags") or []
    before = event.previous.get("tags") or []
    if info.tag not in now:
        return f"tag {info.tag!r} is not present"
    if info.tag in before:
        return f"tag {info.tag!r} was already present"
    return None


DEFAULT_ENTITY_TYPE = "Default"


def _contact_created(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    wanted = _given(info.entityTypes)
    if not wanted:
        return None
    custom_type = event.record.get("customTypeId") or ""
    if custom_type and custom_type in wanted:
        return None
    if not custom_type and DEFAULT_ENTITY_TYPE in wanted:
        return None
    return f"contact type {custom_type or DEFAULT_ENTITY_TYPE!r} is not one of {wanted}"


# --- forms --------------------------------------------------------------------------------------


def submitter_type(response: Record) -> str:
    """`enduser` when the enduser (or nobody known) submitted the response, else `user`."""
    submitted_by = response.get("submittedBy")
    if not submitted_by or submitted_by == response.get("enduserId"):
        return "enduser"
    return "user"


def form_conditions_for(
    trigger_conditions: Mapping[str, Any] | None,
    by_form: Mapping[str, Any] | None,
    form_id: str | None,
) -> Mapping[str, Any] | None:
    """`conditionsByFormId`, when given, replaces the global conditions entirely: the submitted
    form's own conditions apply (none listed: no conditions), so conditions for form A never
    block form B. Without it, the global `conditions` apply."""
    if by_form:
        return by_form.get(form_id or "")
    return trigger_conditions or None


def _form_submitted(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    response = event.record
    if not response.get("submittedAt"):
        return "the form response is not submitted"
    form_id = response.get("formId")
    other = info.otherFormIds
    # Most triggers are for another form: the list for the reason is built only then.
    if form_id != info.formId and not (
        other and form_id is not None and form_id != "" and form_id in other
    ):
        forms = [info.formId, *_given(other)]
        return f"form {form_id!r} is not one of {forms}"
    if info.submitterType and info.submitterType != "Anyone":
        kind = submitter_type(response)
        if kind != info.submitterType:
            return f"submitted by {kind}, not {info.submitterType}"
    if info.publicIdentifier and response.get("publicIdentifier") != info.publicIdentifier:
        return (
            f"public identifier {response.get('publicIdentifier')!r} != {info.publicIdentifier!r}"
        )
    condition = form_conditions_for(ctx.conditions, info.conditionsByFormId, form_id)
    if condition and not form_response_matches(
        response.get("responses") or [],
        condition,
        now=ctx.now,
        date_of_birth=ctx.enduser.get("dateOfBirth"),
        gender=ctx.enduser.get("gender"),
        state=ctx.enduser.get("state"),
    ):
        return "form answers do not meet the trigger's conditions"
    return None


def _form_started(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    return _first(
        _one_of(event.record.get("formId"), info.formIds, "form"),
        _one_of(event.record.get("source") or event.details.get("source"), info.sources, "source"),
    )


def _form_group(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    group = event.details.get("groupId") or event.record.get("groupId")
    if group != info.groupId:
        return f"form group {group!r} is not {info.groupId!r}"
    return None


# --- appointments -------------------------------------------------------------------------------

_STATUS_FIELDS = ("cancelledAt", "rescheduledAt", "noShowedAt")


def appointment_transitions(record: Record, previous: Record | None) -> dict[str, dict[str, Any]]:
    """Which appointment events a calendar event create/update is, with their details:
    Created (on create), Completed (`completedAt` newly set, and not cancelled, rescheduled or
    no-showed), Cancelled / No-Showed (`cancelledAt` / `noShowedAt` newly set), Rescheduled
    (`rescheduledAt` newly set; or, marked `manual`, a changed `startTimeInMS` of an event that is
    not cancelled, no-showed or already rescheduled, for `detectManualReschedules`)."""
    found: dict[str, dict[str, Any]] = {}
    if previous is None:
        found["Appointment Created"] = {}
    if newly_set(record, previous, "completedAt") and not any(
        is_set(record.get(f)) for f in _STATUS_FIELDS
    ):
        found["Appointment Completed"] = {}
    if newly_set(record, previous, "cancelledAt"):
        found["Appointment Cancelled"] = {}
    if newly_set(record, previous, "noShowedAt"):
        found["Appointment No-Showed"] = {}
    if newly_set(record, previous, "rescheduledAt"):
        found["Appointment Rescheduled"] = {"manual": False}
    elif (
        previous is not None
        and record.get("startTimeInMS") != previous.get("startTimeInMS")
        and not any(is_set(previous.get(f)) or is_set(record.get(f)) for f in _STATUS_FIELDS)
    ):
        found["Appointment Rescheduled"] = {"manual": True}
    return found


def _appointment_basics(info: Any, event: IncomingEvent) -> Reason:
    record = event.record
    return _first(
        _one_of(record.get("title"), getattr(info, "titles", None), "title"),
        _one_of(record.get("templateId"), getattr(info, "templateIds", None), "template"),
        _none_of(record.get("templateId"), getattr(info, "excludeTemplateIds", None), "template"),
    )


def _transition(event: IncomingEvent, name: str) -> Reason:
    if name not in appointment_transitions(event.record, event.previous):
        return f"the calendar event change is not an {name.lower()}"
    return None


def _appointment(name: str) -> Callable[[Any, IncomingEvent, FilterContext], Reason]:
    def check(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
        return _first(_transition(event, name), _appointment_basics(info, event))

    return check


def _appointment_cancelled(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    reason = _first(_transition(event, "Appointment Cancelled"), _appointment_basics(info, event))
    if reason:
        return reason
    source = event.record.get("statusChangeSource") or {}
    by_enduser = source.get("source") == "enduser" or bool(source.get("byEnduserExternal"))
    if info.by == "enduser" and not by_enduser:
        return "not cancelled by the enduser"
    if info.by == "user" and by_enduser:
        return "cancelled by the enduser, not a user"
    if info.excludeCancelUpcomingEventsJourney and (
        "journey" in str(source.get("source", "")).lower()
        or source.get("identifier") == "cancelFutureAppointments"
    ):
        return "cancelled by a journey's cancel-upcoming-appointments action"
    return _one_of(event.record.get("cancelReason"), info.cancelReasons, "cancel reason")


def _appointment_rescheduled(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    found = appointment_transitions(event.record, event.previous).get("Appointment Rescheduled")
    if found is None:
        return "the calendar event was not rescheduled"
    if found["manual"] and not info.detectManualReschedules:
        return "a start-time change counts only with detectManualReschedules"
    return _one_of(event.record.get("title"), info.titles, "title")


# --- purchases, orders, medications -------------------------------------------------------------


def _product_ids(record: Record) -> list[str]:
    ids = list(record.get("productIds") or [])
    if record.get("productId"):
        ids.append(record["productId"])
    return ids


def _purchase_made(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    record = event.record
    return _first(
        _one_of(record.get("title"), info.titles, "title"),
        _one_of(_product_ids(record), info.productIds, "products"),
        _contains_any(record.get("title"), info.titlePartialMatches, "title"),
        _one_of(record.get("couponCode") or record.get("couponCodes"), info.couponCodes, "coupon"),
    )


def _products(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    return _one_of(_product_ids(event.record), info.productIds, "products")


def _order_created(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    record = event.record
    partial = [info.partialFrequency] if info.partialFrequency else None
    return _first(
        _one_of(record.get("title"), info.titles, "title"),
        _one_of(record.get("fill"), info.fills, "fill"),
        _contains_any(record.get("frequency"), partial, "frequency"),
    )


def _order_status(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    record = event.record
    if record.get("source") != info.source:
        return f"order source {record.get('source')!r} is not {info.source!r}"
    if info.status is not None and record.get("status") != info.status:
        return f"order status {record.get('status')!r} is not {info.status!r}"
    if event.previous is not None and record.get("status") == event.previous.get("status"):
        return "the order status did not change"
    return _first(
        _one_of(record.get("fill"), info.fills, "fill"),
        _one_of(record.get("sku"), info.skus, "sku"),
        _contains_any(record.get("sku"), info.skuPartials, "sku"),
        _contains_any(record.get("title"), info.titlePartials, "title"),
        _contains_all(record.get("title"), info.titlePartialsAnd, "title"),
        _one_of(record.get("protocol"), info.protocols, "protocol"),
        _one_of(record.get("frequency"), info.frequencies, "frequency"),
    )


def _medication_added(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    record = event.record
    title = record.get("title") or ""
    protocols = _given(info.protocols)
    if protocols and record.get("protocol") not in protocols:
        return f"protocol {record.get('protocol')!r} is not one of {protocols}"
    reason = _one_of(title, info.titles, "title")
    if reason:
        return reason
    if not medication_title_matches(title, info.titleCondition):
        return f"title {title!r} does not meet the title condition"
    return None


# --- messages -----------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.lower()).split()


def keyword_matches(text: str, keywords: Sequence[str]) -> bool:
    """A keyword matches when it appears in the message as whole word(s), case-insensitively."""
    words = _words(text)
    for keyword in _given(keywords):
        wanted = _words(keyword)
        if not wanted:
            continue
        for start in range(len(words) - len(wanted) + 1):
            if words[start : start + len(wanted)] == wanted:
                return True
    return False


def message_text(record: Record) -> str:
    return str(record.get("message") or record.get("textContent") or record.get("subject") or "")


def _incoming_message(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    channel = event.details.get("channel")
    reason = _first(
        _one_of(channel, info.channels, "channel"),
        _one_of(event.details.get("destination"), info.destinations, "destination"),
    )
    if reason:
        return reason
    keywords = _given(info.keywords)
    if keywords and not keyword_matches(message_text(event.record), keywords):
        return f"the message contains none of the keywords {keywords}"
    if info.noCareTeam and ctx.enduser.get("assignedTo"):
        return "the enduser has a care team"
    return None


def _sms_reply(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    replied = _given(event.details.get("repliedTemplateIds"))
    templates = _given(info.templateIds)
    if templates and not any(t in templates for t in replied):
        return f"the reply answers no SMS sent from templates {templates}"
    keywords = _given(info.replyKeywords)
    if keywords and not keyword_matches(message_text(event.record), keywords):
        return f"the reply contains none of the keywords {keywords}"
    return None


def _template_filter(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    return _one_of(event.record.get("templateId"), info.templateIds, "template")


def _calls(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    record = event.record
    number = (
        record.get("inboundPhoneNumber") or record.get("to") or event.details.get("destination")
    )
    return _first(
        _one_of(number, info.phoneNumbers, "phone number"),
        _one_of(record.get("input") or record.get("inputs"), info.inputs, "input"),
    )


# --- other records ------------------------------------------------------------------------------


def _titles(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    return _one_of(event.record.get("title"), info.titles, "title")


def _source(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    if event.record.get("source") != info.source:
        return f"source {event.record.get('source')!r} is not {info.source!r}"
    return None


def _pregnancy_ended(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    if not info.reason:
        return None
    reason = event.details.get("reason") or event.record.get("pregnancyEndReason")
    return None if reason == info.reason else f"reason {reason!r} is not {info.reason!r}"


def _vital_update(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    record = event.record
    configuration = record.get("vitalConfigurationId") or event.details.get("configurationId")
    return _first(
        _one_of(configuration, info.configurationIds, "vital configuration"),
        _one_of(record.get("classification"), info.classifications, "classification"),
    )


def _healthie(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    if info.answersCondition:
        return "answersCondition (Healthie answers) is not supported"
    return _one_of(event.record.get("healthieFormId"), info.healthieFormIds, "Healthie form")


def _database_entry(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    database = event.record.get("databaseId")
    return None if database == info.databaseId else f"database {database!r} != {info.databaseId!r}"


def _fax(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    return _one_of(event.record.get("from"), info.senderFaxNumbers, "sender fax number")


def _form_ids(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    return _one_of(event.record.get("formId"), info.formIds, "form")


def _any(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    return None


def _time_based(info: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    """The scan that produced the event already selected the candidate for this trigger."""
    if event.forTriggerId is None:
        return "time-based triggers fire from their schedule's scan only"
    return None


def _never(why: str) -> Callable[[Any, IncomingEvent, FilterContext], Reason]:
    return lambda info, event, ctx: why


FILTERS: dict[str, Callable[[Any, IncomingEvent, FilterContext], Reason]] = {
    "Form Submitted": _form_submitted,
    "Form Unsubmitted": _never("Form Unsubmitted is deprecated: use a formUnsubmitted step"),
    "Form Started": _form_started,
    "Purchase Made": _purchase_made,
    "Refund Issued": _any,
    "Subscription Ended": _products,
    "Subscription Payment Failed": _products,
    "Subscription Paused": _products,
    "Subscription Resumed": _products,
    "Stripe: Payment Intent Failed": _any,
    "Appointment No-Showed": _appointment("Appointment No-Showed"),
    "Field Equals": _field_equals,
    "Fields Changed": _fields_changed,
    "Tag Added": _tag_added,
    "Contact Created": _contact_created,
    "Appointment Created": _appointment("Appointment Created"),
    "Appointment Completed": _appointment("Appointment Completed"),
    "Appointment Cancelled": _appointment_cancelled,
    "Appointment Rescheduled": _appointment_rescheduled,
    "Medication Added": _medication_added,
    "No Recent Appointment": _time_based,
    "On Birthday": _time_based,
    "Has Not Engaged": _time_based,
    "Vital Count": _time_based,
    "Vital Update": _vital_update,
    "SMS Reply": _sms_reply,
    "Order Status Equals": _order_status,
    "Missed Call": _calls,
    "Left Voicemail": _calls,
    "Order Created": _order_created,
    "Problem Created": _titles,
    "Message Delivery Failure": _any,
    "Incoming Message": _incoming_message,
    "Outbound Chat Sent": _any,
    "Pregnancy Ended": _pregnancy_ended,
    "Form Group Completed": _form_group,
    "Form Group Incomplete": lambda info, event, ctx: _first(
        _time_based(info, event, ctx), _form_group(info, event, ctx)
    ),
    "Message Opened": _template_filter,
    "Message Link Clicked": _template_filter,
    "Healthie Note Locked": _healthie,
    "Healthie Form Answer Group Created": _healthie,
    "Database Entry Added": _database_entry,
    "Eligibility Result Received": _source,
    "File Added": _source,
    "Incoming Fax": _fax,
    "Beluga Visit Sync Failed": _form_ids,
}


def event_filter(trigger_event: Any, event: IncomingEvent, ctx: FilterContext) -> Reason:
    """Apply the filter of `trigger_event.type` (the trigger's `event`) to `event`; `ctx` carries
    the trigger event's `conditions`."""
    check = FILTERS.get(trigger_event.type)
    if check is None:
        return f"no filter for trigger event type {trigger_event.type!r}"
    return check(trigger_event.info, event, ctx)
