"""kill -9 the worker at random points while 500 enrollments run: every journey completes and
every message exists exactly once per enrollment in the sandbox.

Real parts throughout: a Temporal dev server, `python worker.py` as a subprocess (sticky cache
on, as in production), the activities talking HTTP to the sandbox, the store on SQLite. The kill
points are seeded fractions of the expected messages (so they fall while sends are under way,
whatever the machine's speed), each followed by a seeded pause before the next worker starts.
"""

from __future__ import annotations

import asyncio
import random
import time

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
    scenario_seed,
    until,
)
from workflows import starter

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENROLLMENTS = 500
KILLS = 3
JOURNEY = f"""
journey:
  id: rel-kill
  title: Reliability kill
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
  - id: follow-up
    events: [{{type: afterAction, info: {{automationStepId: welcome, delayInMS: 2000}}}}]
    action: {{type: sendEmail, info: {{senderId: "{DR_RIVERA}", templateId: "{THANK_YOU_EMAIL}"}}}}
"""


async def test_kill_9_the_worker_while_500_enrollments_run(
    dev_env, sandbox, sandbox_http, tmp_path, report
):
    started = time.monotonic()
    seed = scenario_seed("worker-kills")
    rng = random.Random(seed)
    print(f"\nworker kills: seed {seed}")
    store = EngineStore(tmp_path / "store")
    journey = store.deploy(JOURNEY, sandbox_http)
    endusers = sandbox_http.create_endusers(ENROLLMENTS, tag="kill")
    client = dev_env.client
    task_queue = f"rel-kill-{seed}"
    worker = WorkerProcess(
        temporal_address=client.service_client.config.target_host,
        task_queue=task_queue,
        database_url=store.url,
        tellescope_url=sandbox.base_url,
        log=tmp_path / "worker.log",
    ).start()

    expected_messages = 2 * ENROLLMENTS
    # Kill points: a seeded fraction of the expected messages in each of KILLS equal slices of
    # the first 60 % of the run (the dead worker's attempts time out while the rest runs).
    slices = [(0.05 + 0.55 * i / KILLS, 0.05 + 0.55 * (i + 1) / KILLS) for i in range(KILLS)]
    kill_at = [int(expected_messages * rng.uniform(low, high)) for low, high in slices]
    pauses = [round(rng.uniform(0.0, 2.0), 2) for _ in range(KILLS)]
    print(f"worker kills: kill at {kill_at} messages, restart after {pauses} s")

    semaphore = asyncio.Semaphore(50)

    async def enroll(enduser_id: str):
        async with semaphore:
            return await starter.enroll(
                client,
                EnrollmentInput(
                    journeyId=journey.journey_id,
                    planVersion=journey.version,
                    enduserId=enduser_id,
                    tellescopeJourneyId=journey.record_id,
                    # Above the client's 5 s request timeout, as the model asks; a dead
                    # worker's attempts are retried after this.
                    stepTimeoutSeconds=30,
                ),
                task_queue=task_queue,
            )

    baseline = sandbox_http.messages_sent()
    try:
        handles = await asyncio.gather(*(enroll(e) for e in endusers))
        kills = []
        for threshold, pause in zip(kill_at, pauses, strict=True):
            sent = await until(
                lambda t=threshold: (n := sandbox_http.messages_sent() - baseline) >= t and n,
                timeout=180,
                what=f"{threshold} messages before a kill",
                interval=0.05,
            )
            worker.kill()
            kills.append(sent)
            await asyncio.sleep(pause)
            worker.start()
        print(f"worker kills: killed at {kills} messages sent")

        results = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), timeout=240
        )
    except BaseException:
        print(worker.tail())
        raise
    finally:
        worker.stop()

    outcomes = {(r.outcome, r.finished, r.errors) for r in results}
    assert outcomes == {("completed", 2, 0)}, outcomes

    expected = set()
    for enduser_id in endusers:
        expected.add((enduser_id, journey.tellescope_step("welcome"), "sms"))
        expected.add((enduser_id, journey.tellescope_step("follow-up"), "email"))
    counted = count_messages(sandbox_http.outbox(journey.record_id), expected)
    statuses = store.step_statuses(journey.journey_id)
    reused = store.reused(journey.journey_id)
    report.add(
        Row(
            scenario="worker kill -9",
            enrollments=ENROLLMENTS,
            faults=len(kills),
            fault_kinds=f"kill -9 of the worker (restarted {worker.starts - 1} times)",
            messages=counted.sent,
            duplicates=counted.duplicates,
            lost=counted.lost,
            seconds=time.monotonic() - started,
            notes=f"killed at {kills} of {expected_messages} messages; {reused} sends found"
            " already made by a killed attempt",
        )
    )
    assert counted.duplicates == 0 and counted.lost == 0, counted.examples
    assert counted.sent == expected_messages
    for step in ("welcome", "follow-up"):
        assert statuses[(step, "finished")] == ENROLLMENTS, statuses
    assert sum(statuses.values()) == 2 * ENROLLMENTS, statuses
    assert len(kills) == KILLS and worker.starts == KILLS + 1
    # Some kills landed mid-send (Tellescope had the message, the activity had not completed):
    # the retry found the message instead of sending it again.
    assert reused > 0, "no kill landed mid-send: the test did not exercise idempotent sends"
