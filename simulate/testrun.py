"""Running journey tests: each on its own Temporal time-skipping server through
`simulate.runner.simulate` (the real JourneyWorkflow and the recording stand-in, the same action
code paths `journeys simulate` uses), several at once (docs/decisions.md D27)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from simulate.expectations import CheckResult, check_all
from simulate.runner import SimulationError, SimulationResult, render_text, simulate
from simulate.testfile import LoadedTest, resolve_start


@dataclass
class TestOutcome:
    test: LoadedTest
    seconds: float
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None  # the test could not run (start in the past, no server, ...)
    timeline: str = ""  # the simulation's text timeline, for reports

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "fail" if self.failed else "pass"


async def run_tests(
    tests: list[LoadedTest],
    jobs: int = 2,
    on_done: Callable[[TestOutcome], None] | None = None,
) -> list[TestOutcome]:
    """Run every test, at most `jobs` at a time (each runs its own test server: a process and
    a worker), and return their outcomes in the tests' order."""
    gate = asyncio.Semaphore(max(1, jobs))
    done: dict[int, TestOutcome] = {}
    reported = 0

    def report_in_order() -> None:
        # `on_done` sees the outcomes in the tests' order, as soon as each and those before it
        # have finished: a CI log reads the same whichever test finishes first.
        nonlocal reported
        while reported in done:
            if on_done is not None:
                on_done(done[reported])
            reported += 1

    async def one(index: int, test: LoadedTest) -> TestOutcome:
        async with gate:
            outcome = await run_test(test)
        done[index] = outcome
        report_in_order()
        return outcome

    return list(await asyncio.gather(*(one(n, t) for n, t in enumerate(tests))))


async def run_test(test: LoadedTest) -> TestOutcome:
    from devstack.binaries import MissingBinary

    began = time.monotonic()
    plan = next(p for p in test.compiled.plans if p.journeyId == test.journey_id)
    try:
        start = resolve_start(
            test.start, test.zone, test.script.until, plan.organization.outOfOfficeHours
        )
        result: SimulationResult = await simulate(
            test.compiled,
            test.journey_id,
            test.patient,
            test.script,
            start=start,
            templates=test.templates,
        )
    except (SimulationError, MissingBinary) as error:
        return TestOutcome(test, time.monotonic() - began, error=str(error))
    patient_zone = test.patient.get("timezone")
    checks = check_all(test.checks, result, str(patient_zone) if patient_zone else None)
    return TestOutcome(test, time.monotonic() - began, checks, timeline=render_text(result))
