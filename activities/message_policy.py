"""The organisation's message policy, applied inside the send_message activity before anything
is sent (docs/message-policy.md).

Deciding here, rather than in a separate activity, keeps an enrollment's history as it was: a
message the policy lets through costs no extra event. A held or dropped message comes back as
the action's outcome (`heldUntil` / `skipped`), which the workflow turns into a durable wait or a
skipped ledger entry with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from activities.run import ActionRun
from models.message_policy import CHANNEL_OF_ACTION
from models.runtime import ActionOutcome, ActionRequest
from rules.dates import iso_ms, parse_iso
from rules.message_policy import PolicyDecision, decide
from rules.office_hours import zone_for_enduser
from store.message_log import MessageLog
from tellescope.errors import cannot_perform, not_configured

SKIP_REASON = "message policy"


async def apply_message_policy(run: ActionRun, log: MessageLog | None) -> ActionOutcome | None:
    """None: send the message (and it is counted). Otherwise the outcome that holds or drops it."""
    return await policy_outcome(run.request, log, run.enduser)


async def policy_outcome(
    request: ActionRequest,
    log: MessageLog | None,
    read_enduser: Callable[[], Awaitable[Mapping[str, Any]]],
) -> ActionOutcome | None:
    """The decision for one message, shared by the worker and `journeys simulate`'s stand-in
    (which reads its scripted enduser), so a simulation holds and drops what production would."""
    policy = request.messagePolicy
    channel = CHANNEL_OF_ACTION.get(request.action.type)
    if policy is None or channel is None:
        return None
    if log is None:
        raise not_configured("a message policy is configured but this worker has no message log")
    now = parse_iso(request.now)
    if now is None:
        raise cannot_perform(f"ActionRequest.now is not an ISO instant: {request.now!r}")
    zone = request.organizationTimezone
    if policy.quietHours is not None:  # quiet hours are the patient's: read their zone
        zone = zone_for_enduser(await read_enduser(), zone)

    def verdict(sends: Sequence[datetime]) -> PolicyDecision:
        return decide(now, policy, channel, zone, sends)

    decision = await asyncio.to_thread(
        log.decide_and_record,
        automated_action_id=request.automatedActionId,
        enduser_id=request.enduserId,
        channel=channel,
        journey_id=request.journeyId,
        now=now,
        decide=verdict,
    )
    if decision.sends:
        return None
    if decision.verdict == "hold" and decision.until is not None:
        return ActionOutcome(heldUntil=iso_ms(decision.until), detail=decision.reason)
    return ActionOutcome(skipped=SKIP_REASON, detail=decision.reason)
