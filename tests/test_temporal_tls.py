"""Connecting to Temporal over TLS, for real: a Temporal dev server behind nginx terminating TLS
(tests/tls_proxy.py), one proxy requiring a client certificate (mTLS), one an API key.

- The worker (`python worker.py`, configured only through Temporal's TEMPORAL_* variables) and a
  client from `connect_temporal` run a journey through each proxy: the welcome SMS reaches the
  sandbox's outbox.
- The API's /health/ready answers "connected" through the mTLS proxy.
- A wrong configuration (a client certificate from another CA, an untrusted server certificate,
  a missing key file, a wrong or missing API key) is one line, without a traceback, from the
  worker, from `journeys deploy` (which syncs trigger schedules) and in /health/ready's info.

nginx comes from scripts/install-test-tools.sh; without it the module is skipped, except in CI
(CI set) where it fails.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from models.runtime import EnrollmentInput
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings
from settings import ApiSettings, EngineSettings
from temporal_connection import TEMPORAL_ENVIRONMENT, TemporalConnectionError, connect_temporal
from tests.reliability.harness import (
    DR_RIVERA,
    ROOT,
    WELCOME_SMS,
    DevServerProcess,
    EngineStore,
    SandboxHttp,
    WorkerProcess,
    free_port,
)
from tests.tls_proxy import Certificates, GrpcProxy, make_certificates, require_nginx
from workflows import starter

API_KEY = "journeys-test-api-key"
JOURNEY = f"""
journey:
  id: tls-welcome
  title: TLS welcome
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
"""
TEMPORAL_VARIABLES = TEMPORAL_ENVIRONMENT


@dataclass
class Stack:
    certificates: Certificates
    dev: DevServerProcess
    mtls: GrpcProxy  # requires a client certificate signed by ca.pem
    keyed: GrpcProxy  # requires `authorization: Bearer API_KEY` (TLS, no client certificate)
    sandbox: SandboxServer
    sandbox_http: SandboxHttp
    folder: Path
    # An empty Temporal config file: no developer's ~/.config/temporalio/temporal.toml applies.
    config_file: Path

    def mtls_env(self, **changes: str) -> dict[str, str]:
        certificates = self.certificates
        return {
            "TEMPORAL_ADDRESS": self.mtls.address,
            "TEMPORAL_CONFIG_FILE": str(self.config_file),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": certificates.path("ca.pem"),
            "TEMPORAL_TLS_CLIENT_CERT_PATH": certificates.path("client.pem"),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": certificates.path("client.key"),
            **changes,
        }

    def api_key_env(self, **changes: str) -> dict[str, str]:
        return {
            "TEMPORAL_ADDRESS": self.keyed.address,
            "TEMPORAL_CONFIG_FILE": str(self.config_file),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": self.certificates.path("ca.pem"),
            "TEMPORAL_API_KEY": API_KEY,
            **changes,
        }


def environment(temporal: dict[str, str]) -> dict[str, str]:
    """This process's environment without any TEMPORAL_* variable, plus `temporal`."""
    inherited = {k: v for k, v in os.environ.items() if k not in TEMPORAL_VARIABLES}
    return {**inherited, **temporal}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    require_nginx()
    folder = tmp_path_factory.mktemp("temporal-tls")
    certificates = make_certificates(folder / "certificates")
    config_file = folder / "temporal.toml"
    config_file.write_text("")
    dev = DevServerProcess(folder)
    dev.start()
    mtls = GrpcProxy(
        folder / "nginx-mtls",
        upstream=dev.address,
        certificates=certificates,
        client_ca=certificates.path("ca.pem"),
    )
    keyed = GrpcProxy(
        folder / "nginx-api-key", upstream=dev.address, certificates=certificates, api_key=API_KEY
    )
    sandbox = SandboxServer(
        SandboxSettings(port=free_port(), db=folder / "sandbox.db", log_level="warning")
    )
    try:
        mtls.start()
        keyed.start()
        sandbox.start()
        sandbox_http = SandboxHttp(sandbox.base_url)
        yield Stack(certificates, dev, mtls, keyed, sandbox, sandbox_http, folder, config_file)
        sandbox_http.close()
    finally:
        sandbox.stop()
        keyed.stop()
        mtls.stop()
        dev.stop()


