"""The shipped examples compile into the plans their YAML describes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler import compile_paths
from models.actions import CORE_ACTIONS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# Event types in the Dec 2024 docs (the seed); every one appears in some example.
SEED_EVENT_TYPES = {
    "onJourneyStart",
    "afterAction",
    "formResponse",
    "formResponses",
    "formUnsubmitted",
    "formsUnsubmitted",
    "ticketCompleted",
    "waitForTrigger",
}


@pytest.fixture(scope="module")
def result():
    return compile_paths([EXAMPLES])


def test_examples_use_every_seed_event_type_and_the_core_actions(result):
    events = {e.type for p in result.plans for s in p.steps.values() for e in s.events}
    assert SEED_EVENT_TYPES | {"onError"} <= events
    actions = {s.action.type for p in result.plans for s in p.steps.values()}
    core = {m.model_fields["type"].annotation.__args__[0] for m in CORE_ACTIONS}
    # Not exercised by an example: actions whose behaviour needs another record in context.
    not_in_examples = {
        "removeFromAllJourneys",
        "switchToRelatedContact",
        "Puppeteer: Start Agent",
        "cancelCurrentEvent",
        "confirmCurrentEvent",
    }
    assert core - not_in_examples <= actions, sorted(core - not_in_examples - actions)


def test_onboarding_plan_shape(result):
    plan = result.plan("onboarding")
    assert plan.roots == ["welcome-sms"]
    children = {
        event_type: [ref.stepId for ref in refs]
        for event_type, refs in plan.children["send-intake"].items()
    }
    assert children == {
        "afterAction": ["mark-intake-sent"],
        "formUnsubmitted": ["intake-reminder"],
        "formResponse": ["intake-complete"],
    }
    assert [r.stepId for r in plan.children_of("intake-complete", "afterAction")] == [
        "record-intake-date",
        "review-ticket",
    ]
    reminder = plan.steps["intake-reminder"].events[0]
    assert reminder.info.delayInMS == 2 * 86_400_000  # derived from delay: 2, unit: Days
    assert plan.event_of(plan.children_of("send-intake", "formUnsubmitted")[0]) == reminder
    assert plan.organization.timezone == "America/New_York"
    assert [t.id for t in plan.triggers] == ["signup-form-submitted"]


def test_ticket_branches_keep_their_close_reasons(result):
    plan = result.plan("post-visit")
    refs = plan.children_of("follow-up-call", "ticketCompleted")
    reasons = {ref.stepId: plan.event_of(ref).info.closedForReason for ref in refs}
    assert reasons == {
        "reached": "Reached",
        "no-answer-sms": "No answer",
        "declined": "Declined",
        "closed-without-reason": None,
    }


def test_version_is_a_content_hash(result, tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy)
    again = compile_paths([copy])
    # same content, other folder: same versions
    assert {p.journeyId: p.version for p in again.plans} == {
        p.journeyId: p.version for p in result.plans
    }
    # a change in one journey changes only that journey's version
    onboarding = copy / "onboarding.yaml"
    onboarding.write_text(
        onboarding.read_text().replace("delay: 2, unit: Days", "delay: 3, unit: Days")
    )
    changed = compile_paths([copy])
    assert changed.plan("onboarding").version != result.plan("onboarding").version
    assert changed.plan("post-visit").version == result.plan("post-visit").version
    # so does a change of office hours, which every plan carries
    org = copy / "organization.yaml"
    org.write_text(org.read_text().replace("endTimeInMinutes: 960", "endTimeInMinutes: 900"))
    assert compile_paths([copy]).plan("post-visit").version != result.plan("post-visit").version


def test_plan_survives_json_round_trip(result):
    """Plans travel to Temporal as JSON (pydantic data converter); nothing may be lost."""
    for plan in result.plans:
        again = type(plan).model_validate_json(plan.model_dump_json(exclude_unset=True))
        assert again == plan
