"""Shared fixtures: one time-skipping Temporal test server per test folder.

Per folder, not per session: a folder's enrollments (some left waiting on timers days ahead)
must not be in the server while another folder skips time, or a long suite slows the server
until its timers, and the tests waiting on them, time out in cascade."""

from __future__ import annotations

import pytest_asyncio

from tests.temporal_env import start_time_skipping


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def env():
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()
