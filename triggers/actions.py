"""Trigger actions (docs/semantics.md §9.4) as Temporal activities: `TriggerActivities(deps).all()`.

Every action is idempotent by the firing's key (`TriggerActionRequest.automatedActionId`), so a
retried attempt or a redelivered firing changes Tellescope once:

| action                         | how                                                           |
|--------------------------------|---------------------------------------------------------------|
| Add Tags / Remove Tags /       | the journey step's handler (`activities.enduser`) with the    |
| Add Access Tags / Set Fields / | equivalent step action (addEnduserTags, ...), through the     |
| Assign / Remove Care Team      | quiet client; Increment Number guarded by the firing's key    |
| Add To Journey                 | `workflows.starter.enroll` with the journey's current version |
|                                | (state "", context = the event's); never restarts an          |
|                                | enrollment (re)started since the firing began (a retry)       |
| Remove From (All) Journey(s)   | `remove` signal, cancel reason 4 (a repeat is ignored)        |
| Move To Step                   | signalled by the firing workflow itself (exactly once)        |
| Create User Notifications      | one notification per chosen user, found again by its key      |
| Reply to Chat                  | a chat in the incoming chat's room, stamped with the key;     |
|                                | the room's endusers get `recentOutboundChatAt`                |
| Assign to Incoming Message     | users added to the inbound email / SMS / chat room assignedTo |
| Require Form Followups         | `followups` of the triggering form response (missing ones)    |
| Add to / Grant Access From     | the `waitlists` record (Tellescope's model; answers clearly   |
| Waitlist                       | when the API has no waitlists); grant access is Tellescope's  |
|                                | `POST /v1/waitlists/grant-access`, plus the engine enrollment |
| Canvas / Zus / Zendesk         | fail: "... is not configured" (docs/decisions.md D11)         |

All writes go through `QuietTellescopeClient` (no webhook: no chaining, see `triggers.quiet`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from temporalio import activity
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.attempt_deadline import writes_within_attempt
from activities.enduser import update_enduser, write_journey_state
from activities.people import care_team, tags_match
from activities.run import ActionRun
from models.actions import AutomationAction
from models.automated_action import CancelReason
from models.runtime import (
    ActionRequest,
    EnrollmentInput,
    JourneyStateUpdate,
    RemoveRequest,
    enrollment_workflow_id,
)
from models.triggers import INTEGRATION_TRIGGER_ACTION_TYPES
from rules.dates import parse_iso
from store.tables import JourneyVersionRow
from tellescope.client import Record
from tellescope.errors import TellescopeRejected, cannot_perform, not_configured
from tellescope.idempotency import NOTIFICATION_KEY_TYPE, action_key, find_stamped, stamp
from triggers.active import current_rows, journey_ids, readable_journey_id
from triggers.dispatch import TriggerDeps, running_since
from triggers.models import (
    ScanReport,
    ScanRequest,
    ThrottleInput,
    TriggerActionOutcome,
    TriggerActionRequest,
    TriggerFiredMark,
    throttle_workflow_id,
    trigger_record_id,
)
from triggers.quiet import QuietTellescopeClient, stamp_outbound_chat
from workflows import starter

_STEP_ACTION = TypeAdapter(AutomationAction)
log = logging.getLogger("journeys.triggers.actions")

# Trigger action -> the journey step action that does the same to the enduser
# (docs/semantics.md §8.4).
ENDUSER_ACTIONS: dict[str, str] = {
    "Add Tags": "addEnduserTags",
    "Remove Tags": "removeEnduserTags",
    "Add Access Tags": "addAccessTags",
    "Set Fields": "setEnduserFields",
    "Assign Care Team": "assignCareTeam",
    "Remove Care Team": "removeCareTeam",
}
INTEGRATION_ACTIONS = INTEGRATION_TRIGGER_ACTION_TYPES  # compile warns about them too


def step_action(trigger_action: Any) -> Any:
    """The step action equivalent to an enduser-mutating trigger action."""
    step_type = ENDUSER_ACTIONS[trigger_action.type]
    info = trigger_action.info.model_dump(mode="json", exclude_none=True)
    return _STEP_ACTION.validate_python({"type": step_type, "info": info})


def _at(text: str) -> datetime:
    moment = parse_iso(text)
    if moment is None:
        raise cannot_perform(f"not an ISO instant: {text!r}")
    return moment


Handler = Callable[[TriggerActionRequest], Awaitable[TriggerActionOutcome]]


class TriggerActivities:
    def __init__(self, deps: TriggerDeps) -> None:
        self.deps = deps
        self.quiet = QuietTellescopeClient(deps.tellescope)
        self.handlers: dict[str, Handler] = {
            **dict.fromkeys(ENDUSER_ACTIONS, self._enduser_action),
            "Add To Journey": self._add_to_journey,
            "Remove From Journey": self._remove_from_journey,
            "Remove From All Journeys": self._remove_from_all_journeys,
            "Create User Notifications": self._create_user_notifications,
            "Reply to Chat": self._reply_to_chat,
            "Assign to Incoming Message": self._assign_to_incoming_message,
            "Require Form Followups": self._require_form_followups,
            "Add to Waitlist": self._add_to_waitlist,
            "Grant Access From Waitlist": self._grant_access_from_waitlist,
        }

    # --- activities -----------------------------------------------------------------------------

    @activity.defn(name="perform_trigger_action")
    async def perform_trigger_action(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        action_type = req.action.type
        if action_type in INTEGRATION_ACTIONS:
            raise not_configured(f'integration "{action_type}" is not configured')
        handler = self.handlers.get(action_type)
        if handler is None:
            raise cannot_perform(f'trigger action "{action_type}" is not performed by an activity')
        with writes_within_attempt():  # its retry must not overlap a write (docs/decisions.md D38)
            return await handler(req)

    @activity.defn(name="record_trigger_fired")
    async def record_trigger_fired(self, mark: TriggerFiredMark) -> bool:
        """Append the trigger's id to `enduser.triggerIds` (once; quietly). A Tellescope that
        refuses the write (the field may be server-managed there) is logged, not fatal: the
        action already happened, and `oncePerEnduser` is also held by the firing's id."""
        record_id = trigger_record_id(mark.triggerId)
        enduser = await self.quiet.get("endusers", mark.enduserId)
        if record_id in (enduser.get("triggerIds") or []):
            return False
        try:
            with writes_within_attempt():
                await self.quiet.update("endusers", mark.enduserId, {"triggerIds": [record_id]})
        except TellescopeRejected as error:
            log.warning("enduser.triggerIds not written for %s: %s", mark.triggerId, error)
            return False
        return True

    @activity.defn(name="take_throttle_gate")
    async def take_throttle_gate(self, inp: ThrottleInput) -> bool:
        """Start the firing's throttle gate; False when another firing holds it. A retry of this
        activity that finds the gate it started itself (same firing id) takes it."""
        gate_id = throttle_workflow_id(inp.triggerId, inp.enduserId)
        try:
            await self.deps.client.start_workflow(
                "ThrottleGateWorkflow",
                inp,
                id=gate_id,
                task_queue=self.deps.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                memo={"firingId": inp.firingId},
                static_summary=f"Throttle trigger {inp.triggerId} for enduser {inp.enduserId}",
            )
        except WorkflowAlreadyStartedError:
            description = await self.deps.client.get_workflow_handle(gate_id).describe()
            return await description.memo_value("firingId", default=None) == inp.firingId
        return True

    @activity.defn(name="scan_time_trigger")
    async def scan_time_trigger(self, req: ScanRequest) -> ScanReport:
        from triggers.time_based import scan

        return await scan(req, self.deps, heartbeat=activity.heartbeat)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.perform_trigger_action,
            self.record_trigger_fired,
            self.take_throttle_gate,
            self.scan_time_trigger,
        ]

    # --- enduser mutations ----------------------------------------------------------------------

    def _action_request(self, req: TriggerActionRequest, action: Any) -> ActionRequest:
        return ActionRequest(
            automatedActionId=req.automatedActionId,
            enduserId=req.enduserId,
            journeyId=req.scopeTellescopeJourneyId or "",
            automationStepId=trigger_record_id(req.triggerId),
            stepName=f"trigger {req.triggerId}",
            action=action,
            journeyContext=req.journeyContext,
            organizationTimezone=req.organizationTimezone,
            now=req.now,
        )

    async def _enduser_action(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        run = ActionRun(self.quiet, self._action_request(req, step_action(req.action)))
        outcome = await update_enduser(run)
        return TriggerActionOutcome(detail=outcome.detail, recordIds=outcome.recordIds)

    # --- journeys -------------------------------------------------------------------------------

    def _deployed(self, journey_ref: str) -> JourneyVersionRow:
        rows = current_rows(self.deps.plans)
        readable = readable_journey_id(journey_ref, journey_ids(rows))
        if readable is None:
            raise cannot_perform(f'journey "{journey_ref}" is not deployed')
        return next(r for r in rows if r.journey_id == readable)

    async def _running_since(self, journey_id: str, enduser_id: str) -> datetime | None:
        return await running_since(self.deps.client, enrollment_workflow_id(journey_id, enduser_id))

    async def _add_to_journey(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        info = req.action.info
        row = self._deployed(info.journeyId)
        since = await self._running_since(row.journey_id, req.enduserId)
        if since is not None and since >= _at(req.firingStartedAt):
            # (re)started after this firing began: by an earlier attempt of it (a retry must not
            # restart the journey a second time)
            return TriggerActionOutcome(detail=f"already added to journey {row.journey_id}")
        if info.doNotRestart:
            enduser = await self.quiet.get("endusers", req.enduserId)
            if since is not None or row.tellescope_journey_id in (enduser.get("journeys") or {}):
                return TriggerActionOutcome(
                    detail=f"already in journey {row.journey_id} (doNotRestart)"
                )
        inp = EnrollmentInput(
            journeyId=row.journey_id,
            planVersion=row.version,
            enduserId=req.enduserId,
            tellescopeJourneyId=row.tellescope_journey_id,
            journeyContext=req.journeyContext,
            source=f"trigger {req.triggerId}",
        )
        await starter.enroll(
            self.deps.client,
            inp,
            task_queue=self.deps.task_queue,
            restart=not info.doNotRestart,
            plan=self.deps.plans.enrollment_plan(row.journey_id, row.version),
        )
        verb = "restarted in" if since is not None else "added to"
        return TriggerActionOutcome(detail=f"{verb} journey {row.journey_id}@{row.version}")

    async def _remove(self, journey_id: str, tellescope_journey_id: str, enduser_id: str) -> bool:
        """Remove from one journey: signal the enrollment, or, when none runs, take the key out
        of `enduser.journeys` (membership without a running enrollment)."""
        request = RemoveRequest(cancelReason=int(CancelReason.REMOVED_BY_AUTOMATION))
        if await starter.remove(self.deps.client, journey_id, enduser_id, request):
            return True
        update = JourneyStateUpdate(
            enduserId=enduser_id, journeyId=tellescope_journey_id, state=None
        )
        await write_journey_state(self.quiet, update)
        return False

    async def _remove_from_journey(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        row = self._deployed(req.action.info.journeyId)
        running = await self._remove(row.journey_id, row.tellescope_journey_id, req.enduserId)
        state = "removed from" if running else "was not enrolled in"
        return TriggerActionOutcome(detail=f"{state} journey {row.journey_id}")

    async def _remove_from_all_journeys(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        ids = journey_ids(current_rows(self.deps.plans))
        for journey_id in self.deps.ledger.journeys_of(req.enduserId):
            ids.setdefault(journey_id, "")
        removed = []
        request = RemoveRequest(cancelReason=int(CancelReason.REMOVED_BY_AUTOMATION))
        for journey_id in sorted(ids):
            if await starter.remove(self.deps.client, journey_id, req.enduserId, request):
                removed.append(journey_id)
        enduser = await self.quiet.get("endusers", req.enduserId)
        if enduser.get("journeys"):
            # Every membership goes, including journeys with no running enrollment (the running
            # ones also remove their own key as they wind down).
            await self.quiet.update(
                "endusers", req.enduserId, {"journeys": {}}, replace_object_fields=True
            )
        return TriggerActionOutcome(detail=f"removed from {', '.join(removed) or 'no journeys'}")

    # --- people and messages --------------------------------------------------------------------

    async def _render(self, req: TriggerActionRequest, text: str) -> str:
        if "{{" not in text:
            return text
        context = req.journeyContext.model_dump(mode="json", exclude_none=True)
        rendered = await self.quiet.templated_message(
            message=text,
            user_id=await self.quiet.automation_user_id(),
            enduser_id=req.enduserId,
            journey_context=context or None,
        )
        return rendered.get("plaintext", text)

    async def _choose_users(
        self, enduser: Record, *, care_team_only: bool, tags: Any, max_users: int | None
    ) -> list[str]:
        if care_team_only:
            users = await self.quiet.get_many("users", care_team(enduser))
        else:
            users = await self.quiet.find_all("users", sort="oldFirst")
        chosen = [u["id"] for u in users if tags is None or tags_match(u.get("tags"), tags)]
        return chosen[:max_users] if max_users else chosen

    async def _create_user_notifications(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        info = req.action.info
        enduser = await self.quiet.get("endusers", req.enduserId)
        users = await self._choose_users(
            enduser,
            care_team_only=bool(info.careTeamOnly),
            tags=info.tags,
            max_users=info.maxUsers,
        )
        message = await self._render(req, info.message)
        since = _at(req.now) - timedelta(seconds=self.quiet.settings.lookup_skew_seconds)
        created: list[str] = []
        for user_id in users:
            key = action_key(req.automatedActionId, f"notify:{user_id}")
            existing = await self._find_notification(user_id, key, since)
            if existing is not None:
                created.append(existing["id"])
                continue
            notification = await self.quiet.create(
                "user_notifications",
                {
                    "userId": user_id,
                    "type": info.notificationType,
                    "message": message,
                    "relatedRecords": [
                        {"type": "enduser", "id": req.enduserId},
                        {"type": NOTIFICATION_KEY_TYPE, "id": key},
                    ],
                },
            )
            created.append(notification["id"])
        return TriggerActionOutcome(
            detail=f"{len(created)} user notification(s)", recordIds=created
        )

    async def _find_notification(self, user_id: str, key: str, since: datetime) -> Record | None:
        async for notification in self.quiet.iterate(
            "user_notifications", {"userId": user_id}, created_from=since
        ):
            for related in notification.get("relatedRecords") or []:
                if related.get("type") == NOTIFICATION_KEY_TYPE and related.get("id") == key:
                    return notification
        return None

    async def _chat_room_id(self, req: TriggerActionRequest) -> str | None:
        context = req.journeyContext
        if context.chatRoomId:
            return context.chatRoomId
        if context.chatId:
            chat = await self.quiet.get("chats", context.chatId)
            return chat.get("roomId")
        return None

    async def _reply_to_chat(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        room_id = await self._chat_room_id(req)
        if room_id is None:
            raise cannot_perform(
                "Reply to Chat needs the incoming chat (journeyContext.chatId or chatRoomId)"
            )
        key = action_key(req.automatedActionId, "reply")
        existing = await find_stamped(self.quiet, "chats", key, {"roomId": room_id})
        if existing is not None:
            return TriggerActionOutcome(
                detail=f"replied in room {room_id} (already)", recordIds=[existing["id"]]
            )
        body = {
            "roomId": room_id,
            "senderId": await self.quiet.automation_user_id(),
            "message": await self._render(req, req.action.info.message),
        }
        chat = await self.quiet.create("chats", stamp("chats", key, body))
        room = await self.quiet.get("chat_rooms", room_id)
        await stamp_outbound_chat(self.quiet, list(room.get("enduserIds") or []), chat)
        return TriggerActionOutcome(detail=f"replied in room {room_id}", recordIds=[chat["id"]])

    async def _assign_to_incoming_message(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        context = req.journeyContext
        if context.emailId:
            target = ("emails", context.emailId)
        elif context.smsId:
            target = ("sms_messages", context.smsId)
        else:
            room_id = await self._chat_room_id(req)
            if room_id is None:
                raise cannot_perform(
                    "Assign to Incoming Message needs the incoming message in the journey"
                    " context (emailId, smsId, chatId or chatRoomId)"
                )
            target = ("chat_rooms", room_id)
        info = req.action.info
        enduser = await self.quiet.get("endusers", req.enduserId)
        users = await self._choose_users(
            enduser,
            care_team_only=bool(info.careTeamOnly),
            tags=info.tags,
            max_users=info.maxUsers,
        )
        model, record_id = target
        record = await self.quiet.get(model, record_id)
        missing = [u for u in users if u not in (record.get("assignedTo") or [])]
        if missing:
            await self.quiet.update(model, record_id, {"assignedTo": missing})
        return TriggerActionOutcome(
            detail=f"{model} {record_id} assigned to {users or 'nobody'}", recordIds=[record_id]
        )

    # --- forms and waitlists --------------------------------------------------------------------

    async def _require_form_followups(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        response_id = req.journeyContext.formResponseId
        if not response_id:
            raise cannot_perform(
                "Require Form Followups needs the submitted form response"
                " (journeyContext.formResponseId)"
            )
        response = await self.quiet.get("form_responses", response_id)
        present = {f.get("formId") for f in response.get("followups") or []}
        missing = [f for f in dict.fromkeys(req.action.info.formIds) if f not in present]
        if missing:
            await self.quiet.update(
                "form_responses", response_id, {"followups": [{"formId": f} for f in missing]}
            )
        return TriggerActionOutcome(
            detail=f"form response {response_id} requires follow-ups {missing or '(already)'}",
            recordIds=[response_id],
        )

    async def _waitlist(self, waitlist_id: str) -> Record:
        try:
            return await self.quiet.get("waitlists", waitlist_id)
        except TellescopeRejected as error:
            raise cannot_perform(f"waitlist {waitlist_id}: {error.message}") from None

    async def _add_to_waitlist(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        waitlist_id = req.action.info.waitlistId
        waitlist = await self._waitlist(waitlist_id)
        if req.enduserId in (waitlist.get("enduserIds") or []):
            return TriggerActionOutcome(detail=f"already on waitlist {waitlist_id}")
        await self.quiet.update("waitlists", waitlist_id, {"enduserIds": [req.enduserId]})
        return TriggerActionOutcome(detail=f"added to waitlist {waitlist_id}")

    async def _grant_access_from_waitlist(self, req: TriggerActionRequest) -> TriggerActionOutcome:
        """The first `count` endusers leave the waitlist and join its journey, through
        Tellescope's grant access (`POST /v1/waitlists/grant-access {id, count}`), and the engine
        enrolls them in the journey it runs. The choice is heartbeated first, so a retry grants
        the same endusers rather than the next ones: Tellescope is asked only while they are
        still the head of the list (after that, those still listed are removed by an update)."""
        info = req.action.info
        waitlist = await self._waitlist(info.waitlistId)
        waiting = list(waitlist.get("enduserIds") or [])
        details = activity.info().heartbeat_details if activity.in_activity() else ()
        chosen = list(details[0]) if details else waiting[: info.count]
        if activity.in_activity():
            activity.heartbeat(chosen)
        journey = waitlist.get("journeyId")
        row = self._deployed(journey) if journey else None
        listed = [e for e in chosen if e in waiting]
        how = "already granted"
        if listed and waiting[: len(listed)] == listed:
            await self.quiet.request(
                "POST",
                "/v1/waitlists/grant-access",
                body={"id": info.waitlistId, "count": len(listed)},
            )
            how = "granted by Tellescope"
        elif listed:  # the list changed under a retry: remove exactly the chosen ones
            remaining = [e for e in waiting if e not in chosen]
            await self.quiet.update(
                "waitlists", info.waitlistId, {"enduserIds": remaining}, replace_object_fields=True
            )
            how = "removed from the list"
        for enduser_id in chosen:
            if row is None:
                break
            inp = EnrollmentInput(
                journeyId=row.journey_id,
                planVersion=row.version,
                enduserId=enduser_id,
                tellescopeJourneyId=row.tellescope_journey_id,
                journeyContext=req.journeyContext,
                source=f"waitlist {info.waitlistId} (trigger {req.triggerId})",
            )
            await starter.enroll(
                self.deps.client,
                inp,
                task_queue=self.deps.task_queue,
                restart=False,
                plan=self.deps.plans.enrollment_plan(row.journey_id, row.version),
            )
        target = f" into journey {row.journey_id}" if row else ""
        return TriggerActionOutcome(
            detail=f"granted {len(chosen)} enduser(s) from waitlist {info.waitlistId}{target}"
            f" ({how})",
            recordIds=chosen,
        )
