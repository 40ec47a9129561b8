"""Fixtures for the trigger engine: a real sandbox whose record webhooks go to a receiver in the
test (so intake tests run on payloads Tellescope-the-sandbox really sent), the engine's store,
and a Temporal worker with the real workflows and the real activities talking to the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import socket
import textwrap
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client, Interceptor, OutboundInterceptor
from temporalio.worker import Worker

from activities.engine import engine_activities
from activities.join_first import JoinFirst
from activities.tellescope_activities import TellescopeActivities
from compiler import compile_paths
from models.runtime import EnrollmentInput
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings
from settings import TellescopeSettings
from store.db import create_tables, get_engine
from store.ledger import Ledger
from store.plans import PlanStore
from store.trigger_decisions import TriggerDecisions
from tellescope.client import TellescopeClient
from tests.temporal_env import start_time_skipping
from triggers.actions import TriggerActivities
from triggers.dispatch import TriggerDeps
from triggers.models import FiringResult
from worker import WORKFLOWS
from workflows import starter

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "sandbox-dev-key"
WEBHOOK_SECRET = "trigger-tests-secret-0123456789"
ORGANIZATION = """
organization:
  name: Trigger test clinic
  timezone: America/New_York
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- sandbox and webhook capture ----------------------------------------------------------------


class Receiver:
    """Stands in for the engine's webhook endpoint: records every body the sandbox POSTs."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._lock:
                    receiver.bodies.append(json.loads(raw) if raw else {})
                    receiver._lock.notify_all()
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/webhooks/tellescope"
        threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def mark(self) -> int:
        with self._lock:
            return len(self.bodies)

    def since(self, mark: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.bodies[mark:])

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    db = tmp_path_factory.mktemp("trigger-sandbox") / "sandbox.db"
    settings = SandboxSettings(port=free_port(), db=db, webhook_timeout_seconds=3.0)
    with SandboxServer(settings) as running:
        yield running


@pytest.fixture(scope="session")
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"API_KEY {DEV_KEY}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture(scope="session")
def helpers(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, timeout=20) as client:
        yield client


@pytest.fixture(scope="session")
def receiver(api: httpx.Client) -> Iterator[Receiver]:
    """The organisation's webhook URL for the whole session (default subscriptions)."""
    receiver = Receiver()
    response = api.post(
        "/v1/configure-webhooks", json={"url": receiver.url, "secret": WEBHOOK_SECRET}
    )
    assert response.status_code == 200, response.text
    yield receiver
    receiver.close()


class Hooks:
    """Capture what the sandbox delivers while a block of writes runs."""

    def __init__(self, receiver: Receiver, helpers: httpx.Client) -> None:
        self.receiver = receiver
        self.helpers = helpers
        self._mark = receiver.mark()

    def start(self) -> None:
        self.flush()
        self._mark = self.receiver.mark()

    def flush(self) -> None:
        response = self.helpers.post("/sandbox/webhooks/flush")
        assert response.status_code == 200, response.text

    def take(self) -> list[dict[str, Any]]:
        """Everything delivered since `start` (or the last `take`), once all were attempted."""
        self.flush()
        bodies = self.receiver.since(self._mark)
        self._mark += len(bodies)
        return bodies

    def about(
        self, bodies: list[dict[str, Any]], record_id: str, model: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            b
            for b in bodies
            if (model is None or b.get("model") == model)
            and any(r.get("id") == record_id for r in b.get("records") or [])
        ]