@pytest.fixture
def temporal_env(monkeypatch: pytest.MonkeyPatch):
    """Set this process's TEMPORAL_* variables (connect_temporal reads them) to exactly these."""

    def apply(variables: dict[str, str]) -> EngineSettings:
        for name in TEMPORAL_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return EngineSettings(_env_file=None)

    return apply


async def run_welcome_journey(stack: Stack, settings: EngineSettings, worker_env: dict[str, str]):
    """Deploy the one-step journey, start `python worker.py` with `worker_env`, enroll one
    patient through a `connect_temporal` client and wait for the journey to finish; returns
    the sandbox outbox entries of the journey."""
    name = worker_env["TEMPORAL_ADDRESS"].replace(":", "-")
    store = EngineStore(stack.folder / f"store-{name}")
    journey = store.deploy(JOURNEY, stack.sandbox_http)
    (enduser,) = stack.sandbox_http.create_endusers(1, tag=name)
    task_queue = f"tls-{name}"
    worker = WorkerProcess(
        temporal_address=worker_env["TEMPORAL_ADDRESS"],
        task_queue=task_queue,
        database_url=store.url,
        tellescope_url=stack.sandbox.base_url,
        log=stack.folder / f"worker-{name}.log",
        extra_env=worker_env,
    )
    worker.environment = {  # Temporal configured only by worker_env
        k: v
        for k, v in worker.environment.items()
        if k not in TEMPORAL_VARIABLES or k in worker_env
    }
    worker.start()
    try:
        client = await connect_temporal(settings, timeout=10)
        handle = await starter.enroll(
            client,
            EnrollmentInput(
                journeyId=journey.journey_id,
                planVersion=journey.version,
                enduserId=enduser,
                tellescopeJourneyId=journey.record_id,
            ),
            task_queue=task_queue,
        )
        await asyncio.wait_for(handle.result(), timeout=60)  # the journey finished
        return stack.sandbox_http.outbox(journey.record_id)
    except BaseException:
        print(worker.tail())
        raise
    finally:
        worker.stop()


async def test_worker_and_client_run_a_journey_over_mtls(stack: Stack, temporal_env) -> None:
    env = stack.mtls_env()
    settings = temporal_env(env)
    outbox = await run_welcome_journey(stack, settings, env)
    assert [(e["channel"], e["enduserId"] is not None) for e in outbox] == [("sms", True)]
    assert "Welcome to Riverside" in str(outbox[0])
    access = (stack.mtls.folder / "access.log").read_text()
    assert "/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue" in access


async def test_worker_and_client_run_a_journey_with_an_api_key(stack: Stack, temporal_env) -> None:
    env = stack.api_key_env()
    settings = temporal_env(env)
    outbox = await run_welcome_journey(stack, settings, env)
    assert [e["channel"] for e in outbox] == ["sms"]
    access = (stack.keyed.folder / "access.log").read_text()
    assert "/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue" in access


async def test_the_api_key_proxy_refuses_a_client_without_the_key(
    stack: Stack, temporal_env
) -> None:
    env = stack.api_key_env()
    del env["TEMPORAL_API_KEY"]
    settings = temporal_env(env | {"TEMPORAL_TLS": "true"})
    with pytest.raises(TemporalConnectionError) as refused:
        await connect_temporal(settings, timeout=10)
    message = str(refused.value)
    assert message.startswith(f"cannot connect to Temporal at {stack.keyed.address}")
    assert "missing or invalid API key" in message
    assert "\n" not in message


# --- wrong configurations: one line, no traceback ----------------------------------------------

