from __future__ import annotations

import pytest

from tests.workflows.conftest import EXAMPLES

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_lab_results_runs_to_completion(runtime):
    runtime.deploy(EXAMPLES)
    async with runtime.worker():
        handle = await runtime.enroll("lab-results")
        result = await handle.result()
    print(result, runtime.steps_done())
    assert result.outcome == "completed"