@pytest.fixture
def hooks(receiver: Receiver, helpers: httpx.Client) -> Hooks:
    captured = Hooks(receiver, helpers)
    captured.start()
    return captured


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def make_enduser(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(**fields: Any) -> dict[str, Any]:
        body = {
            "fname": "Pat",
            "lname": "Lopez",
            "email": f"p-{uuid.uuid4().hex[:12]}@example.com",
            "phone": "+15555550123",
        }
        body.update(fields)
        return ok(api.post("/v1/enduser", json=body))

    return make


# --- the engine ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env():
    """A time-skipping server of our own: workflows other suites leave running on the shared one
    (with nobody polling their task queues) would stop its clock from skipping for our tests."""
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def tellescope(sandbox: SandboxServer) -> AsyncIterator[TellescopeClient]:
    client = TellescopeClient.from_settings(
        TellescopeSettings(base_url=sandbox.base_url, api_key=DEV_KEY, timeout_seconds=5.0)
    )
    yield client
    await client.aclose()


class StartedWorkflows(Interceptor):
    """Records the id of every workflow a client starts, so a test can terminate what it left
    behind: on the time-skipping server a workflow task nobody will ever poll (its test's
    worker is gone) stops time skipping for every later test."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        recorder = self

        class Recording(OutboundInterceptor):
            async def start_workflow(self, input):
                recorder.ids.append(input.id)
                return await super().start_workflow(input)

        return Recording(next)


class Engine:
    """A store, a task queue, the trigger deps and a worker with everything real."""

    def __init__(self, env, folder: Path, tellescope: TellescopeClient, api: httpx.Client) -> None:
        self.env = env
        self.started = StartedWorkflows()
        self.client = Client(**{**env.client.config(), "interceptors": [self.started]})
        self.api = api
        self.folder = folder
        engine = get_engine(f"sqlite:///{folder}/journeys.db")
        create_tables(engine)
        self.plans = PlanStore(engine)
        self.ledger = Ledger(engine)
        self.decisions = TriggerDecisions(engine)
        self.task_queue = f"tq-{uuid.uuid4()}"
        self.tellescope = tellescope
        self.deps = TriggerDeps(
            client=self.client,
            plans=self.plans,
            ledger=self.ledger,
            task_queue=self.task_queue,
            tellescope=tellescope,
            decisions=self.decisions,
        )
        self.journey_records: dict[str, str] = {}  # readable journey id -> sandbox journey id

    def deploy(self, text: str, name: str = "journey"):
        """Compile one journey YAML (plus the organisation) and deploy it, mapped to a fresh
        journey record in the sandbox (enduser.journeys keys must be real journey ids)."""
        folder = self.folder / f"src-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        (folder / "organization.yaml").write_text(textwrap.dedent(ORGANIZATION).lstrip())
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip())
        result = compile_paths([folder])
        for plan in result.plans:
            record = self.journey_records.get(plan.journeyId)
            if record is None:
                title = f"{plan.journeyId} {uuid.uuid4().hex[:8]}"
                record = ok(self.api.post("/v1/journey", json={"title": title}))["id"]
                self.journey_records[plan.journeyId] = record
            self.plans.save(plan, tellescope_journey_id=record)
        return result

    @asynccontextmanager
    async def worker(self):
        acts = TellescopeActivities(self.tellescope)
        with ThreadPoolExecutor(max_workers=8) as executor:
            async with Worker(
                self.client,
                task_queue=self.task_queue,
                workflows=WORKFLOWS,
                activities=[
                    *acts.all(),
                    *engine_activities(
                        self.client,
                        self.plans,
                        self.ledger,
                        self.task_queue,
                        join_journey=acts.set_journey_state,
                    ),
                    *TriggerActivities(self.deps).all(),
                ],
                activity_executor=executor,
                # the first step's activity carries the journey's join (docs/decisions.md D41)
                interceptors=[JoinFirst(self.ledger, acts.write_membership)],
                workflow_failure_exception_types=[Exception],
            ):
                yield

    async def enroll(self, journey_id: str, enduser_id: str):
        row = self.plans.current(journey_id)
        inp = EnrollmentInput(
            journeyId=journey_id,
            planVersion=row.version,
            enduserId=enduser_id,
            tellescopeJourneyId=row.tellescope_journey_id,
        )
        return await starter.enroll(self.client, inp, task_queue=self.task_queue)

    async def result(self, workflow_id: str) -> FiringResult:
        handle = self.client.get_workflow_handle(workflow_id, result_type=FiringResult)
        return await handle.result()

    def enduser(self, enduser_id: str) -> dict[str, Any]:
        return ok(self.api.get(f"/v1/enduser/{enduser_id}"))

    async def close(self) -> None:
        """Terminate every workflow this test started, and the throttle gates its firings took
        (children, started by the firing workflows)."""
        ids = list(dict.fromkeys(self.started.ids))
        for workflow_id in list(ids):
            parts = workflow_id.split(":")
            if parts[0] == "trigger" and len(parts) >= 3:
                ids.append(f"trigger-throttle:{parts[1]}:{parts[2]}")
        for workflow_id in dict.fromkeys(ids):
            try:
                await self.client.get_workflow_handle(workflow_id).terminate("test finished")
            except Exception:  # already closed, or never started
                pass


@pytest_asyncio.fixture(loop_scope="session")
async def engine(env, tmp_path, tellescope, api, receiver) -> AsyncIterator[Engine]:
    engine = Engine(env, tmp_path, tellescope, api)
    yield engine
    await engine.close()


async def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05):
    """Poll `check` (sync or async) until it returns something truthy; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


def now_utc() -> datetime:
    return datetime.now(UTC)
