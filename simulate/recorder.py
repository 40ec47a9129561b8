"""A recording stand-in for Tellescope: the same activity names and contracts as activities/,
no network. It keeps one enduser in memory, applies enduser updates to it, hands out form
response and ticket ids, and records every side effect with the workflow's (virtual) time.

Used by `journeys simulate` (what would this journey do?) and by the runtime rule tests, which
assert scheduling in virtual time; the real activities run against the sandbox in tests/e2e.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.enduser import update_enduser as production_update_enduser
from activities.message_policy import policy_outcome
from activities.run import ActionRun
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
from sandbox.merge_fields import MergeContext
from sandbox.merge_fields import render as render_merge_fields
from simulate.memory_tellescope import MemoryTellescope
from store.message_log import MessageLog


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
    message: str = ""  # the rendered text of a templated message, when its template is known


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
    # step name -> what that aiDecision step decides (default: its first outcome)
    decisions: dict[str, str] = field(default_factory=dict)
    # the enduser's appointments (`{id, startTimeInMS, templateId, cancelledAt?}`)
    calendar_events: list[dict[str, Any]] = field(default_factory=list)
    # Tellescope's sending rules (docs/semantics.md §8.1: "Email and email consent must be set
    # for enduser", likewise phone): a message the enduser cannot receive fails the step, as in
    # production. On for simulations of a real patient record; off for the scheduling tests,
    # whose enduser has no addresses.
    enforce_sending_rules: bool = False
    # other endusers by id: related contacts (`enduser.relationships`) a branch can switch to
    related: dict[str, dict[str, Any]] = field(default_factory=dict)
    # template id -> text (subject and body): a message's text is rendered with merge fields so
    # journey tests can check what the patient reads (`journeys test`, docs/journey-tests.md)
    templates: dict[str, str] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    background_errors: list[BackgroundErrorRequest] = field(default_factory=list)
    journey_states: list[tuple[str, str | None]] = field(default_factory=list)
    # the message policy's counts (docs/message-policy.md); the simulation's own store
    message_log: MessageLog | None = None
    _done: dict[str, ActionOutcome] = field(default_factory=dict)

    def render(self, text: str, enduser_id: str | None = None) -> str:
        """Merge fields rendered as the sandbox renders Tellescope's (`{{enduser.fname}}` from
        the simulated record); fields of records a simulation lacks stay as written."""
        enduser = self.subject(enduser_id) if enduser_id else self.enduser
        return render_merge_fields(text, MergeContext(enduser=enduser))

    def subject(self, enduser_id: str) -> dict[str, Any]:
        """The enduser record an action acts on: the enrolled one or a related contact."""
        if enduser_id in self.related:
            return self.related[enduser_id]
        return self.enduser

    async def _read_enduser(self) -> dict[str, Any]:
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

    def _record(
        self, request: ActionRequest, detail: str, *, message: str = "", **outcome: Any
    ) -> ActionOutcome:
        # Idempotent like the real activities: a retry returns the first outcome.
        if request.automatedActionId in self._done:
            return self._done[request.automatedActionId].model_copy(update={"reused": True})
        failure = self.failing_steps.get(request.stepName)
        if failure is not None:
            return self._fail(request, failure)
        result = ActionOutcome(detail=detail, **outcome)
        self.effects.append(
            Effect(
                request.now,
                request.stepName,
                request.action.type,
                self.render(detail, request.enduserId),
                request.automatedActionId,
                list(result.formResponseIds),
                result.ticketId,
                request.enduserId,
                self.render(message, request.enduserId),
            )
        )
        self._done[request.automatedActionId] = result
        return result

    def _fail(
        self, request: ActionRequest, message: str, *, not_configured: bool = False
    ) -> ActionOutcome:
        """The step fails as production's would (a non-retryable error)."""
        kind = NOT_CONFIGURED if not_configured else TELLESCOPE_REJECTED
        raise ApplicationError(message, type=kind, non_retryable=True)

    @activity.defn(name="send_message")
    async def send_message(self, request: ActionRequest) -> ActionOutcome:
        limited = await policy_outcome(request, self.message_log, self._read_enduser)
        if limited is not None:  # held or dropped, as the worker would (docs/message-policy.md)
            self.effects.append(
                Effect(
                    request.now,
                    request.stepName,
                    request.action.type,
                    limited.detail,
                    request.automatedActionId,
                    [],
                    None,
                    request.enduserId,
                )
            )
            return limited  # not kept: a held message is decided again when it is due
        info = request.action.info
        kind = request.action.type
        channel = {"sendEmail": "Email", "sendSMS": "SMS"}.get(kind)
        if channel is not None:
            self._check_sending_rules(request, channel)
        template = getattr(info, "templateId", "")
        ids = self._form_ids(request, self.forms_per_step.get(request.stepName, 0))
        return self._record(
            request,
            f"{request.action.type} template {template}",
            message=self.templates.get(template, ""),
            formResponseIds=ids,
        )

    @activity.defn(name="send_forms")
    async def send_forms(self, request: ActionRequest) -> ActionOutcome:
        info = request.action.info
        if request.action.type == "shareContent":
            return self._record(
                request, f"share {len(info.managedContentRecordIds)} content record(s)"
            )
        if request.action.type == "sendForm":
            self._check_sending_rules(request, info.channel or "Email")
        form_ids = [info.formId] if request.action.type == "sendForm" else list(info.formIds or [])
        ids = self._form_ids(request, len(form_ids))
        return self._record(
            request, f"{request.action.type} {', '.join(form_ids)}", formResponseIds=ids
        )

    def _check_sending_rules(self, request: ActionRequest, channel: str) -> None:
        """Fail the step as Tellescope rejects a message the enduser cannot receive."""
        if not self.enforce_sending_rules or request.automatedActionId in self._done:
            return
        enduser = self.subject(request.enduserId)
        info = request.action.info
        if channel == "Email":
            if not enduser.get("email"):
                self._fail(request, "Missing email")
            if enduser.get("emailConsent") is False:
                self._fail(request, "Missing email consent")
        elif channel == "SMS":
            if not enduser.get("phone") and not getattr(info, "phoneNumberOverride", None):
                self._fail(request, "Missing phone")
            if enduser.get("phoneConsent") is False:
                self._fail(request, "Missing phone consent")

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
        """Production's handlers (activities/enduser.py: field setters, tag rules, journey
        states, contact switches) on the in-memory records, so a simulation writes what
        production would. Care-team actions need the organisation's users, which a simulation
        does not have: they are recorded without effect."""
        if request.action.type in ("assignCareTeam", "removeCareTeam"):
            return self._record(request, request.action.type)
        return await self._production(request, production_update_enduser)

    async def _production(
        self, request: ActionRequest, handler: Callable[[ActionRun], Awaitable[ActionOutcome]]
    ) -> ActionOutcome:
        if request.automatedActionId in self._done:
            return self._done[request.automatedActionId].model_copy(update={"reused": True})
        failure = self.failing_steps.get(request.stepName)
        if failure is not None:
            return self._fail(request, failure)
        # The recorder keeps one enduser: any id not a related contact's is that enduser.
        endusers = {self.enduser["id"]: self.enduser, **self.related}
        endusers.setdefault(request.enduserId, self.subject(request.enduserId))
        client = MemoryTellescope(endusers)
        outcome = await handler(ActionRun(client, request))  # type: ignore[arg-type]
        return self._record(request, outcome.detail, **outcome.model_dump(exclude={"detail"}))

    @activity.defn(name="send_webhook")
    async def send_webhook(self, request: ActionRequest) -> ActionOutcome:
        return self._record(request, f"webhook {request.action.info.message}")

    @activity.defn(name="manage_records")
    async def manage_records(self, request: ActionRequest) -> ActionOutcome:
        kind = request.action.type
        if kind in ("cancelCurrentEvent", "confirmCurrentEvent"):
            if not request.journeyContext.calendarEventId:
                # production's check (activities/records.py): the step errors, never "ran"
                return self._fail(
                    request,
                    f"{kind} needs journeyContext.calendarEventId (the appointment that "
                    "started this journey), and this enrollment has none",
                )
        if kind == "createNote":
            info = request.action.info
            if info.aiSummaryConfiguration and not info.text:
                return self._fail(
                    request,
                    "createNote with an AI summary is not configured: AI actions are not "
                    "performed (docs/decisions.md D12); give the note a text instead",
                    not_configured=True,
                )
        return self._record(request, kind)

    @activity.defn(name="run_unconfigured")
    async def run_unconfigured(self, request: ActionRequest) -> ActionOutcome:
        if request.action.type in self.configured:
            if request.action.type == "aiDecision":  # as a handler's decided(outcome)
                info = request.action.info
                outcomes = getattr(info, "outcomes", None) or [""]
                decision = self.decisions.get(request.stepName, outcomes[0])
                return self._record(request, f"aiDecision decided {decision}", outcome=decision)
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
