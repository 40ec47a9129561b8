"""worker_health: the worker's /health for the compose healthcheck (and Kubernetes probes)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import worker_health
from worker_health import HEALTH_PORT_ENV, serve_health

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class FakeWorker:
    is_running: bool = True
    is_shutdown: bool = False


async def test_health_follows_the_worker():
    worker = FakeWorker()
    async with serve_health(worker, port=0, host="127.0.0.1") as port, httpx.AsyncClient() as http:
        url = f"http://127.0.0.1:{port}"
        ok = await http.get(f"{url}/health")
        assert (ok.status_code, ok.json()) == (200, {"status": "ok"})
        assert await asyncio.to_thread(worker_health.check, port)
        assert (await http.get(f"{url}/other")).status_code == 404
        worker.is_shutdown = True
        stopping = await http.get(f"{url}/health")
        assert (stopping.status_code, stopping.json()) == (503, {"status": "stopping"})
        assert not await asyncio.to_thread(worker_health.check, port)
        # the command the compose healthcheck runs
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "worker_health"],
            cwd=ROOT,
            env={HEALTH_PORT_ENV: str(port), "PATH": "/usr/bin:/bin"},
        )
        assert done.returncode == 1
        worker.is_shutdown = False
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "worker_health", str(port)], cwd=ROOT
        )
        assert done.returncode == 0
    assert not worker_health.check(port)  # closed with the block


async def test_off_without_a_port(monkeypatch):
    monkeypatch.delenv(HEALTH_PORT_ENV, raising=False)
    async with serve_health(FakeWorker()) as port:
        assert port is None
    assert worker_health.main([]) == 2