WRONG = {
    "client certificate from another CA": (
        "mtls",
        {"TEMPORAL_TLS_CLIENT_CERT_PATH": "rogue.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "rogue.key"},
        "client certificate missing or not trusted",
    ),
    "server certificate from an untrusted CA": (
        "mtls",
        {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "other-ca.pem"},
        "the server's TLS certificate is not trusted (UnknownIssuer",
    ),
    "missing key file": (
        "mtls",
        {"TEMPORAL_TLS_CLIENT_KEY_PATH": "no-such.key"},
        "cannot read",
    ),
    "wrong API key": (
        "keyed",
        {"TEMPORAL_API_KEY": "not-the-key"},
        "missing or invalid API key",
    ),
}


def wrong_env(stack: Stack, case: str) -> dict[str, str]:
    proxy, changes, _ = WRONG[case]
    paths = {
        k: (v if k == "TEMPORAL_API_KEY" else stack.certificates.path(v))
        for k, v in changes.items()
    }
    return stack.mtls_env(**paths) if proxy == "mtls" else stack.api_key_env(**paths)


def assert_one_line(output: str, expected: str) -> str:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if expected in line]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize("case", list(WRONG))
def test_a_wrong_configuration_is_one_line_from_the_worker(stack: Stack, case: str) -> None:
    store = EngineStore(stack.folder / f"wrong-worker-{case.replace(' ', '-')}")
    done = subprocess.run(
        [sys.executable, str(ROOT / "worker.py")],
        cwd=ROOT,
        env=environment(
            {
                **wrong_env(stack, case),
                "DATABASE_URL": store.url,
                "TASK_QUEUE": "tls-wrong",
                "TELLESCOPE_BASE_URL": stack.sandbox.base_url,
            }
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    line = assert_one_line(done.stderr, WRONG[case][2])
    assert line.startswith("error: "), line
    if WRONG[case][2] != "cannot read":
        assert "cannot connect to Temporal at 127.0.0.1:" in line


@pytest.mark.parametrize("case", list(WRONG))
def test_a_wrong_configuration_is_one_line_from_the_cli(stack: Stack, case: str) -> None:
    folder = stack.folder / f"wrong-cli-{case.replace(' ', '-')}"
    folder.mkdir()
    (folder / "journey.yaml").write_text(JOURNEY)
    done = subprocess.run(
        [sys.executable, "-m", "cli", "deploy", "--offline", str(folder / "journey.yaml")],
        cwd=ROOT,
        env=environment(
            {**wrong_env(stack, case), "DATABASE_URL": f"sqlite:///{folder}/journeys.db"}
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr  # deployed; schedules wait
    line = assert_one_line(done.stderr, WRONG[case][2])
    assert line.startswith("trigger schedules skipped: "), line


async def ready(stack: Stack, name: str) -> httpx.Response:
    from api.main import create_app

    url = f"sqlite:///{stack.folder}/api-{name}.db"
    app = create_app(
        ApiSettings(webhook_secret="w" * 32),
        engine_settings=EngineSettings(_env_file=None, database_url=url),
        tellescope=None,
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.test"
        ) as http:
            return await http.get("/health/ready")


async def test_the_api_is_ready_over_mtls(stack: Stack, temporal_env) -> None:
    temporal_env(stack.mtls_env())
    response = await ready(stack, "ok")
    assert response.status_code == 200, response.text
    assert response.json()["temporal"] == "connected"


@pytest.mark.parametrize("case", list(WRONG))
async def test_a_wrong_configuration_is_one_line_in_health_ready(
    stack: Stack, temporal_env, case: str
) -> None:
    temporal_env(wrong_env(stack, case))
    response = await ready(stack, case.replace(" ", "-"))
    assert response.status_code == 503, response.text
    info = response.json()["info"]
    assert info["failed"] == ["temporal"]
    assert WRONG[case][2] in info["temporal"]
    assert "\n" not in info["temporal"] and "Traceback" not in info["temporal"]


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_without_nginx_ci_fails_and_elsewhere_skips(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    import tests.tls_proxy as tls_proxy

    monkeypatch.setattr(tls_proxy.shutil, "which", lambda name: None)
    monkeypatch.setattr(tls_proxy.os, "access", lambda path, mode: False)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="nginx and openssl not installed"):
        require_nginx()
