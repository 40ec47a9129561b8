"""Journey test files (`*.test.yaml`, docs/journey-tests.md): their format, and loading them into
runnable tests with every problem reported as `file:line:col path: message` before anything runs.

    templates:                                   # optional: template id -> text (default: the
      64f000000000000000000b01: "Hi {{enduser.fname}}"   # sandbox's seeded templates)
    tests:
      - name: intake submitted on day 2
        journey: onboarding                      # a journey id compiled beside the tests
        patient: {from: ../patients/pat.json, timezone: America/Chicago, tags: [vip]}
        start: next Tuesday 10:00                # or an ISO instant with UTC offset
        until: day 14                            # optional, default 60 days
        failing: {send-intake: mail server refused}   # optional: these steps fail when they run
        events:                                  # as in simulation scripts (simulate/script.py)
          - {at: day 2 14:00, form_submitted: send-intake}
        expect:
          - {step: send-intake, runs_at: day 0 11:00}            # zone: organization | patient
          - {step: escalate-unresponsive, never_runs: true}
          - {step: welcome-sms, message_contains: Welcome to Riverside, Pat}
          - {end: completed, state: Intake complete}             # or removed / waiting (waiting_at)

The journeys of a test file are the YAML of its folder, or of the parent folder when the test
file sits in a `tests/` folder (`examples/tests/onboarding.test.yaml` tests `examples/`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from compiler import CompileFailed, compile_paths
from compiler.compile import CompileResult
from compiler.errors import CompileError
from compiler.pydantic_errors import did_you_mean, translate
from compiler.yaml_source import PathPart, YamlDocument, dotted, load_yaml
from models.base import check_time_zone
from simulate.script import Script, ScriptEvent, parse_when

TEST_FILE_SUFFIXES = (".test.yaml", ".test.yml")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NEXT = re.compile(r"^next\s+([a-z]+)\s+(\d{1,2}):(\d{2})$", re.IGNORECASE)
_WITHIN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
STEP_CHECKS = ("runs_at", "runs", "never_runs", "outcome", "message_contains")
OUTCOMES = ("ran", "skipped", "cancelled", "error", "pending")


def parse_within(text: str) -> timedelta:
    """`10m`, `2h`, `1h30m`, `1d`, `30s`."""
    match = _WITHIN.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f'"{text}" is not a tolerance: use e.g. "10m", "2h", "1h30m"')
    d, h, m, s = (int(g or 0) for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


def check_start(text: str) -> str:
    """`next <weekday> HH:MM` (organisation zone) or an ISO instant with a UTC offset."""
    relative = _NEXT.match(text.strip())
    if relative:
        day, hour, minute = relative.group(1).lower(), int(relative.group(2)), relative.group(3)
        if day not in WEEKDAYS:
            raise ValueError(f'"{relative.group(1)}" is not a weekday{did_you_mean(day, WEEKDAYS)}')
        if hour > 23 or int(minute) > 59:
            raise ValueError(f'"{text}": no such time of day')
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f'"{text}" is not a start: use "next Tuesday 10:00" or an ISO instant with offset'
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f'"{text}" needs a UTC offset')
    return text


class Expectation(BaseModel):
    """One check of a test: about a step (`step` and one of STEP_CHECKS) or about the end."""

    model_config = ConfigDict(extra="forbid")
    step: str | None = None
    runs_at: str | None = None
    zone: Literal["organization", "patient"] | None = None
    within: str | None = None
    runs: Literal[True] | None = None
    never_runs: Literal[True] | None = None
    outcome: Literal["ran", "skipped", "cancelled", "error", "pending"] | None = None
    message_contains: str | None = None
    end: Literal["completed", "removed", "waiting"] | None = None
    state: str | None = None
    waiting_at: str | None = None

    @field_validator("runs_at")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_when(value, datetime(2000, 1, 1, tzinfo=UTC), "UTC")  # syntax check
        return value

    @field_validator("within")
    @classmethod
    def _tolerance(cls, value: str) -> str:
        parse_within(value)
        return value

    @model_validator(mode="after")
    def _one_check(self) -> Expectation:
        checks = [c for c in STEP_CHECKS if getattr(self, c) is not None]
        ending = [c for c in ("end", "state", "waiting_at") if getattr(self, c) is not None]
        if self.step is not None:
            if len(checks) != 1 or ending:
                raise ValueError(
                    f"a step expectation needs exactly one of {', '.join(STEP_CHECKS)}"
                    f" (got {checks + ending or 'none'})"
                )
        elif checks:
            raise ValueError(f"{checks[0]} needs `step:` (the step it is about)")
        elif self.end is None:
            raise ValueError(
                "each expectation needs `step:` (with one of "
                f"{', '.join(STEP_CHECKS)}) or `end:` (completed, removed or waiting)"
            )
        if (self.zone is not None or self.within is not None) and self.runs_at is None:
            raise ValueError("zone and within apply to runs_at only")
        if self.waiting_at is not None and self.end != "waiting":
            raise ValueError("waiting_at needs `end: waiting`")
        return self


class JourneyTest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    journey: str
    patient: dict[str, Any] = Field(default_factory=dict)
    start: str
    until: str | None = None
    failing: dict[str, str] = Field(default_factory=dict)
    events: list[ScriptEvent] = Field(default_factory=list)
    expect: list[Expectation] = Field(min_length=1)

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        return check_start(value)

    @field_validator("until")
    @classmethod
    def _until(cls, value: str) -> str:
        parse_when(value, datetime(2000, 1, 1, tzinfo=UTC), "UTC")
        return value


class TestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    templates: dict[str, str] = Field(default_factory=dict)
    tests: list[JourneyTest] = Field(min_length=1)


@dataclass
class CheckSpec:
    """An expectation and where it is written."""

    expectation: Expectation
    where: str  # file:line


@dataclass
class LoadedTest:
    file: str
    line: int
    name: str
    journey_id: str
    compiled: CompileResult
    zone: str  # the organisation's
    patient: dict[str, Any]
    start: str
    script: Script
    templates: dict[str, str]
    checks: list[CheckSpec] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def discover_tests(paths: Sequence[Path]) -> list[Path]:
    """Test files under `paths`: `*.test.yaml` in folders (recursively), or files given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if _is_test_file(p, path)))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _is_test_file(file: Path, root: Path) -> bool:
    """A `*.test.yaml` outside hidden folders (.venv, .git) and node_modules."""
    folders = file.relative_to(root).parts[:-1]
    return file.name.endswith(TEST_FILE_SUFFIXES) and not any(
        part.startswith(".") or part == "node_modules" for part in folders
    )


