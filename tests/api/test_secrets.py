"""Secrets stay out of logs, files and the network: the access log redacts keys and tokens, the
dev stack's secret files are 0600, listeners bind loopback unless configured, and a missing or
too-short WEBHOOK_SECRET is one clear line (never a traceback)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.redaction import REDACTED, redact_url
from tests.api.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_redact_url_hides_secret_looking_parameters():
    assert redact_url("/journeys/x") == "/journeys/x"
    assert redact_url("/journeys/x?apiKey=jk_a.b&state=New") == (
        f"/journeys/x?apiKey={REDACTED}&state=New"
    )
    redacted = redact_url("/p?key=1&token=2&webhook_secret=3&api_key=4&accessToken=5&limit=6")
    assert redacted == (
        f"/p?key={REDACTED}&token={REDACTED}&webhook_secret={REDACTED}"
        f"&api_key={REDACTED}&accessToken={REDACTED}&limit=6"
    )


def api_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("WEBHOOK_SECRET", "API_HOST", "API_PORT")
    }
    closed = free_port()  # nothing listens there: Temporal is "down"
    environment.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'engine.db'}",
        TEMPORAL_ADDRESS=f"127.0.0.1:{closed}",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return environment


def test_a_too_short_webhook_secret_is_one_line_not_a_traceback(tmp_path):
    for command in (
        [sys.executable, "-m", "cli", "api", f"--port={free_port()}"],
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"],
        [sys.executable, "-m", "cli", "webhooks", "configure", "--url=http://127.0.0.1:1/x"],
    ):
        done = subprocess.run(
            command,
            cwd=tmp_path,
            env=api_environment(tmp_path, WEBHOOK_SECRET="short"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        output = done.stdout + done.stderr
        assert done.returncode != 0, output
        assert "Traceback" not in output, output
        assert "WEBHOOK_SECRET must be at least 16 characters long" in output, output
        assert "short" not in output.replace("too short", ""), output  # never the value


def test_journeys_api_with_an_empty_webhook_secret_warns_serves_and_logs_no_keys(tmp_path):
    port = free_port()
    log = tmp_path / "api.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "api", f"--port={port}", "--log-level=info"],
            cwd=tmp_path,
            env=api_environment(tmp_path, WEBHOOK_SECRET=""),  # as docker/.env.example ships it
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        secret = "jk_someid.this-is-the-secret-part"
        httpx.get(f"{base}/journeys/onboarding?apiKey={secret}&state=New", timeout=5)
        httpx.get(f"{base}/journeys/onboarding?token=signed-link-token", timeout=5)
        # Temporal is down (a closed port): readiness says so, liveness does not care
        ready = httpx.get(f"{base}/health/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["info"]["failed"] == ["temporal"]
        assert int(ready.headers["Retry-After"]) > 0
        webhook = httpx.post(
            f"{base}/v1/webhooks/tellescope",
            json={"records": [], "timestamp": "1", "integrity": "x"},
            timeout=5,
        )
        assert webhook.status_code in (401, 422), webhook.text
        time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(15)
    output = log.read_text()
    assert "Traceback" not in output, output
    assert "WEBHOOK_SECRET is not set" in output, output
    assert f"Uvicorn running on http://127.0.0.1:{port}" in output, output  # loopback default
    assert "GET /journeys/onboarding?apiKey=[REDACTED]&state=New" in output, output
    assert "token=[REDACTED]" in output and "signed-link-token" not in output, output
    assert secret not in output and "this-is-the-secret-part" not in output, output


def test_dev_stack_secret_files_are_owner_only(tmp_path):
    from devstack.dev import DevOptions, DevStack, write_secret

    stack = DevStack(DevOptions(data_dir=tmp_path))
    value = stack.secret("webhook-secret")
    path = tmp_path / "webhook-secret"
    assert len(value) >= 16 and stat.S_IMODE(path.stat().st_mode) == 0o600
    # a file an earlier version left world-readable is tightened, its value kept
    path.chmod(0o644)
    assert stack.secret("webhook-secret") == value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    key = tmp_path / "api-key"
    write_secret(key, "jk_a.b")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key.chmod(0o644)
    assert stack.api_key({}) == "jk_a.b"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_listeners_default_to_loopback(monkeypatch):
    from sandbox.settings import SandboxSettings
    from settings import ApiSettings, EngineSettings
    from worker import metrics_bind_address

    for name in ("API_HOST", "METRICS_HOST", "SANDBOX_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert ApiSettings(_env_file=None).api_host == "127.0.0.1"
    assert SandboxSettings().host == "127.0.0.1"
    engine = EngineSettings(_env_file=None, metrics_port=9464)
    assert metrics_bind_address(engine) == "127.0.0.1:9464"
    configured = EngineSettings(_env_file=None, metrics_port=9464, metrics_host="0.0.0.0")
    assert metrics_bind_address(configured) == "0.0.0.0:9464"
    ipv6 = EngineSettings(_env_file=None, metrics_port=9464, metrics_host="::1")
    assert metrics_bind_address(ipv6) == "[::1]:9464"


def outward_address() -> str | None:
    """This machine's address on its default route (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_worker_metrics_listen_on_loopback_only():
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    from settings import EngineSettings
    from worker import metrics_bind_address

    port = free_port()
    settings = EngineSettings(_env_file=None, metrics_port=port)
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=metrics_bind_address(settings))
        )
    )
    assert runtime is not None
    deadline = time.monotonic() + 10
    while True:
        try:
            assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 200
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    outward = outward_address()
    if outward is None:
        pytest.skip("no non-loopback address to probe")
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex((outward, port)) != 0, f"metrics reachable on {outward}"
