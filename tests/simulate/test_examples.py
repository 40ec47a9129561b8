"""`journeys simulate` on every example with its event script: the printed timelines.

Each simulation runs the real JourneyWorkflow on its own time-skipping server with the recording
stand-in for Tellescope (see simulate/recorder.py); the timelines below are what the journeys
are meant to do, written out step by step."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from compiler import compile_paths

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def next_tuesday_ten() -> str:
    """The next Tuesday 10:00 (New York) with no closure of the example organisation in the
    following two weeks, so office-hours deferrals in the timelines are the weekly ones."""
    closures = compile_paths([EXAMPLES]).organization.outOfOfficeHours
    now = datetime.now(ZoneInfo("America/New_York"))
    start = (now + timedelta(days=(1 - now.weekday()) % 7 or 7)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    while any(c.from_ < start + timedelta(days=14) and c.to > start for c in closures):
        start += timedelta(days=7)
    return start.isoformat()


def simulate(journey: str, patient: str = "pat", *extra: str, script: bool = True) -> dict:
    command = [
        sys.executable,
        "-m",
        "cli",
        "simulate",
        str(EXAMPLES / f"{journey}.yaml"),
        "--enduser",
        str(EXAMPLES / "patients" / f"{patient}.json"),
        "--start",
        next_tuesday_ten(),
        "--format",
        "json",
        *extra,
    ]
    if script:
        command += ["--events", str(EXAMPLES / f"{journey}.simulation.yaml")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def steps(result: dict) -> list[tuple[str, str, str]]:
    return [(e["day"], e["step"], e["outcome"]) for e in result["timeline"]]


def moments(result: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """The timeline grouped by minute, in order; within a minute, sorted (siblings run in
    parallel, so their order inside one instant is not part of the journey's meaning)."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for day, step, outcome in steps(result):
        if not groups or groups[-1][0] != day:
            groups.append((day, []))
        groups[-1][1].append((step, outcome))
    return [(day, sorted(entries)) for day, entries in groups]


def test_onboarding_form_submitted_on_day_two():
    result = simulate("onboarding")
    assert moments(result) == [
        ("day 0 10:00", [("welcome-sms", "ran")]),
        ("day 0 11:00", [("mark-intake-sent", "ran"), ("send-intake", "ran")]),
        ("day 2 11:00", [("intake-reminder", "ran")]),
        (
            "day 2 14:00",
            [
                ("escalate-unresponsive", "cancelled"),
                ("event", "event"),
                ("intake-complete", "ran"),
                ("record-intake-date", "ran"),
                ("review-ticket", "ran"),
            ],
        ),
    ]
    cancelled = next(e for e in result["timeline"] if e["outcome"] == "cancelled")
    # due Sunday, it was deferred to Monday's opening when its timer was set (D26), then
    # cancelled by the submission
    deferred, reason = cancelled["why"].split("; ")
    assert reason == "Form Submission: form from send-intake submitted"
    opening = datetime.fromisoformat(
        re.fullmatch(r"deferred to office hours \((.+)\)", deferred)[1]
    )
    local = opening.astimezone(ZoneInfo("America/New_York"))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)  # Monday 09:00
    review = next(e for e in result["timeline"] if e["step"] == "review-ticket")
    assert review["detail"] == "ticket: Review intake for Pat Lee"
    assert (result["outcome"], result["state"]) == ("completed", "Intake complete")


def test_onboarding_without_a_script_escalates_on_monday_morning():
    """Tuesday 10:00 start: reminder Thursday 11:00; escalation due Sunday 11:00 waits for
    office hours, Monday 09:00."""
    result = simulate("onboarding", script=False)
    assert moments(result) == [
        ("day 0 10:00", [("welcome-sms", "ran")]),
        ("day 0 11:00", [("mark-intake-sent", "ran"), ("send-intake", "ran")]),
        ("day 2 11:00", [("intake-reminder", "ran")]),
        ("day 6 09:00", [("escalate-unresponsive", "ran"), ("mark-unresponsive", "ran")]),
    ]
    escalation = next(e for e in result["timeline"] if e["step"] == "escalate-unresponsive")
    assert escalation["why"].startswith("deferred to office hours (")
    assert (result["outcome"], result["state"]) == ("waiting", "Unresponsive")


def test_post_visit_no_answer_books_a_second_call():
    result = simulate("post-visit")
    assert moments(result) == [
        ("day 0 10:00", [("thank-you-email", "ran")]),
        ("day 1 10:00", [("follow-up-call", "ran")]),
        ("day 1 15:30", [("event", "event"), ("no-answer-sms", "ran")]),
        ("day 3 15:30", [("second-call", "ran")]),
    ]
    assert result["timeline"][2]["detail"] == 'ticket from follow-up-call closed: "No answer"'
    assert result["outcome"] == "completed"