def journey_folder(test_file: Path) -> Path:
    folder = test_file.parent
    return folder.parent if folder.name == "tests" else folder


def default_templates() -> dict[str, str]:
    """The sandbox's seeded templates (the ids the examples use): subject and body."""
    from sandbox.seed import TEMPLATES

    return {t["id"]: f"{t.get('subject', '')}\n{t.get('message', '')}" for t in TEMPLATES}


def load_tests(files: Sequence[Path]) -> list[LoadedTest]:
    """Load and check every test file; raise CompileFailed with every error of every file."""
    errors: list[CompileError] = []
    tests: list[LoadedTest] = []
    compiled: dict[Path, CompileResult | None] = {}
    for path in files:
        try:
            tests.extend(_load_file(path, compiled))
        except CompileFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise CompileFailed(errors)
    return tests


def _load_file(path: Path, compiled: dict[Path, CompileResult | None]) -> list[LoadedTest]:
    if not path.exists():
        raise CompileFailed([CompileError(str(path), 1, 1, "", "file not found")])
    doc = load_yaml(path)
    if not isinstance(doc.data, dict) or "tests" not in doc.data:
        raise CompileFailed([doc.error([], "expected a top-level `tests:` list (journey tests)")])
    try:
        spec = TestFile.model_validate(doc.data)
    except ValidationError as error:
        raise CompileFailed(translate(doc, [], error, dotted)) from None
    folder = journey_folder(path).resolve()
    if folder not in compiled:
        try:
            compiled[folder] = compile_paths([journey_folder(path)])
        except CompileFailed as failed:
            compiled[folder] = None
            raise CompileFailed(
                [*failed.errors, doc.error([], f"the journeys of {folder} do not compile")]
            ) from None
    result = compiled[folder]
    if result is None:
        raise CompileFailed([doc.error([], f"the journeys of {folder} do not compile")])
    templates = {**default_templates(), **spec.templates}
    errors: list[CompileError] = []
    loaded = []
    names: dict[str, int] = {}
    for index, test in enumerate(spec.tests):
        at: list[PathPart] = ["tests", index]
        if test.name in names:
            first, _ = doc.position(["tests", names[test.name], "name"])
            errors.append(doc.error([*at, "name"], f"duplicate test name (first on line {first})"))
        names.setdefault(test.name, index)
        one = _check_test(doc, at, test, result, path, templates, errors)
        if one is not None:
            loaded.append(one)
    if errors:
        raise CompileFailed(errors)
    return loaded


