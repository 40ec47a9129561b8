"""Reliability suite: the engine under worker kills, a Temporal server restart, a
faulty Tellescope, webhook floods and fuzzing, each scenario reporting what it counted.

Every scenario adds one row to the report printed at the end of the pytest run (also without
`-s`, so `.ci/run` shows it): enrollments, faults injected, messages sent, duplicates, lost.
The randomness is seeded (`RELIABILITY_SEED`, printed with the report).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings
from tests.reliability.harness import BASE_SEED, Row, SandboxHttp, free_port

_ROWS: list[Row] = []


class Report:
    def add(self, row: Row) -> None:
        _ROWS.append(row)
        print("\n" + row.line())


@pytest.fixture(scope="session")
def report() -> Report:
    return Report()


def pytest_terminal_summary(terminalreporter) -> None:
    if not _ROWS:
        return
    terminalreporter.write_sep("=", f"reliability report (seed {BASE_SEED})")
    for row in _ROWS:
        terminalreporter.write_line(row.line())
    enrollments = sum(r.enrollments for r in _ROWS)
    faults = sum(r.faults for r in _ROWS)
    messages = sum(r.messages or 0 for r in _ROWS)
    duplicates = sum(r.duplicates or 0 for r in _ROWS)
    lost = sum(r.lost or 0 for r in _ROWS)
    seconds = sum(r.seconds for r in _ROWS)
    terminalreporter.write_line(
        f"total: enrollments={enrollments} faults injected={faults} messages sent={messages}"
        f" duplicates={duplicates} lost={lost} [{seconds:.0f} s]"
    )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[SandboxServer]:
    """A fresh sandbox per scenario module (its tables stay small and its counts its own)."""
    settings = SandboxSettings(
        port=free_port(),
        db=tmp_path_factory.mktemp("reliability-sandbox") / "sandbox.db",
        webhook_timeout_seconds=3.0,
        fault_timeout_seconds=3.0,
        max_page_size=1000,
        log_level="warning",
    )
    with SandboxServer(settings) as running:
        yield running


@pytest.fixture(scope="module")
def sandbox_http(sandbox: SandboxServer) -> Iterator[SandboxHttp]:
    client = SandboxHttp(sandbox.base_url)
    yield client
    client.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator:
    """One Temporal dev server (in memory) for the scenarios that need a real server but no
    restart; each scenario has its own task queue."""
    from tests.temporal_env import start_dev_server

    environment = await start_dev_server()
    yield environment
    await environment.shutdown()
