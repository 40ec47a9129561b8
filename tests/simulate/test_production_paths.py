"""`journeys simulate` runs production's code paths: a script can make a step
fail, and a step production would fail is never shown as "ran"."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from compiler import compile_paths
from simulate.runner import SimulationError, simulate
from simulate.script import Script

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOURNEY = """
journey: {id: sim, title: Sim}
steps:
  - id: notify
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendWebhook, info: {message: hello}}
  - id: on-error
    events: [{type: onError, info: {automationStepId: notify}}]
    action: {type: addEnduserTags, info: {tags: [notify-failed]}}
  - id: confirm
    events: [{type: onJourneyStart, info: {}}]
    action: {type: confirmCurrentEvent, info: {}}
  - id: greet
    events: [{type: onJourneyStart, info: {}}]
    action:
      type: setEnduserFields
      info:
        fields:
          - {name: Greeting, type: Custom Value, value: "Hello {{enduser.fname}}"}
          - {name: Visits, type: Increment Number}
"""


SMS = """
journey: {id: sms, title: SMS}
steps:
  - id: text
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendSMS, info: {senderId: u1, templateId: t1}}
  - id: email
    events: [{type: onJourneyStart, info: {}}]
    action: {type: sendEmail, info: {senderId: u1, templateId: t1}}
"""


async def test_a_message_the_patient_cannot_receive_is_an_error(tmp_path):
    """docs/semantics.md §8.1: Tellescope rejects an SMS to an enduser without a phone, and an
    email to one who withdrew consent: the step errors in the simulation too."""
    (tmp_path / "sms.yaml").write_text(textwrap.dedent(SMS).lstrip())
    start = datetime.now(UTC) + timedelta(days=1)
    patient = {"fname": "Pat", "email": "pat@example.org", "emailConsent": False}
    result = await simulate(compile_paths([tmp_path]), "sms", patient, Script(), start=start)
    assert outcomes(result) == {"text": "error", "email": "error"}
    errors = {e.step: e.why for e in result.timeline}
    assert errors == {"text": "Missing phone", "email": "Missing email consent"}


def compiled(tmp_path):
    (tmp_path / "sim.yaml").write_text(textwrap.dedent(JOURNEY).lstrip())
    return compile_paths([tmp_path])


def outcomes(result) -> dict[str, str]:
    return {e.step: e.outcome for e in result.timeline if e.outcome != "event"}


async def test_a_script_makes_a_step_fail_and_production_failures_never_show_ran(tmp_path):
    start = datetime.now(UTC) + timedelta(days=1)
    script = Script.model_validate({"failing": {"notify": "receiver answered 503"}})
    result = await simulate(
        compiled(tmp_path), "sim", {"fname": "Pat", "fields": {"Visits": 2}}, script, start=start
    )
    found = outcomes(result)
    assert found["notify"] == "error"
    assert found["on-error"] == "ran"
    # production needs journeyContext.calendarEventId for confirmCurrentEvent: an error
    assert found["confirm"] == "error"
    greet = next(e for e in result.timeline if e.step == "greet")
    assert greet.outcome == "ran"
    assert "Greeting" in greet.detail and "Visits" in greet.detail


AI = """
journey: {id: ai, title: AI}
steps:
  - id: triage
    events: [{type: onJourneyStart, info: {}}]
    action: {type: aiDecision, info: {outcomes: [routine, urgent]}}
  - id: urgent
    events: [{type: onAIDecision, info: {automationStepId: triage, outcomes: [urgent]}}]
    action: {type: outboundCall, info: {treeId: tree-1}}
  - id: routine
    events: [{type: onAIDecision, info: {automationStepId: triage, outcomes: [routine]}}]
    action: {type: addEnduserTags, info: {tags: [routine]}}
  - id: voicemail
    events: [{type: onCallOutcome, info: {automationStepId: urgent, outcome: Voicemail}}]
    action: {type: addEnduserTags, info: {tags: [voicemail]}}
  - id: reached
    events: [{type: onCallOutcome, info: {automationStepId: urgent, outcome: Reached}}]
    action: {type: addEnduserTags, info: {tags: [reached]}}
"""


async def test_a_script_decides_ai_steps_and_ends_calls(tmp_path, monkeypatch):
    """docs/handlers.md §5: scripted decisions and call outcomes drive the AI and telephony
    branches, as a configured handler and a provider's outcome would."""
    monkeypatch.delenv("ACTION_HANDLERS", raising=False)
    (tmp_path / "ai.yaml").write_text(textwrap.dedent(AI).lstrip())
    start = datetime.now(UTC) + timedelta(days=1)
    script = Script.model_validate(
        {
            "decisions": {"triage": "urgent"},
            "events": [{"at": "+2h", "outcome": {"step": "urgent", "outcome": "Voicemail"}}],
        }
    )
    result = await simulate(compile_paths([tmp_path]), "ai", {"fname": "Pat"}, script, start=start)
    assert outcomes(result) == {"triage": "ran", "urgent": "ran", "voicemail": "ran"}
    [event] = [e for e in result.timeline if e.outcome == "event"]
    assert event.detail == "urgent ended: Voicemail"

    # no script for them and no handler: they fail as in production (not configured)
    bare = await simulate(compile_paths([tmp_path]), "ai", {"fname": "Pat"}, Script(), start=start)
    assert outcomes(bare) == {"triage": "error"}

    unknown = Script.model_validate({"decisions": {"nope": "x"}})
    with pytest.raises(SimulationError, match="decisions / outcome: no step nope in journey ai"):
        await simulate(compile_paths([tmp_path]), "ai", {"fname": "Pat"}, unknown, start=start)
