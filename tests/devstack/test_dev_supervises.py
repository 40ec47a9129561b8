"""`journeys dev` supervises its children: kill -9 the worker, then the API, and the
stack says so, starts them again and keeps serving: a patient enrolled afterwards gets their
welcome SMS. Every port is pinned, Temporal's HTTP API and metrics ports included."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx
import pytest

from tests.devstack.test_dev import Dev, demo_messages, free_ports, until

SANDBOX_KEY = "sandbox-dev-key"
PORTS = ("temporal", "ui", "temporal-http", "temporal-metrics", "api", "sandbox", "metrics")


@pytest.fixture
def ports() -> dict[str, int]:
    return dict(zip(PORTS, free_ports(len(PORTS)), strict=True))


def child_pid(parent: int, marker: bytes) -> int | None:
    """The child of `parent` whose command line contains `marker` (from /proc)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and marker in command:
            return int(pid)
    return None


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_dev_restarts_a_killed_worker_and_api_and_keeps_serving(tmp_path, ports):
    data = tmp_path / "data"
    dev = Dev(data, ports)
    api = f"http://127.0.0.1:{ports['api']}"
    sandbox = f"http://127.0.0.1:{ports['sandbox']}"
    try:
        dev.wait_for_banner()
        # Every pinned port is where it was asked to be.
        temporal_http = f"http://127.0.0.1:{ports['temporal-http']}/api/v1/namespaces"
        assert until(lambda: healthy(temporal_http), 30, "Temporal's HTTP API")
        temporal_metrics = f"http://127.0.0.1:{ports['temporal-metrics']}/metrics"
        assert until(lambda: healthy(temporal_metrics), 30, "Temporal's metrics")
        assert until(lambda: healthy(f"http://127.0.0.1:{ports['metrics']}/metrics"), 30, "m")

        worker = child_pid(dev.process.pid, b"worker.py")
        assert worker, "no worker child"
        os.kill(worker, signal.SIGKILL)
        until(
            lambda: "worker exited with signal SIGKILL; restarting it in" in dev.output(),
            15,
            "the restart line",
        )
        restarted = until(
            lambda: (pid := child_pid(dev.process.pid, b"worker.py")) not in (None, worker) and pid,
            30,
            "a new worker",
        )
        until(lambda: dev.output().count("worker polling") >= 2, 60, "the new worker polling")

        api_pid = child_pid(dev.process.pid, b"cli\x00api\x00")
        assert api_pid, "no API child"
        os.kill(api_pid, signal.SIGKILL)
        until(
            lambda: "api exited with signal SIGKILL; restarting it in" in dev.output(),
            15,
            "api restart",
        )
        until(lambda: healthy(f"{api}/health"), 60, "the restarted API")
        assert dev.process.poll() is None, dev.output()[-3000:]

        # The stack still serves: a patient enrolled now gets their welcome SMS.
        key = (data / "api-key").read_text().strip()
        auth = {"Authorization": f"API_KEY {SANDBOX_KEY}"}
        enduser = httpx.post(
            f"{sandbox}/v1/enduser",
            headers=auth,
            json={"fname": "Sam", "lname": "Later", "phone": "+15555550199", "phoneConsent": True},
            timeout=15,
        ).json()
        response = httpx.post(
            f"{api}/v1/journeys/onboarding/enrollments",
            headers={"Authorization": f"API_KEY {key}"},
            json={"enduserId": enduser["id"], "restart": False, "source": "test"},
            timeout=30,
        )
        assert response.status_code < 400, response.text
        (welcome,) = until(lambda: demo_messages(sandbox, enduser["id"]), 60, "the welcome SMS")
        assert "Sam" in str(welcome)
        assert child_pid(dev.process.pid, b"worker.py") == restarted
    finally:
        code = dev.interrupt()
    output = dev.output()
    assert code == 0, output[-3000:]
    assert "stopping" in output and len(re.findall(r"restarting it in", output)) == 2
