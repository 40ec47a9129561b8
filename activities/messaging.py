"""Messaging actions (docs/semantics.md §8.1): sendEmail, sendSMS, sendChat, notifyTeam.

Why not `POST /v1/emails/send-with-template` (and its SMS twin)? It takes only enduser, sender and
template, so the message could carry neither our idempotency key nor the step, journey and journey
context Tellescope stamps on automation messages. Instead the template is rendered by Tellescope
(`POST /v1/templated-message`, the same merge-field engine, form links tied to the step) and the
message is created with every stamp (`POST /v1/email`, `/v1/sms-message`, `/v1/chat`). Tellescope
still enforces its sending rules on that create ("Missing email consent", ...), and those
rejections are the step's error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activities.people import (
    care_team,
    organisation_users,
    resolve_sender,
    tags_match,
    users_by_id,
)
from activities.run import ActionRun, compact
from models.runtime import ActionOutcome
from tellescope.client import Record
from tellescope.errors import cannot_perform
from tellescope.idempotency import NOTIFICATION_KEY_TYPE, find_stamped, stamp

NOTIFICATION_TYPE = "Journey Notification"
FORM_LINK_MARK = "{{forms."


@dataclass
class RenderedMessage:
    text: str
    html: str
    subject: str
    form_response_ids: list[str] = field(default_factory=list)


# --- rendering, with the form responses a message's links create -----------------------------


async def render_for_enduser(
    run: ActionRun,
    *,
    message: str,
    html: str | None,
    subject: str | None,
    sender_id: str,
    channel: str,
    key: str,
) -> RenderedMessage:
    """Render a message for the enduser; form links become form responses tied to this step,
    which are then stamped `<key>:link:<n>` so a retry that finds the message finds them too."""
    rendered = await run.client.templated_message(
        message=message,
        html=html,
        subject=subject,
        user_id=sender_id,
        enduser_id=run.enduser_id,
        channel=channel,
        automation_step_id=run.request.automationStepId,
        journey_context=run.journey_context() or None,
    )
    result = RenderedMessage(
        text=rendered.get("plaintext", message),
        html=rendered.get("html") or "",
        subject=rendered.get("subject") or subject or "",
    )
    if FORM_LINK_MARK in message or (html and FORM_LINK_MARK in html):
        result.form_response_ids = await _claim_form_links(run, key, result.text + result.html)
    return result


async def _step_form_responses(run: ActionRun) -> list[Record]:
    responses = await run.client.find_all(
        "form_responses",
        {"enduserId": run.enduser_id, "automationStepId": run.request.automationStepId},
        sort="oldFirst",
        created_from=run.created_since,
    )
    return sorted(responses, key=lambda r: r["id"])


async def _claim_form_links(run: ActionRun, key: str, rendered: str) -> list[str]:
    """Stamp the responses this rendering created: unsubmitted, not yet stamped, and linked from
    the rendered text (a form link carries its response's access code). If no link can be matched
    (a link format that hides the code), every fresh unstamped response of the step is taken."""
    fresh = [
        r
        for r in await _step_form_responses(run)
        if not r.get("externalId") and not r.get("submittedAt")
    ]
    linked = [r for r in fresh if r.get("accessCode") and r["accessCode"] in rendered]
    claimed = linked or fresh
    ids: list[str] = []
    for index, response in enumerate(claimed):
        await run.client.update(
            "form_responses", response["id"], {"externalId": f"{key}:link:{index}"}
        )
        ids.append(response["id"])
    return ids


async def claimed_form_links(run: ActionRun, key: str) -> list[str]:
    prefix = f"{key}:link:"
    responses = await _step_form_responses(run)
    stamped = [r for r in responses if str(r.get("externalId", "")).startswith(prefix)]
    stamped.sort(key=lambda r: int(str(r["externalId"])[len(prefix) :] or 0))
    return [r["id"] for r in stamped]


def _reused(record: Record, form_response_ids: list[str], what: str) -> ActionOutcome:
    return ActionOutcome(
        recordIds=[record["id"], *form_response_ids],
        formResponseIds=form_response_ids,
        reused=True,
        detail=f"{what} {record['id']} already sent by an earlier attempt",
    )


# --- related contacts ---------------------------------------------------------------------------


async def _related_contacts(run: ActionRun, types: list[str] | None) -> list[Record]:
    if not types:
        return []
    enduser = await run.enduser()
    ids = [r.get("id") for r in enduser.get("relationships") or [] if r.get("type") in types]
    return await run.client.get_many("endusers", [i for i in ids if i])


# --- sendEmail ----------------------------------------------------------------------------------


async def send_email(run: ActionRun) -> ActionOutcome:
    info = run.info
    key = run.key("email")
    existing = await find_stamped(run.client, "emails", key, {"enduserId": run.enduser_id})
    if existing:
        return _reused(existing, await claimed_form_links(run, key), "email")

    enduser = await run.enduser()
    sender = await resolve_sender(run, info.senderId, info.assignment)
    template = await run.client.get("templates", info.templateId)
    rendered = await render_for_enduser(
        run,
        message=template.get("message", ""),
        html=template.get("html"),
        subject=template.get("subject", ""),
        sender_id=sender,
        channel="Email",
        key=key,
    )
    body: dict[str, Any] = {
        "enduserId": run.enduser_id,
        "userId": sender,
        "subject": rendered.subject,
        "textContent": rendered.text,
        "HTMLContent": rendered.html or None,
        "templateId": info.templateId,
        "automationStepId": run.request.automationStepId,
        "journeyId": run.request.journeyId,
        "journeyContext": run.journey_context() or None,
        "isMarketing": template.get("isMarketing") or None,
        "hiddenFromTimeline": info.hiddenFromTimeline or None,
        "fromEmailOverride": info.fromEmailOverride
        or (enduser.get("useDefaultFromEmailInAutomations") and enduser.get("defaultFromEmail"))
        or None,
    }
    related = await _related_contacts(run, info.sendToDestinationOfRelatedContactTypes)
    custom = (enduser.get("fields") or {}).get(info.customEmailField or "")
    to_address = next((c["email"] for c in related if c.get("email")), None) or (
        custom if isinstance(custom, str) and "@" in custom else None
    )
    if to_address:
        body["alternateToAddress"] = to_address
    cc_contacts = await _related_contacts(run, info.ccRelatedContactTypes)
    cc = [c["email"] for c in cc_contacts if c.get("email")]
    if cc:
        body["cc"] = cc
    email = await run.client.create("emails", stamp("emails", key, compact(body)))
    return ActionOutcome(
        recordIds=[email["id"], *rendered.form_response_ids],
        formResponseIds=rendered.form_response_ids,
        detail=f"email {email['id']} to enduser from user {sender}",
    )


# --- sendSMS ------------------------------------------------------------------------------------


async def send_sms(run: ActionRun) -> ActionOutcome:
    info = run.info
    key = run.key("sms")
    existing = await find_stamped(run.client, "sms_messages", key, {"enduserId": run.enduser_id})
    if existing:
        return _reused(existing, await claimed_form_links(run, key), "SMS")

    enduser = await run.enduser()
    sender = await resolve_sender(run, info.senderId, info.assignment)
    template = await run.client.get("templates", info.templateId)
    rendered = await render_for_enduser(
        run,
        message=template.get("message", ""),
        html=None,
        subject=None,
        sender_id=sender,
        channel="SMS",
        key=key,
    )
    from_number = info.phoneNumberOverride or (
        enduser.get("useDefaultFromPhoneInAutomations") and enduser.get("defaultFromPhone")
    )
    related = await _related_contacts(run, info.sendToDestinationOfRelatedContactTypes)
    body: dict[str, Any] = {
        "enduserId": run.enduser_id,
        "userId": sender,
        "message": rendered.text,
        "templateId": info.templateId,
        "automationStepId": run.request.automationStepId,
        "journeyId": run.request.journeyId,
        "journeyContext": run.journey_context() or None,
        "hiddenFromTimeline": info.hiddenFromTimeline or None,
        "phoneNumber": from_number or None,
        "enduserPhoneNumber": next((c["phone"] for c in related if c.get("phone")), None),
    }
    sms = await run.client.create("sms_messages", stamp("sms_messages", key, compact(body)))
    return ActionOutcome(
        recordIds=[sms["id"], *rendered.form_response_ids],
        formResponseIds=rendered.form_response_ids,
        detail=f"SMS {sms['id']} to enduser from user {sender}",
    )


# --- sendChat -----------------------------------------------------------------------------------


async def chat_room_for(
    run: ActionRun, identifier: str | None, user_ids: list[str], title: str | None = None
) -> Record:
    """The enduser's chat room with this `identifier`, created when missing (natural key, so a
    retry finds the room an earlier attempt made); missing users are added to an existing room."""
    scope: dict[str, Any] = {"enduserIds": run.enduser_id}
    if identifier:
        scope["identifier"] = identifier
    rooms = await run.client.list("chat_rooms", scope, limit=10, sort="oldFirst")
    rooms = [r for r in rooms if run.enduser_id in (r.get("enduserIds") or [])]
    if identifier:
        rooms = [r for r in rooms if r.get("identifier") == identifier]
    if rooms:
        room = rooms[0]
        missing = [u for u in user_ids if u not in (room.get("userIds") or [])]
        if missing:
            room = await run.client.update("chat_rooms", room["id"], {"userIds": missing})
        return room
    body = {
        "type": "external",
        "enduserIds": [run.enduser_id],
        "userIds": list(dict.fromkeys(user_ids)),
        "aboutEnduserId": run.enduser_id,
        "identifier": identifier,
        "title": title or identifier,
    }
    return await run.client.create("chat_rooms", compact(body))


async def send_chat(run: ActionRun) -> ActionOutcome:
    info = run.info
    key = run.key("chat")
    users: list[str] = []
    if info.includeCareTeam:
        team = care_team(await run.enduser())
        rule = info.careTeamTags
        if rule and [v for v in rule.values if v]:
            members = await users_by_id(run, team)
            team = [u["id"] for u in members if tags_match(u.get("tags"), rule)]
        users.extend(team)
    users.extend(info.userIds or [])
    users = list(dict.fromkeys(users))
    room = await chat_room_for(run, info.identifier, users)
    existing = await find_stamped(run.client, "chats", key, {"roomId": room["id"]})
    if existing:
        return _reused(existing, await claimed_form_links(run, key), "chat")

    sender = users[0] if users else await run.client.automation_user_id()
    template = await run.client.get("templates", info.templateId)
    rendered = await render_for_enduser(
        run,
        message=template.get("message", ""),
        html=template.get("html"),
        subject=None,
        sender_id=sender,
        channel="Chat",
        key=key,
    )
    body = {
        "roomId": room["id"],
        "senderId": sender,
        "message": rendered.text,
        "html": rendered.html or None,
        "templateId": info.templateId,
        "automationStepId": run.request.automationStepId,
        "journeyId": run.request.journeyId,
    }
    chat = await run.client.create("chats", stamp("chats", key, compact(body)))
    return ActionOutcome(
        recordIds=[chat["id"], room["id"], *rendered.form_response_ids],
        formResponseIds=rendered.form_response_ids,
        detail=f"chat {chat['id']} in room {room['id']}",
    )


# --- notifyTeam ---------------------------------------------------------------------------------


async def _team_to_notify(run: ActionRun) -> list[str]:
    info = run.info
    if info.forAssigned:
        return care_team(await run.enduser())
    roles = set(info.roles or [])
    chosen: list[str] = []
    for user in await organisation_users(run):
        if roles and not roles.intersection(user.get("roles") or []):
            continue
        if info.tags is not None and not tags_match(user.get("tags"), info.tags):
            continue
        if not roles and info.tags is None:
            continue  # neither roles nor tags: nobody, rather than the whole organisation
        chosen.append(user["id"])
    return chosen


async def _find_notification(run: ActionRun, user_id: str, key: str) -> Record | None:
    async for notification in run.client.iterate(
        "user_notifications", {"userId": user_id}, created_from=run.created_since
    ):
        for related in notification.get("relatedRecords") or []:
            if related.get("type") == NOTIFICATION_KEY_TYPE and related.get("id") == key:
                return notification
    return None


async def notify_team(run: ActionRun) -> ActionOutcome:
    """One user notification per chosen user, with the template rendered for that user (so
    `{{user.*}}` is the recipient). Tellescope delivers notification emails according to each
    user's notification preferences."""
    info = run.info
    template = await run.client.get("templates", info.templateId)
    created: list[str] = []
    reused = 0
    for user_id in await _team_to_notify(run):
        key = run.key(f"notify:{user_id}")
        existing = await _find_notification(run, user_id, key)
        if existing:
            created.append(existing["id"])
            reused += 1
            continue
        rendered = await run.client.templated_message(
            message=template.get("message", ""),
            user_id=user_id,
            enduser_id=run.enduser_id,
            journey_context=run.journey_context() or None,
        )
        notification = await run.client.create(
            "user_notifications",
            {
                "userId": user_id,
                "type": NOTIFICATION_TYPE,
                "message": rendered.get("plaintext", ""),
                "relatedRecords": [
                    {"type": "enduser", "id": run.enduser_id},
                    {"type": NOTIFICATION_KEY_TYPE, "id": key},
                ],
            },
        )
        created.append(notification["id"])
    return ActionOutcome(
        recordIds=created,
        reused=bool(created) and reused == len(created),
        detail=f"{len(created)} user notification(s)" + (f", {reused} reused" if reused else ""),
    )


HANDLERS = {
    "sendEmail": send_email,
    "sendSMS": send_sms,
    "sendChat": send_chat,
    "notifyTeam": notify_team,
}


async def send_message(run: ActionRun) -> ActionOutcome:
    handler = HANDLERS.get(run.action_type)
    if handler is None:
        raise cannot_perform(f"send_message does not perform {run.action_type}")
    return await handler(run)
