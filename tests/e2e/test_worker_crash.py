"""Kill -9 the worker process mid-journey, start a new one: the journey completes and every
message is sent exactly once (docs/architecture.md §4). The worker runs as a real subprocess
(`python worker.py`) configured only through its environment, as in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import DEV_KEY

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, stack, log: Path) -> None:
        target = stack.client.service_client.config.target_host
        environment = {
            **os.environ,
            "TEMPORAL_ADDRESS": target,
            "TASK_QUEUE": stack.task_queue,
            "DATABASE_URL": str(stack.plans.engine.url),
            "TELLESCOPE_BASE_URL": stack.sandbox.base_url,
            "TELLESCOPE_API_KEY": DEV_KEY,
            "TELLESCOPE_TIMEOUT_SECONDS": "3",
            "GRACEFUL_SHUTDOWN_SECONDS": "0",
            # A real Temporal server moves a dead worker's sticky tasks to the shared queue after
            # 10 s; the time-skipping test server never does, so these workers run without a
            # sticky cache (every task on the shared queue).
            "MAX_CACHED_WORKFLOWS": "0",
        }
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            cwd=ROOT,
            env=environment,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while b"worker polling" not in log.read_bytes():
            assert self.process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "worker did not start: " + log.read_text()
            time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def sms_count(stack, patient) -> int:
    return len(patient.sms())


def finished(stack, step: str) -> bool:
    return [row.status for row in stack.ledger_rows("onboarding", step)] == ["finished"]


async def advancing_until(stack, condition, log: Path, seconds: float = 90) -> None:
    """Move server time forward a second at a time until `condition` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        await stack.advance(timedelta(seconds=1))
        time.sleep(0.05)


async def test_killed_worker_mid_send_and_mid_wait_completes_exactly_once(stack, patient, tmp_path):
    log = tmp_path / "worker.log"
    await stack.start_at(weekday=1, hour=10)
    # The welcome SMS is stored by Tellescope but its answer hangs: the worker dies right there,
    # between the Tellescope call and the activity's completion.
    stack.api.put(
        "/sandbox/faults",
        json={
            "kinds": ["accept_then_hang"],
            "paths": ["/v1/sms-message"],
            "methods": ["POST"],
            "count": 1,
            "timeoutSeconds": 20,
        },
    )
    first = WorkerProcess(stack, log)
    # A short step timeout: the time-skipping server cannot skip time while the dead worker's
    # attempt is still "running", so the retry comes after this much real time.
    handle = await stack.enroll("onboarding", patient, stepTimeoutSeconds=5)
    deadline = time.monotonic() + 30
    while sms_count(stack, patient) == 0:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    first.kill()
    stack.api.delete("/sandbox/faults")

    second = WorkerProcess(stack, log)
    try:
        # The dead attempt times out (start-to-close) and is retried on the new worker, which
        # finds the stored SMS instead of sending another. (Queries would wait for the dead
        # worker's sticky queue, so progress is read from the ledger and the sandbox.)
        # Server time moves a second at a time: the dead attempt's 5 s timeout, the retry on
        # this worker, then the dead worker's sticky queue timing out (10 s) for the next task.
        await advancing_until(stack, lambda: finished(stack, "welcome-sms"), log)
        await stack.advance(timedelta(hours=1, minutes=5))
        await advancing_until(stack, lambda: finished(stack, "mark-intake-sent"), log)
    finally:
        second.kill()  # dies while the enrollment waits for the form

    third = WorkerProcess(stack, log)
    try:
        (form,) = patient.form_responses()
        await patient.submit_form(handle, form["id"])
        result = await handle.result()
    finally:
        third.kill()

    assert result.outcome == "completed" and result.state == "Intake complete"
    assert len(patient.sms()) == 1  # welcome, exactly once; no reminder
    assert len(patient.emails()) == 1  # the intake form, exactly once
    assert len(patient.form_responses()) == 1
    assert len(patient.tickets()) == 1  # the review ticket
    welcome = stack.ledger_rows("onboarding", "welcome-sms")
    assert [row.status for row in welcome] == ["finished"]
