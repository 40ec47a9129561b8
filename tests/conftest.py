"""Shared fixtures: one time-skipping Temporal test server for the runtime tests.

tests/workflows and tests/e2e, which skip virtual time by days and weeks, start one per test
(their conftest.py overrides `env`; a start costs about 0.1 s):
- enrollments that other tests leave waiting would otherwise all wake up with every skip, and a
  long suite slows the server until the tests waiting on it time out in cascade;
- the test server never releases the hold on its clock that a scheduled activity or workflow
  task takes when the run is terminated before the task ends (Temporal's Java test server,
  TestWorkflowMutableStateImpl). A test that ends while a step's activity is in flight and then
  terminates its enrollment would freeze virtual time for every later test on that server: their
  timers never fire (seen in CI as five 300 s timeouts in one module)."""

from __future__ import annotations

import pytest_asyncio

from tests.temporal_env import start_time_skipping


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env():
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()
