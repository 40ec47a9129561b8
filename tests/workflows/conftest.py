"""Runtime tests: JourneyWorkflow on the time-skipping test server, the store on SQLite.

Tellescope is replaced by `simulate.recorder.RecordingTellescope` here (the same activity names
and contracts, no network) so these tests isolate the scheduling rules in virtual time; the real
activities run against the sandbox over HTTP in tests/e2e.
"""

from __future__ import annotations

import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest_asyncio
from temporalio.worker import Worker

from activities.engine import engine_activities
from activities.join_first import JoinFirst
from compiler import compile_paths
from models.runtime import EnrollmentInput
from simulate.recorder import RecordingTellescope
from store.db import create_tables, get_engine
from store.ledger import Ledger
from store.message_log import MessageLog
from store.plans import PlanStore
from tests.temporal_env import start_time_skipping
from workflows import starter
from workflows.journey import JourneyWorkflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Runtime:
    """A store, a task queue and a worker for one test."""

    def __init__(self, env, folder: Path) -> None:
        self.env = env
        self.client = env.client
        engine = get_engine(f"sqlite:///{folder}/journeys.db")
        create_tables(engine)
        self.plans = PlanStore(engine)
        self.ledger = Ledger(engine)
        self.task_queue = f"tq-{uuid.uuid4()}"
        # Workflow ids are journey:{journey}:{enduser}: a fresh enduser per test keeps tests
        # from reaching each other's enrollments on the shared server.
        self.enduser_id = f"enduser-{uuid.uuid4().hex[:12]}"
        self.tellescope = RecordingTellescope(
            enduser={"id": self.enduser_id, "fname": "Pat"}, message_log=MessageLog(engine)
        )
        self.handles: list = []

    def deploy(self, *paths: Path):
        result = compile_paths(list(paths))
        for plan in result.plans:
            self.plans.save(plan)
        return result

    @asynccontextmanager
    async def worker(self, *, join_first: bool = True):
        """`join_first=False`: a worker built without the JoinFirst interceptor (a
        misconfiguration the workflow survives, docs/decisions.md D41)."""
        with ThreadPoolExecutor(max_workers=8) as executor:
            async with Worker(
                self.client,
                task_queue=self.task_queue,
                workflows=[JourneyWorkflow],
                activities=[
                    *self.tellescope.activities(),
                    *engine_activities(
                        self.client,
                        self.plans,
                        self.ledger,
                        self.task_queue,
                        join_journey=self.tellescope.set_journey_state,
                    ),
                ],
                activity_executor=executor,
                # the first step's activity carries the journey's join (docs/decisions.md D41)
                interceptors=(
                    [JoinFirst(self.ledger, self.tellescope.set_journey_state)]
                    if join_first
                    else []
                ),
                # A bug in workflow code fails the test at once instead of retrying the task.
                workflow_failure_exception_types=[Exception],
            ):
                yield

    async def enroll(self, journey_id: str, enduser_id: str | None = None, **extra):
        row = self.plans.current(journey_id)
        inp = EnrollmentInput(
            journeyId=journey_id,
            planVersion=row.version,
            enduserId=enduser_id or self.enduser_id,
            tellescopeJourneyId=row.tellescope_journey_id,
            **extra,
        )
        plan = self.plans.enrollment_plan(journey_id, row.version)
        handle = await starter.enroll(self.client, inp, task_queue=self.task_queue, plan=plan)
        self.handles.append(handle)
        return handle

    async def close(self) -> None:
        """Terminate what a test left running (journeys that listen for forms forever)."""
        for handle in self.handles:
            try:
                await handle.terminate("test finished")
            except Exception:  # already closed
                pass

    def steps_done(self) -> list[str]:
        return [effect.step for effect in self.tellescope.effects]

    def ran_at(self, step: str) -> list[datetime]:
        """When each execution of `step` ran (workflow time), in order."""
        return [datetime.fromisoformat(e.at) for e in self.tellescope.effects if e.step == step]

    def ledger_rows(self, step: str | None = None):
        return self.ledger.list(step_id=step, limit=10_000)


def input_carrying(plan) -> EnrollmentInput:
    """An enrollment input of enduser e1 carrying `plan` (the compact and folded shapes)."""
    return EnrollmentInput(
        journeyId=plan.journeyId,
        planVersion=plan.version,
        enduserId="e1",
        tellescopeJourneyId=plan.tellescopeJourneyId,
        plan=plan,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def runtime(env, tmp_path):
    runtime = Runtime(env, tmp_path)
    yield runtime
    await runtime.close()


ORGANIZATION = """
organization:
  name: Test clinic
  timezone: America/New_York
  officeHours:
    - {dayOfWeekStartingSundayIndexedByZero: 1, startTimeInMinutes: 540, endTimeInMinutes: 1020}
    - {dayOfWeekStartingSundayIndexedByZero: 2, startTimeInMinutes: 540, endTimeInMinutes: 1020}
    - {dayOfWeekStartingSundayIndexedByZero: 3, startTimeInMinutes: 540, endTimeInMinutes: 1020}
    - {dayOfWeekStartingSundayIndexedByZero: 4, startTimeInMinutes: 540, endTimeInMinutes: 1020}
    - {dayOfWeekStartingSundayIndexedByZero: 5, startTimeInMinutes: 540, endTimeInMinutes: 1020}
"""
NEW_YORK = ZoneInfo("America/New_York")


def write_journey(folder: Path, text: str, organization: str = ORGANIZATION) -> Path:
    """A journey YAML (dedented) plus an organization file in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organization.yaml").write_text(textwrap.dedent(organization).lstrip())
    path = folder / "journey.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return folder


async def advance_to(env, moment: datetime) -> None:
    """Skip virtual time forward to `moment` (aware)."""
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


def next_weekday_at(now: datetime, weekday: int, hour: int, minute: int = 0) -> datetime:
    """The next local (New York) `weekday` (Monday = 0) at hour:minute after `now`, at least a
    day ahead so a test never starts in the past."""
    local = now.astimezone(NEW_YORK) + timedelta(days=1)
    days = (weekday - local.weekday()) % 7
    day = (local + timedelta(days=days)).date()
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


def close(
    actual: datetime, expected: datetime, tolerance: timedelta = timedelta(seconds=1)
) -> bool:
    """Timers fire a few virtual milliseconds after their due time; anything within a second is
    "at" that time, and far tighter than any rule under test."""
    return abs(actual - expected) < tolerance


@pytest_asyncio.fixture(loop_scope="session")
async def env():
    """A time-skipping server of this test's own (tests/conftest.py says why)."""
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()