def test_lab_results_runs_on_its_own_schedule():
    result = simulate("lab-results")
    timeline = steps(result)
    assert moments(result)[0] == (
        "day 0 10:00",
        [("notify-lab-system", "ran"), ("results-email", "ran"), ("results-shared", "ran")],
    )
    later = {step: day for day, step, _ in timeline[3:]}
    assert later["days-since-results"] == "day 7 10:00"
    assert later["monthly-check-in"].endswith(" 10:00")  # the 1st of next month, 10:00
    (monthly,) = [e for e in result["timeline"] if e["step"] == "monthly-check-in"]
    assert datetime.fromisoformat(monthly["at"]).astimezone(ZoneInfo("America/New_York")).day == 1
    assert result["state"] == "Results shared"


def test_re_engagement_vip_gets_one_variant_a_call_then_leaves_on_reply():
    result = simulate("re-engagement", "vip-senior")
    timeline = steps(result)
    assert moments(result)[:2] == [
        ("day 0 10:00", [("push-check-in-forms", "ran"), ("tag-campaign", "ran")]),
        ("day 1 09:30", [("event", "event")]),
    ]
    (nudge,) = [e for e in result["timeline"] if e["step"].startswith("nudge-")]
    assert nudge["day"] == "day 3 10:00" and nudge["why"] in (
        "A/B variant sms",
        "A/B variant email",
    )
    call = next(e for e in result["timeline"] if e["step"] == "vip-call")
    # due day 5 (Sunday) 10:00: deferred to Monday 09:00
    assert (call["day"], call["outcome"]) == ("day 6 09:00", "ran")
    assert call["detail"] == "ticket: Personal call to Ruth (VIP, check-in forms open)"
    assert timeline[-1] == ("day 8 12:00", "event", "event")
    assert result["outcome"] == "removed"


def test_re_engagement_skips_the_call_for_a_patient_who_is_not_a_vip():
    result = simulate("re-engagement", "pat")
    call = next(e for e in result["timeline"] if e["step"] == "vip-call")
    # due Sunday, deferred to Monday 09:00, then the conditions are read and do not hold
    assert (call["day"], call["outcome"]) == ("day 6 09:00", "skipped")
    assert call["why"].startswith("deferred to office hours (")
    assert call["why"].endswith("; enduser conditions not met")


def test_care_plan_waits_for_the_lab_trigger():
    result = simulate("care-plan")
    assert moments(result) == [
        ("day 0 10:00", [("waiting-for-labs", "ran")]),
        (
            "day 3 09:00",
            [
                ("care-plan-active", "ran"),
                ("event", "event"),
                ("open-care-plan", "ran"),
                ("review-labs", "ran"),
            ],
        ),
        (
            "day 4 16:00",
            [("care-plan-complete", "ran"), ("complete-care-plan", "ran"), ("event", "event")],
        ),
    ]
    assert result["timeline"][1]["detail"] == "trigger labs-received fires"  # the event leads
    assert result["state"] == "Care plan complete"


def test_no_show_declined_cleans_up_and_hands_over_a_month_later():
    result = simulate("no-show-recovery")
    by_step = {step: (day, outcome) for day, step, outcome in steps(result)}
    assert by_step["rebook-call"] == ("day 0 14:00", "ran")  # 4 hours after, in office hours
    for step in (
        "declined",
        "cancel-future-visits",
        "leave-post-visit",
        "close-open-tickets",
        "mark-inactive",
        "revoke-scheduling-access",
        "release-nurse",
    ):
        assert by_step[step] == ("day 1 09:15", "ran"), step
    assert by_step["re-engage-later"] == ("day 31 09:15", "ran")
    assert "rebooked" not in by_step and "share-visit-prep" not in by_step
    assert result["state"] == "Declined"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2001-01-01T10:00:00-05:00"], "is in the past"),
        (["--start", "next tuesday"], "is not an ISO date-time"),
        (["--format", "yaml"], "expected text or json"),
    ],
)
def test_bad_arguments_say_what_is_wrong(args, message):
    command = [
        sys.executable,
        "-m",
        "cli",
        "simulate",
        str(EXAMPLES / "onboarding.yaml"),
        "--enduser",
        str(EXAMPLES / "patients" / "pat.json"),
        *args,
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and message in done.stderr
