"""A recording stand-in for Tellescope: the same activity names and contracts as activities/,
no network. It keeps one enduser in memory, applies enduser updates to it, hands out form
response and ticket ids, and records every side effect with the workflow's (virtual) time.

Used by `journeys simulate` (what would this journey do?) and by the runtime rule tests, which
assert scheduling in virtual time; the real activities run against the sandbox in tests/e2e.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.enduser import related_contact_id
from models.runtime import (
    NOT_CONFIGURED,
    TELLESCOPE_REJECTED,
    ActionOutcome,
    ActionRequest,
    AnchorDateRequest,
    BackgroundErrorRequest,
    ConditionInputs,
    ConditionInputsRequest,
    EnduserRef,
    JourneyStateUpdate,
)
from rules.conditions import upcoming_event_view


@dataclass
class Effect:
    at: str  # workflow time of the action (ISO)
    step: str
    action: str
    detail: str
    automatedActionId: str
    formResponseIds: list[str] = field(default_factory=list)
    ticketId: str | None = None
    enduserId: str = ""  # whom the action acted on (a related contact after a switch)


@dataclass
class RecordingTellescope:
    enduser: dict[str, Any] = field(default_factory=lambda: {"id": "enduser-1", "fname": "Pat"})
    # step name -> error message: that step's action fails (to exercise onError branches)
    failing_steps: dict[str, str] = field(default_factory=dict)
    forms_per_step: dict[str, int] = field(default_factory=dict)  # step name -> forms sent
    # step name -> the form response ids its forms get (default: fr-<action id>-<n>)
    form_response_ids: dict[str, list[str]] = field(default_factory=dict)
    anchors: dict[str, str] = field(default_factory=dict)  # field/form/event -> ISO date
    configured: set[str] = field(default_factory=set)  # AI/telephony/integration types that work
    # the enduser's appointments (`{id, startTimeInMS, templateId, cancelledAt?}`)
    calendar_events: list[dict[str, Any]] = field(default_factory=list)
    # other endusers by id: related contacts (`enduser.relationships`) a branch can switch to
    related: dict[str, dict[str, Any]] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    background_errors: list[BackgroundErrorRequest] = field(default_factory=list)
    journey_states: list[tuple[str, str | None]] = field(default_factory=list)
    _done: dict[str, ActionOutcome] = field(default_factory=dict)

    def render(self, text: str) -> str:
        """Enduser merge fields (`{{enduser.fname}}`) filled from the simulated record; other
        merge fields are left as written (their records do not exist in a simulation)."""

        def value(match: re.Match) -> str:
            found = self.enduser.get(match.group(1))
            if found is None:
                found = (self.enduser.get("fields") or {}).get(match.group(1))
            return match.group(0) if found is None else str(found)

        return re.sub(r"\{\{\s*enduser\.([A-Za-z0-9_ ]+?)\s*\}\}", value, text)

    def subject(self, enduser_id: str) -> dict[str, Any]:
        """The enduser record an action acts on: the enrolled one or a related contact."""
        if enduser_id in self.related:
            return self.related[enduser_id]
        return self.enduser

    def activities(self) -> list:
        return [
            self.send_message,
            self.send_forms,
            self.manage_care,
            self.update_enduser,
            self.send_webhook,
            self.manage_records,
            self.run_unconfigured,
            self.get_enduser,
            self.get_condition_inputs,
            self.record_background_error,
            self.set_journey_state,
            self.resolve_anchor_date,
        ]

    def _record(self, request: ActionRequest, detail: str, **outcome: Any) -> ActionOutcome:
        # Idempotent like the real activities: a retry returns the first outcome.
        if request.automatedActionId in self._done:
            return self._done[request.automatedActionId].model_copy(update={"reused": True})
        failure = self.failing_steps.get(request.stepName)
        if failure is not None:
            raise ApplicationError(failure, type=TELLESCOPE_REJECTED, non_retryable=True)
        result = ActionOutcome(detail=detail, **outcome)
        self.effects.append(
            Effect(
                request.now,
                request.stepName,
                request.action.type,
                self.render(detail),
                request.automatedActionId,
                list(result.formResponseIds),
                result.ticketId,
                request.enduserId,
            )
        )
        self._done[request.automatedActionId] = result
        return result

    def _fail(self, request: ActionRequest, message: str) -> ActionOutcome:
        """The step fails as production's would (a non-retryable rejection)."""
        raise ApplicationError(message, type=TELLESCOPE_REJECTED, non_retryable=True)

    @activity.defn(name="send_message")
    async def send_message(self, request: ActionRequest) -> ActionOutcome:
        info = request.action.info
        template = getattr(info, "templateId", "")
        ids = self._form_ids(request, self.forms_per_step.get(request.stepName, 0))
        return self._record(
            request, f"{request.action.type} template {template}", formResponseIds=ids
        )

    @activity.defn(name="send_forms")
    async def send_forms(self, request: ActionRequest) -> ActionOutcome:
        info = request.action.info
        if request.action.type == "shareContent":
            return self._record(
                request, f"share {len(info.managedContentRecordIds)} content record(s)"
            )
        form_ids = [info.formId] if request.action.type == "sendForm" else list(info.formIds or [])
        ids = self._form_ids(request, len(form_ids))
        return self._record(
            request, f"{request.action.type} {', '.join(form_ids)}", formResponseIds=ids
        )

    def _form_ids(self, request: ActionRequest, count: int) -> list[str]:
        given = self.form_response_ids.get(request.stepName)
        if given is not None:
            return list(given)
        return [f"fr-{request.automatedActionId}-{i}" for i in range(count)]

    @activity.defn(name="manage_care")
    async def manage_care(self, request: ActionRequest) -> ActionOutcome:
        if request.action.type == "createTicket":
            ticket = f"ticket-{request.automationStepId[:6]}-{request.automatedActionId[-6:]}"
            return self._record(request, f"ticket: {request.action.info.title}", ticketId=ticket)
        return self._record(request, request.action.type)

    @activity.defn(name="update_enduser")
    async def update_enduser(self, request: ActionRequest) -> ActionOutcome:
        action, info = request.action, request.action.info
        enduser = self.subject(request.enduserId)
        if action.type == "switchToRelatedContact":
            types = [info.type, *(info.otherTypes or [])]
            related = related_contact_id(enduser, types)
            if related is None or related not in self.related:
                return self._fail(
                    request, f"enduser {request.enduserId} has no related contact of type {types}"
                )
            return self._record(
                request, f"switched to related contact {related}", switchedToEnduserId=related
            )
        if action.type == "setEnduserStatus":
            enduser.setdefault("journeys", {})[request.journeyId] = info.status
            return self._record(request, f"state {info.status}", journeyState=info.status)
        if action.type in ("addEnduserTags", "removeEnduserTags"):
            tags = list(enduser.get("tags", []))
            if action.type == "addEnduserTags":
                tags = (
                    list(info.tags)
                    if info.replaceExisting
                    else tags + [t for t in info.tags if t not in tags]
                )
            else:
                tags = [t for t in tags if t not in info.tags]
            enduser["tags"] = tags
            return self._record(request, f"tags {tags}")
        if action.type == "setEnduserFields":
            fields = enduser.setdefault("fields", {})
            for setter in info.fields:
                fields[setter.name] = setter.value
            return self._record(request, f"fields {[s.name for s in info.fields]}")
        return self._record(request, action.type)

    @activity.defn(name="send_webhook")
    async def send_webhook(self, request: ActionRequest) -> ActionOutcome:
        return self._record(request, f"webhook {request.action.info.message}")

    @activity.defn(name="manage_records")
    async def manage_records(self, request: ActionRequest) -> ActionOutcome:
        return self._record(request, request.action.type)

    @activity.defn(name="run_unconfigured")
    async def run_unconfigured(self, request: ActionRequest) -> ActionOutcome:
        if request.action.type in self.configured:
            return self._record(request, f"{request.action.type} (configured)")
        raise ApplicationError(
            f'integration "{request.action.type}" is not configured',
            type=NOT_CONFIGURED,
            non_retryable=True,
        )

    @activity.defn(name="get_enduser")
    async def get_enduser(self, ref: EnduserRef) -> dict:
        return copy.deepcopy(self.subject(ref.enduserId))

    @activity.defn(name="get_condition_inputs")
    async def get_condition_inputs(self, request: ConditionInputsRequest) -> ConditionInputs:
        upcoming: list[dict[str, Any]] = []
        if request.upcomingEvents:
            now_ms = datetime.fromisoformat(request.now).timestamp() * 1000
            views = (upcoming_event_view(e, now_ms) for e in self.calendar_events)
            upcoming = [v for v in views if v is not None]
        enduser = copy.deepcopy(self.subject(request.enduserId))
        return ConditionInputs(enduser=enduser, upcomingEvents=upcoming)

    @activity.defn(name="record_background_error")
    async def record_background_error(self, request: BackgroundErrorRequest) -> str:
        for index, known in enumerate(self.background_errors):
            if known.automatedActionId == request.automatedActionId:
                return f"background-error-{index}"
        self.background_errors.append(request)
        return f"background-error-{len(self.background_errors) - 1}"

    @activity.defn(name="set_journey_state")
    async def set_journey_state(self, update: JourneyStateUpdate) -> None:
        self.journey_states.append((update.journeyId, update.state))
        journeys = self.enduser.setdefault("journeys", {})
        if update.state is None:
            journeys.pop(update.journeyId, None)
        else:
            journeys[update.journeyId] = update.state

    @activity.defn(name="resolve_anchor_date")
    async def resolve_anchor_date(self, request: AnchorDateRequest) -> str | None:
        key = {"field": request.field, "form": request.formFieldId, "event": "event"}[request.kind]
        return self.anchors.get(key or "")
