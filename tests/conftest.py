"""Shared fixtures: one time-skipping Temporal test server for the runtime tests.

tests/workflows and tests/e2e, which skip virtual time by days and weeks, start their own per
module (their conftest.py overrides `env`): enrollments that other folders leave waiting would
otherwise all wake up with every skip, and a long suite slows the server until the tests
waiting on it time out in cascade."""

from __future__ import annotations

import pytest_asyncio

from tests.temporal_env import start_time_skipping


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env():
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()
