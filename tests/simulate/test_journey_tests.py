"""`journeys test`: the examples' journey tests pass in CI (JUnit XML), a wrong expectation fails
with exit 1 naming its file:line, and a malformed test file is refused before anything runs
(docs/journey-tests.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from compiler import CompileFailed, compile_paths
from models.organization import Organization
from simulate.testfile import load_tests, resolve_start

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def journeys_test(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "test", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def journeys(tmp_path: Path) -> Path:
    """A copy of the examples' journeys, organisation and patients, without their tests."""
    folder = tmp_path / "journeys"
    folder.mkdir()
    for name in ("organization.yaml", "onboarding.yaml", "post-visit.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    shutil.copytree(EXAMPLES / "patients", folder / "patients")
    (folder / "tests").mkdir()
    return folder


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_the_examples_tests_pass_and_write_junit(tmp_path: Path):
    report = tmp_path / "reports" / "journeys.xml"
    done = journeys_test("examples/", "--format", "junit", "--output", str(report))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("failures"), root.get("errors")) == ("0", "0")
    cases = root.findall("testsuite/testcase")
    assert int(root.get("tests", "0")) == len(cases) >= 6
    # every example journey has at least one test
    journeys = {p.journeyId for p in compile_paths([EXAMPLES]).plans}
    assert {c.get("classname") for c in cases} == journeys
    suites = {s.get("name") for s in root.findall("testsuite")}
    assert "examples/tests/lab-results.test.yaml" in suites
    for case in cases:
        assert case.get("file", "").startswith("examples/tests/")
        assert int(case.get("line", "0")) > 0
        assert case.find("failure") is None and case.find("error") is None
        assert "Journey " in (case.findtext("system-out") or "")  # the timeline
    summary = done.stderr.strip().splitlines()[-1] if not done.stdout else done.stdout
    assert f"{len(cases)} tests: {len(cases)} passed, 0 failed, 0 errors" in summary


def test_a_wrong_expectation_fails_with_its_file_and_line(journeys: Path, tmp_path: Path):
    test_file = write(
        journeys / "tests" / "onboarding.test.yaml",
        """
        tests:
          - name: intake form timing
            journey: onboarding
            patient: {from: ../patients/pat.json}
            start: next Tuesday 10:00
            until: day 3
            expect:
              - {step: welcome-sms, runs_at: day 0 10:00}
              - {step: send-intake, runs_at: day 0 10:30}
              - {step: welcome-sms, message_contains: Goodbye}
              - {end: completed}
        """,
    )
    report = tmp_path / "junit.xml"
    done = journeys_test(str(journeys), "--output", str(report))
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert f"FAIL  {test_file}:2 intake form timing (onboarding," in out
    assert f"{test_file}:9: send-intake runs at day 0 10:30: FAILED" in out
    assert "expected: ran at Tue " in out and "America/New_York (day 0 10:30)" in out
    assert "actual:   ran at Tue " in out and "(day 0 11:00)" in out
    assert f'{test_file}:10: welcome-sms message contains "Goodbye": FAILED' in out
    assert "Welcome to Riverside, Pat!" in out  # the actual message text
    assert f"{test_file}:11: the journey ends completed: FAILED" in out
    assert 'actual:   waiting, state "Intake sent"' in out
    assert f"{test_file}:8" not in out  # the expectation that held is not listed
    assert "1 tests: 0 passed, 1 failed, 0 errors; 4 expectations, 3 failed" in out
    failure = ET.parse(report).getroot().find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == f"{test_file}:9: send-intake runs at day 0 10:30"
    assert f"{test_file}:11: the journey ends completed" in (failure.text or "")


def test_a_malformed_test_file_is_refused_before_anything_runs(journeys: Path):
    bad = write(
        journeys / "tests" / "bad.test.yaml",
        """
        tests:
          - name: typos
            journey: onboarding
            start: next Tuesdy 10:00
            expect:
              - {step: send-intake, runs_at: tomorrow}
              - {step: send-intake}
              - {stp: send-intake, runs: true}
        """,
    )
    good = write(
        journeys / "tests" / "good.test.yaml",
        """
        tests:
          - name: fine
            journey: onboarding
            start: next Tuesday 10:00
            expect: [{end: waiting}]
        """,
    )
    done = journeys_test(str(journeys))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""  # nothing ran, not even the good file's test
    errors = done.stderr.splitlines()
    assert errors == [
        f'{bad}:4:5 tests[0].start: "Tuesdy" is not a weekday (did you mean "tuesday"?)',
        f'{bad}:6:29 tests[0].expect[0].runs_at: "tomorrow" is not a time: use "day 2 14:00",'
        ' "+36h" or an ISO instant with offset',
        f"{bad}:7:9 tests[0].expect[1]: a step expectation needs exactly one of runs_at, runs,"
        " never_runs, outcome, message_contains (got none)",
        f'{bad}:8:10 tests[0].expect[2].stp: unknown field "stp"',
        "4 error(s) in the test files: nothing ran",
    ]
    assert str(good) not in done.stderr


