"""Several workers on one task queue (production runs them with `--scale worker=N`):

1. Three `python worker.py` processes share one task queue on one Temporal server while a few
   hundred enrollments run a journey with an SMS, a timer and a trigger (a journey-scoped Move To
   Step that releases a parked step). One worker is killed with SIGKILL and restarted, another
   is killed and left dead. The work spread over every worker (counted from the `identity` of
   the workers in the enrollments' Temporal histories), every journey completes, and every
   message exists exactly once.
2. SIGTERM drains: a worker told to stop while a send is in flight (the sandbox holds it) lets
   that activity finish before it exits; a new worker completes the rest; nothing is sent twice
   and no send had to be redone.

Real parts throughout: a Temporal dev server, the workers as subprocesses (sticky cache on), the
activities talking HTTP to the sandbox, the store on SQLite.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter

import httpx
import pytest

from models.runtime import EnrollmentInput
from tests.reliability.harness import (
    DR_RIVERA,
    THANK_YOU_EMAIL,
    WELCOME_SMS,
    EngineStore,
    Row,
    WorkerProcess,
    count_messages,
    free_port,
    scenario_seed,
    until,
)
from triggers.dispatch import TriggerDeps, fire_trigger
from workflows import starter

# alone: 10 s step timeouts on three workers; a busy neighbour makes attempts outlast them.
pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.alone]

ENROLLMENTS = 300
WORKERS = 3
REMINDER_SMS = "64f000000000000000000b02"
JOURNEY = f"""
journey:
  id: rel-many
  title: Reliability many workers
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
  - id: reminder
    events: [{{type: afterAction, info: {{automationStepId: welcome, delayInMS: 3000}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{REMINDER_SMS}"}}}}
  - id: released
    events: [{{type: waitForTrigger, info: {{automationStepId: welcome, triggerId: rel-many-go}}}}]
    action: {{type: sendEmail, info: {{senderId: "{DR_RIVERA}", templateId: "{THANK_YOU_EMAIL}"}}}}
triggers:
  - id: rel-many-go
    title: Release the parked step
    status: Active
    journeyId: rel-many
    event: {{type: Field Equals, info: {{field: relManyStatus, value: Go}}}}
    action: {{type: Move To Step, info: {{}}}}
"""

DRAIN_ENROLLMENTS = 6
DRAIN_JOURNEY = f"""
journey:
  id: rel-drain
  title: Reliability graceful drain
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
"""


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def enrollment(journey, enduser_id: str, step_timeout: int = 10) -> EnrollmentInput:
    return EnrollmentInput(
        journeyId=journey.journey_id,
        planVersion=journey.version,
        enduserId=enduser_id,
        tellescopeJourneyId=journey.record_id,
        # Above the workers' 5 s Tellescope timeout; a dead worker's attempts retry after it.
        stepTimeoutSeconds=step_timeout,
    )


async def identities(client, workflow_ids: list[str]) -> tuple[Counter[int], Counter[int]]:
    """Per worker pid: activity executions and workflow tasks completed, from the histories."""
    activities: Counter[int] = Counter()
    tasks: Counter[int] = Counter()
    semaphore = asyncio.Semaphore(20)

    async def read(workflow_id: str) -> None:
        async with semaphore:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            if event.HasField("activity_task_started_event_attributes"):
                identity = event.activity_task_started_event_attributes.identity
                activities[int(identity.split("@")[0])] += 1
            elif event.HasField("workflow_task_completed_event_attributes"):
                identity = event.workflow_task_completed_event_attributes.identity
                tasks[int(identity.split("@")[0])] += 1

    await asyncio.gather(*(read(w) for w in workflow_ids))
    return activities, tasks


async def test_three_workers_share_the_queue_through_kills(
    dev_env, sandbox, sandbox_http, tmp_path, report
):
    started = time.monotonic()
    seed = scenario_seed("many-workers")
    rng = random.Random(seed)
    store = EngineStore(tmp_path / "store")
    journey = store.deploy(JOURNEY, sandbox_http)
    endusers = sandbox_http.create_endusers(ENROLLMENTS, tag="many")
    client = dev_env.client
    task_queue = f"rel-many-{seed}"
    workers = [
        WorkerProcess(
            temporal_address=client.service_client.config.target_host,
            task_queue=task_queue,
            database_url=store.url,
            tellescope_url=sandbox.base_url,
            log=tmp_path / f"worker-{index}.log",
            extra_env={"WORKER_HEALTH_PORT": str(free_port())},
        )
        for index in range(WORKERS)
    ]
    pids: dict[int, str] = {}  # every process a worker slot ran, to its name

    def start(index: int) -> None:
        workers[index].start()
        pids[workers[index].process.pid] = f"worker-{index}"

    expected_messages = 3 * ENROLLMENTS
    # worker-0: SIGKILL and restarted; worker-1: SIGKILL and left dead. Seeded points while the
    # welcome and reminder messages are going out.
    kills = [
        (int(expected_messages * rng.uniform(0.15, 0.3)), 0, True),
        (int(expected_messages * rng.uniform(0.35, 0.5)), 1, False),
    ]
    print(f"\nmany workers: seed {seed}, kills at {[k[0] for k in kills]} messages")
    deps = TriggerDeps(client, store.plans, store.ledger, task_queue, tellescope=None)
    semaphore = asyncio.Semaphore(50)

    async def enroll(enduser_id: str):
        async with semaphore:
            return await starter.enroll(
                client, enrollment(journey, enduser_id), task_queue=task_queue
            )

    async def release(enduser_id: str) -> None:
        async with semaphore:
            await fire_trigger("rel-many-go", enduser_id, None, deps)

    baseline = sandbox_http.messages_sent()
    reminder_step = journey.tellescope_step("reminder")
    killed_at: list[int] = []
    released: set[str] = set()
    ports = [int(w.environment["WORKER_HEALTH_PORT"]) for w in workers]
    try:
        for index in range(WORKERS):
            start(index)
        for port in ports:
            await until(lambda p=port: healthy(p), timeout=10, what="the worker's /health")
        handles = await asyncio.gather(*(enroll(e) for e in endusers))
        deadline = time.monotonic() + 300  # about 60 s on an idle 2-core machine
        while len(released) < ENROLLMENTS:
            assert time.monotonic() < deadline, f"{len(released)} released, {killed_at} kills"
            sent = sandbox_http.messages_sent() - baseline
            if kills and sent >= kills[0][0]:
                _, index, restart = kills.pop(0)
                workers[index].kill()
                killed_at.append(sent)
                assert not healthy(ports[index])
                if restart:
                    await asyncio.sleep(1.0)
                    await asyncio.to_thread(start, index)
            # The reminder went out 3 s after the welcome, so the parked step exists: release it.
            due = {
                entry["enduserId"]
                for entry in sandbox_http.outbox(journey.record_id)
                if entry["automationStepId"] == reminder_step
            } - released
            await asyncio.gather(*(release(e) for e in due))
            released |= due
            await asyncio.sleep(0.5)
        results = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), timeout=240
        )
        assert healthy(ports[0]) and healthy(ports[2]) and not healthy(ports[1])
    except BaseException:
        for worker in workers:
            print(worker.tail(2000))
        raise
    finally:
        for worker in workers:
            worker.stop()

    outcomes = Counter((r.outcome, r.finished, r.errors) for r in results)
    assert outcomes == Counter({("completed", 3, 0): ENROLLMENTS}), outcomes
    expected = set()
    for enduser_id in endusers:
        expected.add((enduser_id, journey.tellescope_step("welcome"), "sms"))
        expected.add((enduser_id, reminder_step, "sms"))
        expected.add((enduser_id, journey.tellescope_step("released"), "email"))
    counted = count_messages(sandbox_http.outbox(journey.record_id), expected)
    statuses = store.step_statuses(journey.journey_id)

    activities, tasks = await identities(client, [h.id for h in handles])
    by_worker: Counter[str] = Counter()
    for pid, count in activities.items():
        by_worker[pids.get(pid, f"unknown pid {pid}")] += count
    spread = ", ".join(f"{name} {by_worker[name]}" for name in sorted(by_worker))
    print(f"many workers: activity executions per worker: {spread}")
    report.add(
        Row(
            scenario="3 workers, kill -9 two",
            enrollments=ENROLLMENTS,
            faults=len(killed_at),
            fault_kinds="kill -9 of a worker (one restarted, one left dead)",
            messages=counted.sent,
            duplicates=counted.duplicates,
            lost=counted.lost,
            seconds=time.monotonic() - started,
            notes=f"killed at {killed_at} of {expected_messages} messages; activities per"
            f" worker: {spread}; {store.reused(journey.journey_id)} sends found already made",
        )
    )
    assert counted.duplicates == 0 and counted.lost == 0, counted.examples
    assert counted.sent == expected_messages
    for step in ("welcome", "reminder", "released"):
        assert statuses[(step, "finished")] == ENROLLMENTS, statuses
    assert set(pids.values()) <= set(by_worker), by_worker  # every worker did some of the work
    assert not {name for name in by_worker if name.startswith("unknown")}, by_worker
    assert all(tasks[pid] > 0 for pid in pids), tasks  # and ran workflow tasks too
    assert len(killed_at) == 2 and workers[0].starts == 2 and not workers[1].alive()


async def test_sigterm_drains_the_activity_in_flight(
    dev_env, sandbox, sandbox_http, tmp_path, report
):
    started = time.monotonic()
    store = EngineStore(tmp_path / "store")
    journey = store.deploy(DRAIN_JOURNEY, sandbox_http)
    endusers = sandbox_http.create_endusers(DRAIN_ENROLLMENTS, tag="drain")
    client = dev_env.client
    task_queue = f"rel-drain-{scenario_seed('drain')}"

    def worker(name: str) -> WorkerProcess:
        return WorkerProcess(
            temporal_address=client.service_client.config.target_host,
            task_queue=task_queue,
            database_url=store.url,
            tellescope_url=sandbox.base_url,
            log=tmp_path / f"{name}.log",
            extra_env={"GRACEFUL_SHUTDOWN_SECONDS": "20", "TELLESCOPE_TIMEOUT_SECONDS": "10"},
        )

    first = worker("first").start()
    # Every SMS send is held 3 s by the sandbox, then processed and answered normally.
    sandbox_http.set_faults(kinds=["slow"], paths=["/v1/sms-message"], timeoutSeconds=3)
    second = None
    try:
        handles = [
            await starter.enroll(client, enrollment(journey, e, 30), task_queue=task_queue)
            for e in endusers
        ]
        in_flight = await until(
            lambda: sandbox_http.faults()["injected"], timeout=30, what="a send in flight"
        )
        assert sandbox_http.outbox(journey.record_id) == []  # held, not yet processed
        stopping = time.monotonic()
        first.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(first.process.wait, 30)
        drained = sandbox_http.outbox(journey.record_id)
        took = time.monotonic() - stopping
        sandbox_http.clear_faults()
        assert code == 0, first.tail()
        assert "stopping: finishing running activities" in first.tail()
        # Every send in flight at SIGTERM finished (the sandbox answered after 3 s) before exit.
        assert len(drained) >= in_flight, (len(drained), in_flight)
        assert took >= 2, took  # it waited for them rather than dropping them
        second = worker("second").start()
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout=90)
    except BaseException:
        print(first.tail(), second.tail() if second else "")
        raise
    finally:
        sandbox_http.clear_faults()
        first.stop()
        if second:
            second.stop()

    assert {(r.outcome, r.finished, r.errors) for r in results} == {("completed", 1, 0)}
    expected = {(e, journey.tellescope_step("welcome"), "sms") for e in endusers}
    counted = count_messages(sandbox_http.outbox(journey.record_id), expected)
    reused = store.reused(journey.journey_id)
    report.add(
        Row(
            scenario="worker SIGTERM drain",
            enrollments=DRAIN_ENROLLMENTS,
            faults=1,
            fault_kinds="SIGTERM with sends in flight (sandbox slow 3 s)",
            messages=counted.sent,
            duplicates=counted.duplicates,
            lost=counted.lost,
            seconds=time.monotonic() - started,
            notes=f"{len(drained)} sends finished during the drain ({in_flight} in flight at"
            f" SIGTERM), {reused} redone",
        )
    )
    assert counted.duplicates == 0 and counted.lost == 0, counted.examples
    assert reused == 0  # no send was cut off and redone: the drain let them finish
