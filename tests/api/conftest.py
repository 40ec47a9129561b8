"""API tests: the app over HTTP (httpx), Temporal with a real worker, Tellescope = the sandbox.

- `sandbox`: the local Tellescope (uvicorn thread, its own SQLite); the worker's activities and the
  API's enduser checks and journey records go to it over HTTP.
- `api`: an httpx client speaking HTTP to the app (ASGI transport, lifespan run), with an API key;
  the app uses the session's time-skipping test server (tests/conftest.py `env`) and a SQLite store
  of its own. `worker`: JourneyWorkflow and the real activities on that server.
- `live_api`: the same app served by uvicorn on a real port (schemathesis; the sandbox delivering
  webhooks to it).
- `dev`: a dev server (visibility list filters) with its own app, store and worker, started only
  by the tests that need it.
"""

from __future__ import annotations

import asyncio
import socket
import textwrap
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from temporalio.client import Client
from temporalio.worker import Worker

from activities.engine import engine_activities
from activities.join_first import JoinFirst
from activities.tellescope_activities import TellescopeActivities
from api.main import create_app
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings
from settings import ApiSettings, EngineSettings, TellescopeSettings
from store.api_keys import ApiKeys
from store.db import upgrade_database
from store.ledger import Ledger
from store.plans import PlanStore
from tellescope.client import TellescopeClient
from triggers.actions import TriggerActivities
from triggers.dispatch import TriggerDeps
from worker import WORKFLOWS

DEV_KEY = "sandbox-dev-key"
WEBHOOK_SECRET = "test-webhook-secret-0123456789"

ORGANIZATION = """
organization:
  name: API test clinic
  timezone: America/New_York
  officeHours:
    - {dayOfWeekStartingSundayIndexedByZero: 1, startTimeInMinutes: 540, endTimeInMinutes: 1020}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def journey_yaml(journey_id: str, title: str, *, remove_on_incoming: bool = False) -> str:
    """A two-step journey: `start` sets state Started at once, `later` sets Later 2 days after."""
    flag = '"Remove"' if remove_on_incoming else '""'
    return textwrap.dedent(
        f"""
        journey:
          id: {journey_id}
          title: {title}
          defaultState: New
          states:
            - {{name: New, priority: N/A}}
            - {{name: Started, priority: N/A}}
            - {{name: Later, priority: Engaged}}
          onIncomingEnduserCommunication: {flag}
        steps:
          - id: start
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: setEnduserStatus, info: {{status: Started}}}}
          - id: later
            events: [{{type: afterAction, info: {{automationStepId: start, delay: 2, unit: Days}}}}]
            action: {{type: setEnduserStatus, info: {{status: Later}}}}
          - id: side
            events: [{{type: afterAction, info: {{automationStepId: later, delay: 1, unit: Days}}}}]
            action: {{type: setEnduserStatus, info: {{status: Side}}}}
        """
    ).lstrip()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    db = tmp_path_factory.mktemp("api-sandbox") / "sandbox.db"
    settings = SandboxSettings(port=free_port(), db=db, webhook_timeout_seconds=5.0)
    with SandboxServer(settings) as running:
        yield running


@pytest.fixture(scope="session")
def sandbox_http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """Direct wire-protocol access to the sandbox for setup and assertions."""
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"API_KEY {DEV_KEY}"}, timeout=10
    ) as client:
        yield client


def new_enduser(sandbox_http: httpx.Client, **fields: Any) -> str:
    response = sandbox_http.post(
        "/v1/enduser", json={"fname": "Pat", "lname": uuid.uuid4().hex[:6], **fields}
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def enduser(sandbox_http: httpx.Client, enduser_id: str) -> dict[str, Any]:
    response = sandbox_http.get(f"/v1/enduser/{enduser_id}")
    assert response.status_code == 200, response.text
    return response.json()


def tellescope_settings(sandbox: SandboxServer) -> TellescopeSettings:
    return TellescopeSettings(base_url=sandbox.base_url, api_key=DEV_KEY, timeout_seconds=10)


@dataclass
class Harness:
    """One app with its store, HTTP client, worker and Tellescope."""

    http: httpx.AsyncClient
    key: str
    store_url: str
    plans: PlanStore
    ledger: Ledger
    client: Client
    task_queue: str
    tellescope: TellescopeClient
    sandbox_http: httpx.Client
    settings: ApiSettings
    engine_settings: EngineSettings
    journeys: dict[str, str] = field(default_factory=dict)  # journey id -> Tellescope record id

    async def deploy(self, files: dict[str, str], **extra: Any) -> dict[str, Any]:
        response = await self.http.post("/v1/deployments", json={"files": files, **extra})
        assert response.status_code == 200, response.text
        body = response.json()
        for journey in body["journeys"]:
            self.journeys[journey["journeyId"]] = journey["tellescopeJourneyId"]
        return body

    def new_enduser(self, **fields: Any) -> str:
        return new_enduser(self.sandbox_http, **fields)

    def enduser(self, enduser_id: str) -> dict[str, Any]:
        return enduser(self.sandbox_http, enduser_id)

    async def wait_for(self, predicate, what: str, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def journey_state(self, enduser_id: str, journey_id: str) -> str | None:
        return (self.enduser(enduser_id).get("journeys") or {}).get(self.journeys[journey_id])


@asynccontextmanager
async def harness(
    client: Client,
    tellescope: TellescopeClient,
    sandbox_http: httpx.Client,
    folder: Path,
    **settings_overrides: Any,
) -> AsyncIterator[Harness]:
    store_url = f"sqlite:///{folder}/engine.db"
    engine = upgrade_database(store_url)
    task_queue = f"api-{uuid.uuid4().hex[:8]}"
    engine_settings = EngineSettings(database_url=store_url, task_queue=task_queue)
    settings = ApiSettings(**{"webhook_secret": WEBHOOK_SECRET, **settings_overrides})
    app = create_app(
        settings, engine_settings=engine_settings, temporal=client, tellescope=tellescope
    )
    key, _ = ApiKeys(engine).create("tests")
    plans, ledger = PlanStore(engine), Ledger(engine)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://api.test",
            headers={"Authorization": f"API_KEY {key}"},
            timeout=30,
        ) as http:
            yield Harness(
                http=http,
                key=key,
                store_url=store_url,
                plans=plans,
                ledger=ledger,
                client=client,
                task_queue=task_queue,
                tellescope=tellescope,
                sandbox_http=sandbox_http,
                settings=settings,
                engine_settings=engine_settings,
            )


def trigger_activities(h: Harness) -> list:
    """The trigger engine's activities."""
    deps = TriggerDeps(
        client=h.client,
        plans=h.plans,
        ledger=h.ledger,
        task_queue=h.task_queue,
        tellescope=h.tellescope,
    )
    return list(TriggerActivities(deps).all())


