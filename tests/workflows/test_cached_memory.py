"""What a cached, parked enrollment keeps in the worker's memory: its ledger rows are written and
let go, not held by the ledger writer while it waits (workflows/projection.py `_write_batch`;
BENCHMARKS.md, third session of 2026-12-07: they were most of what a cached workflow kept beyond
bare Temporal's)."""

from __future__ import annotations

import gc

import pytest

from tests.workflows.conftest import write_journey
from tests.workflows.test_forms import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

PARKED = """
journey: {id: parked-memory, title: Parked}
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [parked]}}
  - id: released
    events: [{type: waitForTrigger, info: {automationStepId: hello, triggerId: go}}]
    action: {type: addEnduserTags, info: {tags: [released]}}
triggers:
  - id: go
    title: Release
    status: Active
    journeyId: parked-memory
    event: {type: Tag Added, info: {tag: go}}
    action: {type: Move To Step, info: {}}
"""


def live_ledger_rows(workflow_id: str) -> int:
    """LedgerEntry objects alive in this process for the workflow (by class name: the test
    worker's sandbox may load its own copy of models.runtime)."""
    gc.collect()
    return sum(
        1
        for obj in gc.get_objects()
        if type(obj).__name__ == "LedgerEntry" and getattr(obj, "workflowId", None) == workflow_id
    )


async def test_a_parked_enrollment_keeps_no_ledger_rows(runtime, tmp_path):
    runtime.deploy(write_journey(tmp_path, PARKED))
    async with runtime.worker():
        handle = await runtime.enroll("parked-memory")

        def parked(_status) -> bool:
            rows = {row.automation_step_id: row.status for row in runtime.ledger_rows()}
            return rows == {"hello": "finished", "released": "active"}

        await wait_for(runtime, handle, parked)
        # The workflow is cached and waiting; its rows are in the ledger, not in memory.
        assert live_ledger_rows(handle.id) == 0
