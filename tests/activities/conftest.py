"""Fixtures: a real sandbox (uvicorn in a background thread, SQLite in a temp folder), the
engine's `TellescopeClient` talking to it over HTTP, the activities run through Temporal's
`ActivityEnvironment`, and factories for the records the actions act on.

Setup and assertions use a plain synchronous httpx client (`api`) that speaks the wire protocol
directly, so a bug in `TellescopeClient` cannot hide itself in the assertions.
"""

from __future__ import annotations

import json
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import TypeAdapter
from temporalio.testing import ActivityEnvironment

from activities.tellescope_activities import TellescopeActivities
from models.actions import AutomationAction
from models.automated_action import JourneyContext
from models.runtime import ActionRequest
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings
from settings import TellescopeSettings
from tellescope.client import TellescopeClient
from tests.temporal_env import attempt_environment

DEV_KEY = "sandbox-dev-key"
ADMIN_USER_ID = "64f000000000000000000a00"
ORG_ZONE = "America/New_York"

_ACTION = TypeAdapter(AutomationAction)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def object_id() -> str:
    return secrets.token_hex(12)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    db = tmp_path_factory.mktemp("activities-sandbox") / "sandbox.db"
    settings = SandboxSettings(
        port=free_port(), db=db, webhook_timeout_seconds=3.0, fault_timeout_seconds=3.0
    )
    with SandboxServer(settings) as running:
        yield running


@pytest.fixture(scope="session")
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"API_KEY {DEV_KEY}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture(scope="session")
def helpers(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def faults(helpers: httpx.Client) -> Iterator[Callable[..., dict[str, Any]]]:
    """Configure fault injection (PUT /sandbox/faults); always cleared after the test."""

    def configure(**plan: Any) -> dict[str, Any]:
        response = helpers.put("/sandbox/faults", json=plan)
        assert response.status_code == 200, response.text
        return response.json()

    yield configure
    helpers.delete("/sandbox/faults")


def settings_for(server: SandboxServer, **overrides: Any) -> TellescopeSettings:
    return TellescopeSettings(base_url=server.base_url, api_key=DEV_KEY, **overrides)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client(server: SandboxServer) -> AsyncIterator[TellescopeClient]:
    tellescope = TellescopeClient.from_settings(settings_for(server, timeout_seconds=5.0))
    yield tellescope
    await tellescope.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def impatient_client(server: SandboxServer) -> AsyncIterator[TellescopeClient]:
    """Gives up after half a second: for the timeout tests (the sandbox holds 3 s)."""
    tellescope = TellescopeClient.from_settings(settings_for(server, timeout_seconds=0.5))
    yield tellescope
    await tellescope.aclose()


@pytest.fixture
def acts(client: TellescopeClient) -> TellescopeActivities:
    return TellescopeActivities(client)


@pytest.fixture
def env() -> ActivityEnvironment:
    return attempt_environment()


# --- records ------------------------------------------------------------------------------------


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def unique_email() -> str:
    return f"patient-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def make_enduser(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(**fields: Any) -> dict[str, Any]:
        body = {"fname": "Pat", "lname": "Lopez", "email": unique_email(), "phone": "+15555550123"}
        body.update(fields)
        return ok(api.post("/v1/enduser", json=body))

    return make


@pytest.fixture
def enduser(make_enduser) -> dict[str, Any]:
    return make_enduser()


@pytest.fixture
def make_user(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(**fields: Any) -> dict[str, Any]:
        body = {"fname": "Casey", "lname": "Nurse", "email": unique_email()}
        body.update(fields)
        return ok(api.post("/v1/user", json=body))

    return make


@pytest.fixture
def make_template(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(message: str, subject: str = "Hello {{enduser.fname}}", **extra: Any) -> dict:
        body = {"title": f"t-{uuid.uuid4().hex[:10]}", "subject": subject, "message": message}
        body.update(extra)
        return ok(api.post("/v1/template", json=body))

    return make


@pytest.fixture
def journey(api: httpx.Client) -> dict[str, Any]:
    return ok(api.post("/v1/journey", json={"title": f"Journey {uuid.uuid4().hex[:10]}"}))


def find(api: httpx.Client, model_path: str, **filter_: Any) -> list[dict[str, Any]]:
    """GET /v1/<models>?filter=... with the SDK's JSON-encoded filter."""
    return ok(api.get(f"/v1/{model_path}", params={"filter": json.dumps(filter_), "limit": 1000}))


def get(api: httpx.Client, model_path: str, record_id: str) -> dict[str, Any]:
    return ok(api.get(f"/v1/{model_path}/{record_id}"))


# --- action requests ----------------------------------------------------------------------------


@pytest.fixture
def request_for(journey: dict[str, Any]) -> Callable[..., ActionRequest]:
    """An ActionRequest for `action` (Tellescope JSON) on `enduser`, with a fresh automatedActionId
    unless one is given (giving the same id again = a retry of the same AutomatedAction)."""
    step_id = object_id()

    def build(
        action: dict[str, Any],
        enduser: dict[str, Any] | str,
        *,
        automated_action_id: str | None = None,
        journey_context: dict[str, Any] | None = None,
        now: str | None = None,
        step: str | None = None,
    ) -> ActionRequest:
        return ActionRequest(
            automatedActionId=automated_action_id or f"aa-{uuid.uuid4().hex}",
            enduserId=enduser if isinstance(enduser, str) else enduser["id"],
            journeyId=journey["id"],
            automationStepId=step or step_id,
            stepName="test-step",
            action=_ACTION.validate_python(action),
            journeyContext=JourneyContext(**(journey_context or {})),
            organizationTimezone=ORG_ZONE,
            now=now or now_iso(),
        )

    return build
