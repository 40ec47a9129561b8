"""The organisation's message policy across journeys (docs/message-policy.md), in virtual time on
the time-skipping server: quiet hours hold a message until they end, a frequency cap drops the
message of a second journey, an exempt step is not held. The counts live in the store
(SQLite here; both databases in tests/store/test_message_log.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models.runtime import RemoveRequest
from tests.workflows.conftest import ORGANIZATION, advance_to, close, next_weekday_at
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

POLICY_ORGANIZATION = (
    ORGANIZATION
    + """
  messagePolicy:
    quietHours: {start: "21:00", end: "08:00"}
    caps:
      - {channel: sms, max: 1, per: day}
"""
)
SMS = "{type: sendSMS, info: {senderId: 64f000000000000000000a01, templateId: 64f0000000000000000b01a}}"


def journey(journey_id: str, *, exempt: bool = False) -> str:
    return f"""
journey: {{id: {journey_id}, title: {journey_id}}}
steps:
  - id: {journey_id}-sms
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {SMS}
    {"exemptFromMessagePolicy: true" if exempt else ""}
  - id: {journey_id}-after
    events: [{{type: afterAction, info: {{automationStepId: {journey_id}-sms, delay: 0, unit: Minutes}}}}]
    action: {{type: addEnduserTags, info: {{tags: [{journey_id}-after]}}}}
"""


def deploy(runtime, tmp_path, *journeys: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "organization.yaml").write_text(POLICY_ORGANIZATION.lstrip())
    for index, text in enumerate(journeys):
        (tmp_path / f"j{index}.yaml").write_text(text.lstrip())
    return runtime.deploy(tmp_path)


def sent(runtime, step: str):
    return [e for e in runtime.tellescope.effects if e.step == step and "held" not in e.detail]


async def test_quiet_hours_hold_a_message_until_they_end(runtime, tmp_path):
    deploy(runtime, tmp_path, journey("evening"))
    tuesday_night = next_weekday_at(await runtime.env.get_current_time(), 1, 22)
    await advance_to(runtime.env, tuesday_night)
    async with runtime.worker():
        handle = await runtime.enroll("evening")
        # Held, not sent: the ledger says until when, and why.
        await runtime.env.sleep(timedelta(minutes=5))
        (row,) = runtime.ledger_rows("evening-sms")
        assert row.status == "active"
        wednesday_eight = (tuesday_night + timedelta(days=1)).replace(hour=8)
        assert row.process_after == int(wednesday_eight.timestamp() * 1000)
        assert "quiet hours 21:00-08:00" in row.detail
        assert sent(runtime, "evening-sms") == []
        await handle.result()
    (message,) = sent(runtime, "evening-sms")
    assert close(datetime.fromisoformat(message.at), wednesday_eight)
    (row,) = runtime.ledger_rows("evening-sms")
    assert (row.status, row.skipped) == ("finished", None)
    assert runtime.ran_at("evening-after")  # the journey went on


async def test_a_cap_counts_across_journeys_and_drops_the_second_message(runtime, tmp_path):
    deploy(runtime, tmp_path, journey("first"), journey("second"))
    noon = next_weekday_at(await runtime.env.get_current_time(), 2, 12)
    await advance_to(runtime.env, noon)
    async with runtime.worker():
        # Both enrolled before either result is awaited: awaiting lets the server skip time.
        first, second = await runtime.enroll("first"), await runtime.enroll("second")
        await first.result()
        await second.result()
    # Both journeys send at the same instant: whichever decides first sends, the other is
    # dropped (which one is up to the worker's scheduling).
    rows = {j: runtime.ledger_rows(f"{j}-sms")[0] for j in ("first", "second")}
    outcomes = sorted((row.skipped or "sent", j) for j, row in rows.items())
    (policy, dropped_journey), (sent_word, sent_journey) = outcomes
    assert (policy, sent_word) == ("message policy", "sent")
    assert rows[dropped_journey].status == rows[sent_journey].status == "finished"
    assert rows[dropped_journey].detail == "dropped: 1 sms per day reached"
    # The timeline shows one message and one drop.
    assert [e.detail for e in sent(runtime, f"{dropped_journey}-sms")] == [
        "dropped: 1 sms per day reached"
    ]
    (message,) = sent(runtime, f"{sent_journey}-sms")
    assert message.detail.startswith("sendSMS template")
    # A dropped message does not stop its journey.
    assert runtime.ran_at(f"{dropped_journey}-after")


async def test_an_exempt_step_is_not_held(runtime, tmp_path):
    deploy(runtime, tmp_path, journey("urgent", exempt=True))
    night = next_weekday_at(await runtime.env.get_current_time(), 3, 23)
    await advance_to(runtime.env, night)
    async with runtime.worker():
        await (await runtime.enroll("urgent")).result()
    (message,) = sent(runtime, "urgent-sms")
    assert close(datetime.fromisoformat(message.at), night)


async def test_a_held_message_is_cancelled_by_removal(runtime, tmp_path):
    deploy(runtime, tmp_path, journey("removed"))
    night = next_weekday_at(await runtime.env.get_current_time(), 4, 22)
    await advance_to(runtime.env, night)
    async with runtime.worker():
        handle = await runtime.enroll("removed")
        await runtime.env.sleep(timedelta(minutes=5))
        await handle.signal(JourneyWorkflow.remove, RemoveRequest())
        await handle.result()
    assert sent(runtime, "removed-sms") == []
    (row,) = runtime.ledger_rows("removed-sms")
    assert row.status == "cancelled"
