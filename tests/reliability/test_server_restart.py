"""Stop and restart the Temporal dev server (SQLite file) while enrollments have timers pending:
every timer fires after the restart, none twice, and every journey completes.

The server is our own `temporal server start-dev --db-filename` process, stopped with SIGTERM
(an operator's restart) or killed with SIGKILL (a crash), and started again on the same port and
file. The worker (`python worker.py`) and the test's
client stay up and reconnect by themselves. Timers: `soon` falls due while the server is down,
`later` after it is back.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from models.runtime import EnrollmentInput
from tests.reliability.harness import (
    DR_RIVERA,
    THANK_YOU_EMAIL,
    WELCOME_SMS,
    DevServerProcess,
    EngineStore,
    Row,
    WorkerProcess,
    count_messages,
    until,
)
from workflows import starter

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENROLLMENTS = 100
DOWN_SECONDS = 8
REMINDER_SMS = "64f000000000000000000b02"
JOURNEY = f"""
journey:
  id: rel-restart
  title: Reliability server restart
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
  - id: soon
    events: [{{type: afterAction, info: {{automationStepId: welcome, delayInMS: 10000}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{REMINDER_SMS}"}}}}
  - id: later
    events: [{{type: afterAction, info: {{automationStepId: welcome, delayInMS: 40000}}}}]
    action: {{type: sendEmail, info: {{senderId: "{DR_RIVERA}", templateId: "{THANK_YOU_EMAIL}"}}}}
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
async def test_timers_pending_across_a_server_restart_fire_once(
    sandbox, sandbox_http, tmp_path, report, how
):
    started = time.monotonic()
    store = EngineStore(tmp_path / "store")
    journey = store.deploy(
        JOURNEY.replace("rel-restart", f"rel-restart-{how.lower()}"), sandbox_http
    )
    endusers = sandbox_http.create_endusers(ENROLLMENTS, tag="restart")
    server = DevServerProcess(tmp_path)
    server.start()
    worker = WorkerProcess(
        temporal_address=server.address,
        task_queue=f"rel-restart-{how.lower()}",
        database_url=store.url,
        tellescope_url=sandbox.base_url,
        log=tmp_path / "worker.log",
    )
    try:
        client = await server.client()
        worker.start()
        handles = await asyncio.gather(
            *(
                starter.enroll(
                    client,
                    EnrollmentInput(
                        journeyId=journey.journey_id,
                        planVersion=journey.version,
                        enduserId=enduser_id,
                        tellescopeJourneyId=journey.record_id,
                        stepTimeoutSeconds=30,
                    ),
                    task_queue=f"rel-restart-{how.lower()}",
                )
                for enduser_id in endusers
            )
        )

        def armed() -> int:
            """Enrollments whose `later` timer is scheduled (its AutomatedAction is written)."""
            statuses = store.step_statuses(journey.journey_id)
            return sum(n for (step, _), n in statuses.items() if step == "later")

        await until(lambda: armed() == ENROLLMENTS, timeout=120, what="every timer armed")
        server.stop() if how == "SIGTERM" else server.kill()
        stopped_at = time.monotonic()
        sent_before = {
            step: sum(
                1
                for e in sandbox_http.outbox(journey.record_id)
                if e["automationStepId"] == journey.tellescope_step(step)
            )
            for step in ("welcome", "soon", "later")
        }
        pending_at_stop = 2 * ENROLLMENTS - sent_before["soon"] - sent_before["later"]
        print(f"\nserver restart: stopped with {pending_at_stop} timers pending ({sent_before})")
        await asyncio.sleep(DOWN_SECONDS)
        assert worker.alive(), "the worker died while the server was down:\n" + worker.tail()
        server.start()
        print(f"server restart: back after {time.monotonic() - stopped_at:.1f} s")

        results = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), timeout=180
        )
        assert worker.alive(), worker.tail()
    except BaseException:
        print("worker log:\n" + worker.tail() + "\nserver log:\n" + server.tail())
        raise
    finally:
        worker.stop()
        server.stop()

    outcomes = {(r.outcome, r.finished, r.errors) for r in results}
    assert outcomes == {("completed", 3, 0)}, outcomes
    expected = set()
    for enduser_id in endusers:
        expected.add((enduser_id, journey.tellescope_step("welcome"), "sms"))
        expected.add((enduser_id, journey.tellescope_step("soon"), "sms"))
        expected.add((enduser_id, journey.tellescope_step("later"), "email"))
    counted = count_messages(sandbox_http.outbox(journey.record_id), expected)
    statuses = store.step_statuses(journey.journey_id)
    report.add(
        Row(
            scenario=f"server restart ({how})",
            enrollments=ENROLLMENTS,
            faults=server.starts - 1,
            fault_kinds=f"{how} and restart of the dev server, {DOWN_SECONDS} s down",
            messages=counted.sent,
            duplicates=counted.duplicates,
            lost=counted.lost,
            seconds=time.monotonic() - started,
            notes=f"{pending_at_stop} timers pending at the stop, all fired once after it",
        )
    )
    assert counted.duplicates == 0 and counted.lost == 0, counted.examples
    assert counted.sent == 3 * ENROLLMENTS
    # The `later` timers (40 s; arming all takes a few seconds) had not fired at the stop: they
    # all fired after it.
    assert sent_before["later"] == 0 and pending_at_stop >= ENROLLMENTS
    for step in ("welcome", "soon", "later"):
        assert statuses[(step, "finished")] == ENROLLMENTS, statuses
    assert sum(statuses.values()) == 3 * ENROLLMENTS, statuses