@asynccontextmanager
async def worker_for(h: Harness) -> AsyncIterator[None]:
    acts = TellescopeActivities(h.tellescope)
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with Worker(
            h.client,
            task_queue=h.task_queue,
            workflows=WORKFLOWS,
            activities=[
                *acts.all(),
                *engine_activities(
                    h.client, h.plans, h.ledger, h.task_queue, join_journey=acts.set_journey_state
                ),
                *trigger_activities(h),
            ],
            activity_executor=executor,
            # the first step's activity carries the journey's join (docs/decisions.md D41)
            interceptors=[JoinFirst(h.ledger, acts.write_membership)],
            workflow_failure_exception_types=[Exception],
        ):
            yield


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def tellescope(sandbox: SandboxServer) -> AsyncIterator[TellescopeClient]:
    client = TellescopeClient.from_settings(tellescope_settings(sandbox))
    yield client
    await client.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api(env, tellescope, sandbox_http, tmp_path_factory) -> AsyncIterator[Harness]:
    """The app on the time-skipping server, with a worker polling its task queue."""
    async with harness(env.client, tellescope, sandbox_http, tmp_path_factory.mktemp("api")) as h:
        async with worker_for(h):
            yield h


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev(tellescope, sandbox_http, tmp_path_factory) -> AsyncIterator[Harness]:
    """A dev server (visibility works) with its own app, store and worker."""
    from tests.temporal_env import start_dev_server

    environment = await start_dev_server()
    try:
        async with harness(
            environment.client, tellescope, sandbox_http, tmp_path_factory.mktemp("dev")
        ) as h:
            async with worker_for(h):
                yield h
    finally:
        await environment.shutdown()


class LiveServer:
    """The app served by uvicorn from a background thread (its own event loop, Temporal client
    and TellescopeClient), on the same store as a Harness."""

    def __init__(self, app) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("live API did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve(h: Harness, temporal_address: str, sandbox: SandboxServer) -> LiveServer:
    engine_settings = h.engine_settings.model_copy(update={"temporal_address": temporal_address})
    app = create_app(
        h.settings,
        engine_settings=engine_settings,
        tellescope_settings=tellescope_settings(sandbox),
    )
    return LiveServer(app)


@pytest.fixture(scope="session")
def live_api(api: Harness, env, sandbox: SandboxServer) -> Iterator[LiveServer]:
    """The `api` app served on a real port (the time-skipping server behind it)."""
    with serve(api, env.client.service_client.config.target_host, sandbox) as server:
        yield server


@pytest.fixture(scope="session")
def live_dev(dev: Harness, sandbox: SandboxServer) -> Iterator[LiveServer]:
    """The `dev` app served on a real port (a dev server behind it: every Temporal API)."""
    with serve(dev, dev.client.service_client.config.target_host, sandbox) as server:
        yield server
