"""Templated messages: `POST /v1/templated-message` and the send-with-template actions.

Rendering is shared by every path that turns a template into a message, so the outbox shows the
text a patient would receive, and form links carry the automation step that sent them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.behaviour.forms import prepare_form_response
from sandbox.behaviour.messages import check_can_email, check_can_sms
from sandbox.errors import invalid_field, missing_field
from sandbox.ids import is_object_id
from sandbox.merge_fields import MergeContext, plaintext_to_html, render

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService

CONTENT_PAGE_PATH = "/sandbox/content/{content_id}"
_CONTEXT_EXTRAS = ("automationStepId", "journeyId", "journeyContext")


def merge_context(
    records: RecordService,
    caller: Caller,
    *,
    enduser: dict[str, Any],
    sender: dict[str, Any] | None,
    automation_step_id: str | None = None,
    journey_id: str | None = None,
    journey_context: dict[str, Any] | None = None,
    channel: str | None = None,
    object_mode: Any = "default",
) -> MergeContext:
    journey_context = journey_context or {}

    def make_form_link(form_id: str) -> str:
        prepared = prepare_form_response(
            records,
            caller,
            {
                "formId": form_id,
                "enduserId": enduser["id"],
                "automationStepId": automation_step_id,
                "sharedVia": channel,
                "journeyId": journey_id,
            },
        )
        return prepared["fullURL"]

    def make_content_link(content_id: str) -> str:
        return records.settings.base_url + CONTENT_PAGE_PATH.format(content_id=content_id)

    event_id = journey_context.get("calendarEventId")
    response_id = journey_context.get("formResponseId")
    order_id = journey_context.get("orderId")
    return MergeContext(
        enduser=enduser,
        sender=sender,
        organization=records.store.get("organizations", caller.business_id),
        calendar_event=records.store.get("calendar_events", event_id) if event_id else None,
        form_response=records.store.get("form_responses", response_id) if response_id else None,
        order=records.store.get("enduser_orders", order_id) if isinstance(order_id, str) else None,
        make_form_link=make_form_link,
        make_content_link=make_content_link,
        object_mode=object_mode,
    )


def templated_message(
    records: RecordService, caller: Caller, values: dict[str, Any]
) -> dict[str, Any]:
    """`{plaintext, html, subject, linkOpenTrackingIds}` for a message rendered for an enduser."""
    for name in ("message", "userId", "enduserId"):
        if values.get(name) is None:
            raise missing_field(name)
    message = values["message"]
    if not isinstance(message, str):
        raise invalid_field("message", "Expecting string value")
    _check_ids(values, ("userId", "enduserId", "automationStepId", "journeyId"))
    enduser = records.get("endusers", values["enduserId"])
    sender = records.get("users", values["userId"])
    context = merge_context(
        records,
        caller,
        enduser=enduser,
        sender=sender,
        automation_step_id=values.get("automationStepId"),
        journey_id=values.get("journeyId"),
        journey_context=_journey_context(values),
        channel=values.get("channel"),
    )
    html_source = values.get("html") or plaintext_to_html(message)
    result: dict[str, Any] = {
        "plaintext": render(message, context),
        "html": render(html_source, context, as_html=True),
        "linkOpenTrackingIds": [],
    }
    if values.get("subject") is not None:
        result["subject"] = render(values["subject"], context)
    return result


def send_email_with_template(
    records: RecordService, caller: Caller, values: dict[str, Any]
) -> dict[str, Any]:
    template, enduser, sender = _template_parts(records, values)
    email_values: dict[str, Any] = {"isMarketing": template.get("isMarketing", False)}
    check_can_email(records, enduser, email_values)
    context = merge_context(
        records,
        caller,
        enduser=enduser,
        sender=sender,
        automation_step_id=values.get("automationStepId"),
        journey_id=values.get("journeyId"),
        journey_context=_journey_context(values),
        channel="Email",
    )
    html_source = template.get("html") or plaintext_to_html(template["message"])
    email_values.update(
        {
            "enduserId": enduser["id"],
            "userId": sender["id"],
            "subject": render(template["subject"], context),
            "textContent": render(template["message"], context),
            "HTMLContent": render(html_source, context, as_html=True),
            "templateId": template["id"],
        }
    )
    email_values.update({k: values[k] for k in _CONTEXT_EXTRAS if values.get(k) is not None})
    email = records.create(caller, "emails", email_values)
    return {"email": records.present("emails", email)}


def send_sms_with_template(
    records: RecordService, caller: Caller, values: dict[str, Any]
) -> dict[str, Any]:
    template, enduser, sender = _template_parts(records, values)
    sms_values: dict[str, Any] = {}
    check_can_sms(records, enduser, sms_values)
    context = merge_context(
        records,
        caller,
        enduser=enduser,
        sender=sender,
        automation_step_id=values.get("automationStepId"),
        journey_id=values.get("journeyId"),
        journey_context=_journey_context(values),
        channel="SMS",
    )
    sms_values.update(
        {
            "enduserId": enduser["id"],
            "userId": sender["id"],
            "message": render(template["message"], context),
            "templateId": template["id"],
        }
    )
    if values.get("fromNumber"):
        sms_values["phoneNumber"] = values["fromNumber"]
    sms_values.update({k: values[k] for k in _CONTEXT_EXTRAS if values.get(k) is not None})
    sms = records.create(caller, "sms_messages", sms_values)
    return {"sms": records.present("sms_messages", sms)}


def _template_parts(
    records: RecordService, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    for name in ("enduserId", "senderId", "templateId"):
        if values.get(name) is None:
            raise missing_field(name)
    _check_ids(values, ("enduserId", "senderId", "templateId", "automationStepId", "journeyId"))
    template = records.get("templates", values["templateId"])
    enduser = records.get("endusers", values["enduserId"])
    sender = records.get("users", values["senderId"])
    return template, enduser, sender


def _journey_context(values: dict[str, Any]) -> dict[str, Any]:
    context = values.get("journeyContext")
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise invalid_field("journeyContext", f"Expecting an object but got {context}")
    return context


def _check_ids(values: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        value = values.get(name)
        if value is not None and not is_object_id(value):
            raise invalid_field(name, "Invalid id")
