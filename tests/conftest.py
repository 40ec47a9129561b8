"""Session-wide fixtures: one time-skipping Temporal test server for every runtime test."""

from __future__ import annotations

import pytest_asyncio

from tests.temporal_env import start_time_skipping


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env():
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()
