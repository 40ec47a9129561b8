"""Forms and content actions (docs/semantics.md §8.2): sendForm, pushFormsToPortal, shareContent.

Form responses are prepared with `POST /v1/prepare-form-response` (tied to the step through
`automationStepId`, which is what fires `formResponse` branches when the enduser submits) and then
stamped with their idempotency key in `externalId` (prepare does not take one).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from typing import Any

from activities.messaging import chat_room_for
from activities.people import resolve_sender
from activities.run import ActionRun, compact, iso_ms
from models.runtime import ActionOutcome
from tellescope.client import Record
from tellescope.errors import TellescopeRejected, cannot_perform
from tellescope.idempotency import find_stamped, stamp

DEFAULT_FORM_CHANNEL = "Email"


@dataclass
class PreparedResponse:
    record: Record
    link: str | None  # known only when prepared by this attempt
    reused: bool


async def prepare_stamped_response(
    run: ActionRun,
    *,
    form_id: str,
    key: str,
    stamp_updates: dict[str, Any] | None = None,
    **extra: Any,
) -> PreparedResponse:
    """The form response keyed `key`: the one an earlier attempt stamped, else a new one."""
    existing = await find_stamped(run.client, "form_responses", key, {"enduserId": run.enduser_id})
    if existing:
        return PreparedResponse(existing, None, True)
    prepared = await run.client.prepare_form_response(
        formId=form_id,
        enduserId=run.enduser_id,
        automationStepId=run.request.automationStepId,
        **extra,
    )
    response = prepared["response"]
    response = await run.client.update(
        "form_responses", response["id"], {"externalId": key, **(stamp_updates or {})}
    )
    return PreparedResponse(response, prepared.get("fullURL") or prepared.get("url"), False)


# --- sendForm -----------------------------------------------------------------------------------


def _form_message(title: str, link: str) -> tuple[str, str, str]:
    subject = title or "A form for you"
    text = f"Please complete {title or 'this form'}: {link}"
    markup = (
        f'<p>Please complete <a href="{html.escape(link)}">{html.escape(title or link)}</a>.</p>'
    )
    return subject, text, markup


async def _find_form_message(run: ActionRun, channel: str, key: str) -> Record | None:
    if channel == "Email":
        return await find_stamped(run.client, "emails", key, {"enduserId": run.enduser_id})
    if channel == "SMS":
        return await find_stamped(run.client, "sms_messages", key, {"enduserId": run.enduser_id})
    async for room in run.client.iterate("chat_rooms", {"enduserIds": run.enduser_id}):
        found = await find_stamped(run.client, "chats", key, {"roomId": room["id"]})
        if found:
            return found
    return None


async def _send_form_message(
    run: ActionRun, channel: str, key: str, sender: str, title: str, link: str
) -> Record:
    subject, text, markup = _form_message(title, link)
    common = {
        "automationStepId": run.request.automationStepId,
        "journeyId": run.request.journeyId,
    }
    if channel == "Email":
        body = {
            "enduserId": run.enduser_id,
            "userId": sender,
            "subject": subject,
            "textContent": text,
            "HTMLContent": markup,
            "journeyContext": run.journey_context() or None,
            **common,
        }
        return await run.client.create("emails", stamp("emails", key, compact(body)))
    if channel == "SMS":
        body = {
            "enduserId": run.enduser_id,
            "userId": sender,
            "message": text,
            "journeyContext": run.journey_context() or None,
            **common,
        }
        return await run.client.create("sms_messages", stamp("sms_messages", key, compact(body)))
    room = await chat_room_for(run, None, [sender])
    body = {"roomId": room["id"], "senderId": sender, "message": text, "html": markup, **common}
    return await run.client.create("chats", stamp("chats", key, compact(body)))


async def send_form(run: ActionRun) -> ActionOutcome:
    """Prepare one form response tied to the step and send its link by the channel (Email by
    default). A response prepared by an attempt whose message never went out is replaced: its link
    was never shown to anyone, and only the attempt that prepared it knew the link."""
    info = run.info
    channel = info.channel or DEFAULT_FORM_CHANNEL
    response_key, message_key = run.key("form"), run.key("form-link")
    sent = await _find_form_message(run, channel, message_key)
    prepared = await prepare_stamped_response(
        run, form_id=info.formId, key=response_key, sharedVia=channel
    )
    if sent:
        return ActionOutcome(
            recordIds=[prepared.record["id"], sent["id"]],
            formResponseIds=[prepared.record["id"]],
            reused=True,
            detail=f"form response {prepared.record['id']} already sent ({channel})",
        )
    if prepared.link is None:
        if prepared.record.get("submittedAt"):
            return ActionOutcome(
                recordIds=[prepared.record["id"]],
                formResponseIds=[prepared.record["id"]],
                reused=True,
                detail=f"form response {prepared.record['id']} already submitted",
            )
        await run.client.delete("form_responses", prepared.record["id"])
        prepared = await prepare_stamped_response(
            run, form_id=info.formId, key=response_key, sharedVia=channel
        )
    sender = await resolve_sender(run, info.senderId, info.assignment)
    title = prepared.record.get("formTitle") or ""
    link = prepared.link or ""
    message = await _send_form_message(run, channel, message_key, sender, title, link)
    return ActionOutcome(
        recordIds=[prepared.record["id"], message["id"]],
        formResponseIds=[prepared.record["id"]],
        detail=f"form response {prepared.record['id']} sent by {channel} ({message['id']})",
    )


# --- pushFormsToPortal --------------------------------------------------------------------------


async def _forms_to_push(run: ActionRun) -> list[tuple[str, str]]:
    """(form id, group id) in order: `formIds` grouped under the step id (as Tellescope does),
    then each form group's forms under that group's id. A form listed twice is pushed once."""
    pairs = [(form_id, run.request.automationStepId) for form_id in run.info.formIds or []]
    for group_id in run.info.formGroupIds or []:
        group = await run.client.get("form_groups", group_id)
        pairs += [(form_id, group_id) for form_id in group.get("formIds") or []]
    seen: set[str] = set()
    unique = []
    for form_id, group_id in pairs:
        if form_id not in seen:
            seen.add(form_id)
            unique.append((form_id, group_id))
    return unique


def group_instance(run: ActionRun, group_id: str) -> str:
    """The `groupInstance` the responses of one group pushed by this action share (ObjectId
    shaped, the same on every attempt): what makes "all of this group submitted" decidable,
    so Form Group Completed can fire (docs/semantics.md §8.2, §9.3)."""
    return hashlib.sha256(run.key(f"group:{group_id}").encode()).hexdigest()[:24]


async def push_forms_to_portal(run: ActionRun) -> ActionOutcome:
    """One response per form, visible in the portal (`pushedToPortalAt`). Each carries its
    group (`groupId`: the form group's id, or the step id for `formIds`), one `groupInstance`
    per group and its `groupPosition`, so completing a group is recognisable
    (docs/semantics.md §8.2)."""
    forms = await _forms_to_push(run)
    if not forms:
        raise cannot_perform("pushFormsToPortal lists no forms")
    ids: list[str] = []
    reused = 0
    positions: dict[str, int] = {}
    for position, (form_id, group_id) in enumerate(forms):
        in_group = positions[group_id] = positions.get(group_id, -1) + 1
        prepared = await prepare_stamped_response(
            run,
            form_id=form_id,
            key=run.key(f"portal:{position}"),
            stamp_updates={"pushedToPortalAt": iso_ms(run.now)},
            groupId=group_id,
            groupInstance=group_instance(run, group_id),
            groupPosition=in_group,
        )
        ids.append(prepared.record["id"])
        reused += prepared.reused
    return ActionOutcome(
        recordIds=ids,
        formResponseIds=ids,
        reused=reused == len(ids),
        detail=f"{len(ids)} form(s) pushed to the portal",
    )


# --- shareContent -------------------------------------------------------------------------------


async def _assign_content(run: ActionRun, content_id: str) -> tuple[Record, bool]:
    scope = {"contentId": content_id, "enduserId": run.enduser_id}
    found = await run.client.list("managed_content_record_assignments", scope, limit=1)
    if found:
        return found[0], True
    try:
        return await run.client.create("managed_content_record_assignments", scope), False
    except TellescopeRejected as error:
        if error.status != 409:
            raise
        found = await run.client.list("managed_content_record_assignments", scope, limit=1)
        if not found:
            raise
        return found[0], True


async def share_content(run: ActionRun) -> ActionOutcome:
    ids: list[str] = []
    reused = 0
    for content_id in dict.fromkeys(run.info.managedContentRecordIds):
        assignment, was_there = await _assign_content(run, content_id)
        ids.append(assignment["id"])
        reused += was_there
    return ActionOutcome(
        recordIds=ids,
        reused=bool(ids) and reused == len(ids),
        detail=f"{len(ids)} content record(s) shared",
    )


HANDLERS = {
    "sendForm": send_form,
    "pushFormsToPortal": push_forms_to_portal,
    "shareContent": share_content,
}


async def send_forms(run: ActionRun) -> ActionOutcome:
    handler = HANDLERS.get(run.action_type)
    if handler is None:
        raise cannot_perform(f"send_forms does not perform {run.action_type}")
    return await handler(run)
