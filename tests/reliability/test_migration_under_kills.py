"""A migration of running enrollments while the worker is killed -9 in the middle of its
batches (docs/live-change.md §3, docs/decisions.md D29).

Real parts: a Temporal dev server, `python worker.py` as a subprocess, the sandbox over HTTP, the
store on SQLite. Enrollments are parked on a timer and on a trigger wait when the migration
starts; the worker is killed while a batch is being signalled and confirmed, so that run ends
with some enrollments unconfirmed (`pending`: signalled, no answer) or `failed` (no worker to
ask). A new worker starts and the same migration is run again by its id (resumable): every
enrollment ends on the new version, once, with one audit row, and nothing that ran re-runs.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from compiler import compile_texts
from models.runtime import EnrollmentInput, enrollment_workflow_id
from services import migration
from services.enrollments import query_status
from store.migration_audit import MigrationAudit
from tests.reliability.harness import (
    DR_RIVERA,
    WELCOME_SMS,
    EngineStore,
    WorkerProcess,
    count_messages,
    until,
)
from workflows import starter

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENROLLMENTS = 16
BATCH = 6
JOURNEY = """
journey: {{id: rel-migrate, title: Reliability migrate}}
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{sender}", templateId: "{template}"}}}}
  - id: check-in
    events: [{{type: afterAction, info: {{automationStepId: welcome, delay: 5, unit: Days}}}}]
    action: {{type: addEnduserTags, info: {{tags: [checked-{version}]}}}}
  - id: after-labs
    events: [{{type: waitForTrigger, info: {{automationStepId: welcome, triggerId: labs-in}}}}]
    action: {{type: addEnduserTags, info: {{tags: [labs-{version}]}}}}
triggers:
  - id: labs-in
    title: Labs in
    status: Active
    journeyId: rel-migrate
    event: {{type: Field Equals, info: {{field: labStatus, value: Received}}}}
    action: {{type: Move To Step, info: {{}}}}
"""


def journey(version: str) -> str:
    return JOURNEY.format(sender=DR_RIVERA, template=WELCOME_SMS, version=version)


async def test_a_migration_survives_a_worker_kill_in_the_middle_of_a_batch(
    dev_env, sandbox, sandbox_http, tmp_path
):
    store = EngineStore(tmp_path / "store")
    v1 = store.deploy(journey("v1"), sandbox_http)
    endusers = sandbox_http.create_endusers(ENROLLMENTS, tag="migrate")
    client = dev_env.client
    task_queue = "rel-migrate"
    worker = WorkerProcess(
        temporal_address=client.service_client.config.target_host,
        task_queue=task_queue,
        database_url=store.url,
        tellescope_url=sandbox.base_url,
        log=tmp_path / "worker.log",
    ).start()
    audit = MigrationAudit(store.plans.engine)
    try:
        for enduser_id in endusers:
            await starter.enroll(
                client,
                EnrollmentInput(
                    journeyId=v1.journey_id,
                    planVersion=v1.version,
                    enduserId=enduser_id,
                    tellescopeJourneyId=v1.record_id,
                ),
                task_queue=task_queue,
            )

        def parked() -> bool:
            rows = store.ledger.list(journey_id=v1.journey_id, status="active", limit=1000)
            waiting = {(r.enduser_id, r.automation_step_id) for r in rows}
            return len(waiting) == 2 * ENROLLMENTS  # check-in's timer and the trigger wait

        await until(parked, timeout=120, what="every enrollment parked on a timer and a trigger")
        (plan,) = compile_texts([("rel-migrate.yaml", journey("v2"))]).plans
        v2, _ = store.plans.save(plan, tellescope_journey_id=v1.record_id)

        # Kill the worker once the second batch has begun: some of its enrollments are then
        # signalled but unconfirmed, the rest cannot be asked.
        async def kill_mid_batch() -> None:
            await until(
                lambda: len(audit.rows(first_id)) > BATCH, timeout=120, what="batch 2 begun"
            )
            worker.kill()

        first_id = migration.new_migration_id()

        async def migrate(**extra):  # the first run, then the same migration resumed
            return await migration.apply_migration(
                client,
                store.plans,
                store.ledger,
                audit,
                v1.journey_id,
                v2.version,
                {},
                "cancel",
                by="ops",
                migration_id=first_id,
                batch_size=BATCH,
                **extra,
            )

        killer = asyncio.create_task(kill_mid_batch())
        first = await migrate(wait=timedelta(seconds=3))
        await killer
        unfinished = sorted(first.pending + first.failed)
        assert unfinished, f"the kill left nothing unconfirmed: {first}"
        assert sorted(first.migrated + unfinished) == sorted(endusers)

        worker.start()
        second = await migrate()
        assert sorted(second.migrated) == sorted(endusers)  # the done ones are read back
        assert second.pending == second.failed == []

        rows = audit.rows(first_id)
        assert sorted(r.enduser_id for r in rows) == sorted(endusers)  # one row each
        assert {(r.from_version, r.to_version, r.outcome) for r in rows} == {
            (v1.version, v2.version, "migrated")
        }
        for enduser_id in endusers:
            status, _ = await query_status(
                client,
                enrollment_workflow_id(v1.journey_id, enduser_id),
                None,
                timedelta(seconds=10),
            )
            assert status is not None and status.planVersion == v2.version
            assert [m.migrationId for m in status.migrations] == [first_id]  # migrated once
            assert sorted(p.stepId for p in status.pending) == ["after-labs", "check-in"]
    except BaseException:
        print(worker.tail())
        raise
    finally:
        worker.stop()

    # Nothing that had run ran again: one welcome SMS per patient.
    expected = {(e, v1.tellescope_step("welcome"), "sms") for e in endusers}
    counted = count_messages(sandbox_http.outbox(v1.record_id), expected)
    assert (counted.sent, counted.duplicates, counted.lost) == (ENROLLMENTS, 0, 0)