def _check_test(
    doc: YamlDocument,
    at: list[PathPart],
    test: JourneyTest,
    compiled: CompileResult,
    path: Path,
    templates: dict[str, str],
    errors: list[CompileError],
) -> LoadedTest | None:
    plans = {p.journeyId: p for p in compiled.plans}
    plan = plans.get(test.journey)
    if plan is None:
        errors.append(
            doc.error(
                [*at, "journey"],
                f'no journey "{test.journey}" in {journey_folder(path)}'
                + did_you_mean(test.journey, sorted(plans)),
            )
        )
        return None
    steps = sorted(plan.steps)

    def need_step(step: str, where: list[PathPart]) -> None:
        if step not in plan.steps:
            hint = did_you_mean(step, steps)
            errors.append(doc.error(where, f'no step "{step}" in journey {plan.journeyId}{hint}'))

    for step in test.failing:
        need_step(step, [*at, "failing", step])
    # the journey's own triggers, and those its waitForTrigger steps wait for (maybe elsewhere)
    triggers = sorted(
        {str(t.id) for t in plan.triggers if getattr(t, "id", None)}
        | {
            str(e.info.triggerId)
            for step in plan.steps.values()
            for e in step.events
            if e.type == "waitForTrigger"
        }
    )
    raw_events = doc.data["tests"][at[1]].get("events") or []
    for n, event in enumerate(test.events):
        where: list[PathPart] = [*at, "events", n]
        for kind, given in (
            ("form_submitted", event.form_submitted),
            ("ticket_closed", event.ticket_closed),
        ):
            if given is not None:
                # `{step: X, ...}` or the short form `X`: point at the step name either way
                long_form = isinstance(raw_events[n].get(kind), dict)
                need_step(given.step, [*where, kind, *(["step"] if long_form else [])])
        if event.trigger is not None and event.trigger not in triggers:
            errors.append(
                doc.error(
                    [*where, "trigger"],
                    f'no trigger "{event.trigger}" in journey {plan.journeyId}'
                    + did_you_mean(event.trigger, triggers),
                )
            )
    patient = _patient(doc, [*at, "patient"], test.patient, path, errors)
    checks = []
    for n, expectation in enumerate(test.expect):
        where = [*at, "expect", n]
        if expectation.step is not None:
            need_step(expectation.step, [*where, "step"])
        if expectation.waiting_at is not None:
            need_step(expectation.waiting_at, [*where, "waiting_at"])
        if expectation.zone == "patient" and patient is not None and "timezone" not in patient:
            errors.append(
                doc.error(
                    [*where, "zone"], "zone: patient needs the patient's `timezone` (IANA name)"
                )
            )
        line, _ = doc.position(where)
        checks.append(CheckSpec(expectation, f"{doc.file}:{line}"))
    if patient is None:
        return None
    line, _ = doc.position(at)
    return LoadedTest(
        file=doc.file,
        line=line,
        name=test.name,
        journey_id=plan.journeyId,
        compiled=compiled,
        zone=plan.organization.timezone,
        patient=patient,
        start=test.start,
        script=Script(until=test.until, failing=test.failing, events=test.events),
        templates=templates,
        checks=checks,
    )


def _patient(
    doc: YamlDocument,
    at: list[PathPart],
    given: dict[str, Any],
    path: Path,
    errors: list[CompileError],
) -> dict[str, Any] | None:
    """The patient record: the JSON file named by `from` (relative to the test file), with the
    other keys written over it."""
    record: dict[str, Any] = {}
    source = given.get("from")
    if source is not None:
        file = Path(os.path.normpath(path.parent / str(source)))
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            errors.append(doc.error([*at, "from"], f"no patient file {file}"))
            return None
        except json.JSONDecodeError as error:
            errors.append(
                doc.error(
                    [*at, "from"], f"{file}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}"
                )
            )
            return None
        if not isinstance(data, dict):
            errors.append(doc.error([*at, "from"], f"{file}: expected a JSON object (an enduser)"))
            return None
        record.update(data)
    record.update({k: v for k, v in given.items() if k != "from"})
    if "timezone" in record:
        try:
            check_time_zone(str(record["timezone"]))
        except ValueError as error:
            errors.append(doc.error([*at, "timezone"], str(error)))
            return None
    return record


def resolve_start(text: str, zone: str, until: str | None, closures: list[Any]) -> datetime:
    """The start instant. `next <weekday> HH:MM` is the first such moment after now (in the
    organisation's zone) whose test window has no organisation closure, so a test of weekly
    office hours gives the same answer every week (docs/decisions.md D27)."""
    relative = _NEXT.match(text.strip())
    if relative is None:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    weekday = WEEKDAYS.index(relative.group(1).lower())
    hour, minute = int(relative.group(2)), int(relative.group(3))
    now = datetime.now(ZoneInfo(zone))
    days = (weekday - now.weekday()) % 7 or 7  # strictly after today: the clock must not pass it
    start = (now + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    for _ in range(104):  # two years of weeks: an organisation always open somewhere in there
        end = parse_when(until, start, zone) if until else start + timedelta(days=60)
        if not any(c.from_ < end and c.to > start for c in closures):
            return start
        start = (start + timedelta(days=7)).replace(hour=hour, minute=minute)
    return start
