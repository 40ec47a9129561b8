"""Checking a journey test's expectations against a simulation's timeline (docs/journey-tests.md).

Each check says what was expected and what happened, in the words of the timeline (local times
with the day relative to the start), so a failing CI run reads without re-running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from simulate.runner import SimulationResult, TimelineEntry
from simulate.script import parse_when
from simulate.testfile import CheckSpec, Expectation, parse_within

# The timeline is read to the minute: a step due 11:00 that runs at 11:00:00.4 is at 11:00.
EXACT = timedelta(seconds=59)


@dataclass
class CheckResult:
    where: str  # test file:line of the expectation
    description: str
    passed: bool
    expected: str
    actual: str


def check_all(
    checks: list[CheckSpec], result: SimulationResult, patient_zone: str | None
) -> list[CheckResult]:
    return [check(spec, result, patient_zone) for spec in checks]


def check(spec: CheckSpec, result: SimulationResult, patient_zone: str | None) -> CheckResult:
    e = spec.expectation
    if e.step is None:
        return _check_end(spec.where, e, result)
    entries = [t for t in result.timeline if t.step == e.step]
    ran = [t for t in entries if t.outcome == "ran"]
    if e.runs_at is not None:
        zone = patient_zone if e.zone == "patient" and patient_zone else result.zone
        target = parse_when(e.runs_at, result.start, zone)
        tolerance = parse_within(e.within) if e.within else EXACT
        hits = [t for t in ran if abs(t.at - target) <= tolerance]
        within = f" (within {e.within})" if e.within else ""
        return CheckResult(
            spec.where,
            f"{e.step} runs at {e.runs_at}{within}",
            bool(hits),
            f"ran at {_when(target, result.start, zone)}",
            _ran_or_why(entries, result.start, zone),
        )
    if e.runs is not None:
        return CheckResult(
            spec.where,
            f"{e.step} runs",
            bool(ran),
            "ran at least once",
            _ran_or_why(entries, result.start, result.zone),
        )
    if e.never_runs is not None:
        return CheckResult(
            spec.where,
            f"{e.step} never runs",
            not ran,
            "never ran",
            _ran_or_why(entries, result.start, result.zone),
        )
    if e.outcome is not None:
        outcomes = [f"{t.outcome} at {_when(t.at, result.start, result.zone)}" for t in entries]
        return CheckResult(
            spec.where,
            f"{e.step} is {e.outcome}",
            any(t.outcome == e.outcome for t in entries),
            e.outcome,
            "; ".join(outcomes) or "never scheduled",
        )
    assert e.message_contains is not None  # the model allows nothing else (testfile.py)
    texts = [t.message or t.detail for t in ran]
    return CheckResult(
        spec.where,
        f'{e.step} message contains "{e.message_contains}"',
        any(e.message_contains in (t.message + "\n" + t.detail) for t in ran),
        f'a message containing "{e.message_contains}"',
        " | ".join(repr(text) for text in texts)
        if texts
        else _ran_or_why(entries, result.start, result.zone),
    )


def _check_end(where: str, e: Expectation, result: SimulationResult) -> CheckResult:
    at_steps = waiting_steps(result)
    expected = [f"{e.end}"]
    passed = result.outcome == e.end
    if e.state is not None:
        expected.append(f'state "{e.state}"')
        passed = passed and result.state == e.state
    if e.waiting_at is not None:
        expected.append(f"waiting at {e.waiting_at}")
        passed = passed and e.waiting_at in at_steps
    actual = [result.outcome, f'state "{result.state}"' if result.state else "no state"]
    if result.outcome == "waiting":
        actual.append(f"waiting at {', '.join(at_steps) or 'nothing'}")
    wanted = ", ".join(expected)
    return CheckResult(where, f"the journey ends {wanted}", passed, wanted, ", ".join(actual))


def waiting_steps(result: SimulationResult) -> list[str]:
    """Steps the enrollment waits at: actions still pending (a timer or a trigger) and finished
    steps whose forms, tickets or outcomes may still start branches."""
    steps = [t.step for t in result.timeline if t.outcome == "pending"]
    for text in result.waitingFor:  # "form from X", "ticket T from X", "outcome of X"
        steps.append(text.rsplit(" ", 1)[-1])
    return list(dict.fromkeys(steps))


def _when(at: datetime, start: datetime, zone: str) -> str:
    local, first = at.astimezone(ZoneInfo(zone)), start.astimezone(ZoneInfo(zone))
    day = (local.date() - first.date()).days
    return f"{local:%a %Y-%m-%d %H:%M} {zone} (day {day} {local:%H:%M})"


def _ran_or_why(entries: list[TimelineEntry], start: datetime, zone: str) -> str:
    ran = [t for t in entries if t.outcome == "ran"]
    if ran:
        return "ran at " + "; ".join(_when(t.at, start, zone) for t in ran)
    if not entries:
        return "never ran (never scheduled)"
    last = entries[-1]
    why = f": {last.why}" if last.why else ""
    return f"never ran ({last.outcome}{why})"