def test_names_that_are_not_in_the_journey_are_errors_at_their_place(journeys: Path):
    bad = write(
        journeys / "tests" / "names.test.yaml",
        """
        tests:
          - name: wrong names
            journey: onboarding
            patient: {from: ../patients/nobody.json}
            start: 2030-01-08T10:00:00-05:00
            failing: {send-intak: refused}
            events:
              - {at: day 1 09:00, ticket_closed: {step: follow-up, reason: Reached}}
              - {at: day 1 10:00, trigger: labs-received}
            expect:
              - {step: escalate, never_runs: true}
              - {end: waiting, waiting_at: intake-reminer}
          - name: wrong journey
            journey: onbaording
            start: next Monday 09:00
            expect: [{end: completed}]
          - name: wrong journey
            journey: post-visit
            patient: {timezone: Europe/Pariss}
            start: next Monday 09:00
            expect: [{step: reached, runs_at: day 1 09:00, zone: patient}]
        """,
    )
    with pytest.raises(CompileFailed) as failed:
        load_tests([bad])
    assert [str(e).replace(str(bad), "{bad}") for e in failed.value.errors] == [
        f"{{bad}}:4:15 tests[0].patient.from: no patient file {journeys}/patients/nobody.json",
        '{bad}:6:15 tests[0].failing.send-intak: no step "send-intak" in journey onboarding'
        ' (did you mean "send-intake"?)',
        '{bad}:8:43 tests[0].events[0].ticket_closed.step: no step "follow-up" in journey'
        " onboarding",
        '{bad}:9:27 tests[0].events[1].trigger: no trigger "labs-received" in journey onboarding',
        '{bad}:11:10 tests[0].expect[0].step: no step "escalate" in journey onboarding',
        '{bad}:12:24 tests[0].expect[1].waiting_at: no step "intake-reminer" in journey'
        ' onboarding (did you mean "intake-reminder"?)',
        f'{{bad}}:14:5 tests[1].journey: no journey "onbaording" in {journeys}'
        ' (did you mean "onboarding"?)',
        "{bad}:17:5 tests[2].name: duplicate test name (first on line 13)",
        '{bad}:19:15 tests[2].patient.timezone: unknown time zone "Europe/Pariss"'
        ' (did you mean "Europe/Paris"?)',
    ]


def test_test_files_beside_journeys_are_not_compiled_as_journeys(journeys: Path):
    write(
        journeys / "tests" / "ok.test.yaml",
        """
        tests:
          - {name: ok, journey: onboarding, start: next Monday 09:00, expect: [{end: waiting}]}
        """,
    )
    compiled = compile_paths([journeys])
    assert sorted(p.journeyId for p in compiled.plans) == ["onboarding", "post-visit"]


def test_a_relative_start_skips_weeks_with_a_closure():
    zone = "America/New_York"
    now = datetime.now(ZoneInfo(zone))
    first = resolve_start("next Tuesday 10:00", zone, "day 14", [])
    assert first.weekday() == 1 and (first.hour, first.minute) == (10, 0)
    assert timedelta(0) < first - now <= timedelta(days=7)
    organization = Organization.model_validate(
        {
            "timezone": zone,
            "outOfOfficeHours": [
                {
                    "from": (first + timedelta(days=3)).isoformat(),
                    "to": (first + timedelta(days=4)).isoformat(),
                }
            ],
        }
    )
    closures = organization.outOfOfficeHours
    # the closure falls in the first 14-day window, not in the one a week later
    assert resolve_start("next Tuesday 10:00", zone, "day 14", closures) == first + timedelta(
        days=7
    )
    assert resolve_start("next Tuesday 10:00", zone, "day 2", closures) == first
    given = resolve_start("2030-01-08T10:00:00-05:00", zone, None, closures)
    assert given.isoformat() == "2030-01-08T10:00:00-05:00"


def test_a_test_that_cannot_run_is_an_error_in_junit_on_stdout(journeys: Path):
    """A fixed start that has passed cannot be simulated (the clock only moves forward): the
    test is an error, never a pass, and the others still run."""
    test_file = write(
        journeys / "tests" / "expired.test.yaml",
        """
        tests:
          - name: expired start
            journey: post-visit
            start: 2020-01-07T10:00:00-05:00
            expect: [{end: completed}]
          - name: runs anyway
            journey: post-visit
            patient: {from: ../patients/pat.json}
            start: next Monday 10:00
            until: day 2
            expect: [{step: thank-you-email, runs_at: day 0 10:00}]
        """,
    )
    done = journeys_test(str(journeys), "--format", "junit")
    assert done.returncode == 1, done.stdout + done.stderr
    root = ET.fromstring(done.stdout)  # the XML alone on stdout; the text report on stderr
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "0", "1")
    error, passed = root.findall("testsuite/testcase")
    assert error.get("name") == "expired start" and error.get("line") == "2"
    element = error.find("error")
    assert element is not None
    assert "is in the past" in element.get("message", "")
    assert passed.find("error") is None and passed.find("failure") is None
    assert f"ERROR {test_file}:2 expired start (post-visit," in done.stderr
    assert "2 tests: 1 passed, 0 failed, 1 errors" in done.stderr
