"""The Temporal activities: one per action family (`models.runtime.ACTION_FAMILIES`), the
catch-all for unconfigured actions, and the reads/writes the workflow needs.

Activities are thin on purpose: each builds an `ActionRun` and hands it to the module of its
family; everything they share (the one httpx pool, settings) lives in `TellescopeClient`. Register
them on a worker with `TellescopeActivities(client).all()`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import activity

from activities.action_handlers import ActionHandlers, run_handler
from activities.attempt_deadline import writes_within_attempt
from activities.background_errors import record_background_error
from activities.care import manage_care
from activities.enduser import update_enduser, write_journey_state
from activities.forms import send_forms
from activities.lookups import condition_inputs, resolve_anchor_date
from activities.message_policy import apply_message_policy
from activities.messaging import send_message
from activities.records import manage_records
from activities.run import ActionRun
from activities.unconfigured import unconfigured_error
from activities.webhooks import send_webhook
from models.runtime import (
    UNCONFIGURED_FAMILY,
    ActionOutcome,
    ActionRequest,
    AnchorDateRequest,
    BackgroundErrorRequest,
    ConditionInputs,
    ConditionInputsRequest,
    EnduserRef,
    JourneyStateUpdate,
)
from store.message_log import MessageLog
from tellescope.client import Record, TellescopeClient

Handler = Callable[[ActionRun], Awaitable[ActionOutcome]]


class TellescopeActivities:
    def __init__(
        self,
        client: TellescopeClient,
        *,
        message_log: MessageLog | None = None,
        handlers: ActionHandlers | None = None,
    ) -> None:
        self.client = client
        self.message_log = message_log  # the message policy's counts (docs/message-policy.md)
        # AI and telephony handlers (docs/handlers.md): loaded by the worker from ACTION_HANDLERS
        # and the entry points; none means every such action is "not configured".
        self.handlers = handlers or ActionHandlers()

    async def _perform(self, request: ActionRequest, handler: Handler) -> ActionOutcome:
        with writes_within_attempt():
            return await handler(ActionRun(self.client, request))

    @activity.defn(name="send_message")
    async def send_message(self, request: ActionRequest) -> ActionOutcome:
        """sendEmail, sendSMS, sendChat, notifyTeam; the message policy decides first."""
        run = ActionRun(self.client, request)
        limited = await apply_message_policy(run, self.message_log)
        if limited is not None:
            return limited
        with writes_within_attempt():
            return await send_message(run)

    @activity.defn(name="send_forms")
    async def send_forms(self, request: ActionRequest) -> ActionOutcome:
        """sendForm, pushFormsToPortal, shareContent."""
        return await self._perform(request, send_forms)

    @activity.defn(name="manage_care")
    async def manage_care(self, request: ActionRequest) -> ActionOutcome:
        """createTicket, completeTickets, createCarePlan, completeCarePlan."""
        return await self._perform(request, manage_care)

    @activity.defn(name="update_enduser")
    async def update_enduser(self, request: ActionRequest) -> ActionOutcome:
        """Status, fields, tags, access tags, contact type, care team."""
        return await self._perform(request, update_enduser)

    @activity.defn(name="send_webhook")
    async def send_webhook(self, request: ActionRequest) -> ActionOutcome:
        """sendWebhook and branded webhooks."""
        return await self._perform(request, send_webhook)

    @activity.defn(name="manage_records")
    async def manage_records(self, request: ActionRequest) -> ActionOutcome:
        """Appointments (cancel future / current, confirm current) and notes."""
        return await self._perform(request, manage_records)

    @activity.defn(name=UNCONFIGURED_FAMILY)
    async def run_unconfigured(self, request: ActionRequest) -> ActionOutcome:
        """AI and telephony actions through their configured handler (docs/handlers.md); with
        none, and for integrations, a non-retryable NotConfigured error (docs/decisions.md D12)."""
        handler = self.handlers.get(request.action.type)
        if handler is None:
            raise unconfigured_error(request.action.type)
        return await run_handler(handler, request, activity.info().attempt)

    @activity.defn(name="get_enduser")
    async def get_enduser(self, ref: EnduserRef) -> dict[str, Any]:
        """The enduser as Tellescope returns it (for enduserConditions, docs/decisions.md D2)."""
        return await self.client.get("endusers", ref.enduserId)

    @activity.defn(name="get_condition_inputs")
    async def get_condition_inputs(self, request: ConditionInputsRequest) -> ConditionInputs:
        """The enduser and, when asked, their upcoming appointments (step conditions)."""
        return await condition_inputs(self.client, request)

    @activity.defn(name="record_background_error")
    async def record_background_error(self, request: BackgroundErrorRequest) -> str:
        """A failed step's BackgroundError in Tellescope (one per failed action)."""
        with writes_within_attempt():
            return await record_background_error(self.client, request)

    @activity.defn(name="set_journey_state")
    async def set_journey_state(self, update: JourneyStateUpdate) -> None:
        """Set (or, with state None, remove) `enduser.journeys[journeyId]`."""
        await self.write_membership(update)

    async def write_membership(self, update: JourneyStateUpdate) -> Record:
        """`set_journey_state`'s write, answering the enduser as Tellescope returned it: the
        worker's `JoinFirst` hands it to the action that follows (activities/join_first.py). Not
        an activity, so the record never lands in a history."""
        with writes_within_attempt():
            return await write_journey_state(self.client, update)

    @activity.defn(name="resolve_anchor_date")
    async def resolve_anchor_date(self, request: AnchorDateRequest) -> str | None:
        """The ISO instant a date-relative delay counts from, or None."""
        return await resolve_anchor_date(self.client, request)

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for `Worker(activities=...)`."""
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
