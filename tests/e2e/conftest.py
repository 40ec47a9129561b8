"""End-to-end runtime tests: a real worker with the real Tellescope activities, talking HTTP to a
live sandbox; JourneyWorkflow on the time-skipping server; the store on SQLite.

Nothing is faked. What the API's webhook intake does in production (turn a sandbox record
webhook into a workflow signal) is done here by `Patient`, which acts through the sandbox's own
endpoints and then delivers the signal built from the record the sandbox holds.
"""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from temporalio.worker import Worker

from activities.engine import engine_activities
from activities.join_first import JoinFirst
from activities.tellescope_activities import TellescopeActivities
from compiler import compile_paths
from models.runtime import EnrollmentInput, FormSubmitted, TicketClosed
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings
from settings import TellescopeSettings
from store.db import create_tables, get_engine
from store.ledger import Ledger
from store.plans import PlanStore
from tellescope.client import TellescopeClient
from tests.temporal_env import next_run_id, start_time_skipping
from workflows import starter
from workflows.journey import JourneyWorkflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEV_KEY = "sandbox-dev-key"
NEW_YORK = ZoneInfo("America/New_York")
DR_RIVERA = "64f000000000000000000a01"
FRONT_DESK = "64f000000000000000000a02"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Iterator[SandboxServer]:
    settings = SandboxSettings(
        port=free_port(),
        db=tmp_path_factory.mktemp("e2e-sandbox") / "sandbox.db",
        webhook_timeout_seconds=3.0,
        fault_timeout_seconds=3.0,
    )
    with SandboxServer(settings) as running:
        yield running


@pytest.fixture(scope="session")
def api(sandbox) -> Iterator[httpx.Client]:
    """Plain HTTP to the sandbox for setup and assertions (independent of the engine's client)."""
    with httpx.Client(
        base_url=sandbox.base_url, headers={"Authorization": f"API_KEY {DEV_KEY}"}, timeout=10
    ) as client:
        yield client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def tellescope(sandbox) -> AsyncIterator[TellescopeClient]:
    client = TellescopeClient.from_settings(
        TellescopeSettings(base_url=sandbox.base_url, api_key=DEV_KEY, timeout_seconds=2.0)
    )
    yield client
    await client.aclose()


class Patient:
    """One enduser in the sandbox, and the things a patient (or the care team) does there."""

    def __init__(self, api: httpx.Client, **fields: Any) -> None:
        self.api = api
        suffix = uuid.uuid4().hex[:8]
        record = {
            "fname": "Pat",
            "lname": f"Lee-{suffix}",
            "email": f"pat.{suffix}@example.org",
            "phone": f"+1555{secrets.randbelow(10**7):07d}",
            "emailConsent": True,
            "phoneConsent": True,
            **fields,
        }
        response = api.post("/v1/enduser", json=record)
        assert response.status_code == 200, response.text
        self.record = response.json()
        self.id = self.record["id"]

    def get(self) -> dict:
        return self.api.get(f"/v1/enduser/{self.id}").json()

    def records(self, model: str, **filters: Any) -> list[dict]:
        import json

        response = self.api.get(
            f"/v1/{model}", params={"filter": json.dumps({"enduserId": self.id, **filters})}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def sms(self) -> list[dict]:
        return sorted(self.records("sms-messages"), key=lambda r: r["createdAt"])

    def emails(self) -> list[dict]:
        return sorted(self.records("emails"), key=lambda r: r["createdAt"])

    def tickets(self) -> list[dict]:
        return sorted(self.records("tickets"), key=lambda r: r["createdAt"])

    def form_responses(self) -> list[dict]:
        return sorted(self.records("form-responses"), key=lambda r: r["createdAt"])

    async def submit_form(self, handle, form_response_id: str) -> dict:
        """Submit through the sandbox (as the patient), then deliver what the webhook would."""
        response = self.api.post(
            f"/sandbox/patient/form-responses/{form_response_id}/submit", json={}
        )
        assert response.status_code == 200, response.text
        record = self.api.get(f"/v1/form-response/{form_response_id}").json()
        assert record.get("submittedAt"), record
        await handle.signal(
            JourneyWorkflow.form_submitted,
            FormSubmitted(
                formResponseId=record["id"],
                automationStepId=record["automationStepId"],
                formId=record.get("formId"),
                submittedAt=record["submittedAt"],
            ),
        )
        return record

    async def close_ticket(self, handle, ticket_id: str, reason: str | None) -> dict:
        body = {"ticketId": ticket_id} | ({"closedForReason": reason} if reason else {})
        response = self.api.post("/v1/tickets/close", json=body)
        assert response.status_code == 200, response.text
        ticket = response.json()["updated"]
        await handle.signal(
            JourneyWorkflow.ticket_closed,
            TicketClosed(
                ticketId=ticket["id"],
                automationStepId=ticket.get("automationStepId"),
                closedForReason=ticket.get("closedForReason"),
            ),
        )
        return ticket


class Stack:
    """Store + deployed examples + a worker with the real activities, for one test."""

    def __init__(
        self, env, api: httpx.Client, tellescope: TellescopeClient, folder: Path, sandbox
    ) -> None:
        self.env, self.client, self.api, self.tellescope = env, env.client, api, tellescope
        self.sandbox = sandbox
        engine = get_engine(f"sqlite:///{folder}/journeys.db")
        create_tables(engine)
        self.plans, self.ledger = PlanStore(engine), Ledger(engine)
        self.task_queue = f"e2e-{uuid.uuid4()}"
        self.folder = folder
        self.handles: list = []

    def deploy_examples(self) -> None:
        """Compile examples/ (the lab webhook pointed at this sandbox's echo receiver) and create
        each journey's record in the sandbox, as `journeys deploy` does against Tellescope."""
        copy = self.folder / "examples"
        copy.mkdir()
        for path in EXAMPLES.glob("*.yaml"):
            text = path.read_text().replace("http://127.0.0.1:8900", self.sandbox.base_url)
            (copy / path.name).write_text(text)
        for plan in compile_paths([copy]).plans:
            journey = plan.journey
            body = {
                "title": f"{journey.title} {uuid.uuid4().hex[:6]}",
                "defaultState": journey.defaultState or "New",
            }
            body["states"] = [s.model_dump(exclude_none=True) for s in journey.states or []]
            created = self.api.post("/v1/journey", json=body)
            assert created.status_code == 200, created.text
            self.plans.save(plan, tellescope_journey_id=created.json()["id"])

    def redeploy(self, file: str, old: str, new: str) -> None:
        """Deploy a changed version of one example (same Tellescope journey record)."""
        path = self.folder / "examples" / file
        path.write_text(path.read_text().replace(old, new))
        plan = compile_paths([path.parent]).plan(path.stem)
        self.plans.save(plan, tellescope_journey_id=self.journey_record_id(plan.journeyId))

    def journey_record_id(self, journey_id: str) -> str:
        return self.plans.current(journey_id).tellescope_journey_id

    @asynccontextmanager
    async def worker(self, *, tellescope: TellescopeClient | None = None):
        acts = TellescopeActivities(tellescope or self.tellescope)
        with ThreadPoolExecutor(max_workers=8) as executor:
            async with Worker(
                self.client,
                task_queue=self.task_queue,
                workflows=[JourneyWorkflow],
                activities=[
                    *acts.all(),
                    *engine_activities(
                        self.client,
                        self.plans,
                        self.ledger,
                        self.task_queue,
                        join_journey=acts.set_journey_state,
                    ),
                ],
                activity_executor=executor,
                # the first step's activity carries the journey's join (docs/decisions.md D41)
                interceptors=[JoinFirst(self.ledger, acts.write_membership)],
                workflow_failure_exception_types=[Exception],
            ):
                yield

    async def enroll(self, journey_id: str, patient: Patient, **extra):
        row = self.plans.current(journey_id)
        inp = EnrollmentInput(
            journeyId=journey_id,
            planVersion=row.version,
            enduserId=patient.id,
            tellescopeJourneyId=row.tellescope_journey_id,
            **extra,
        )
        handle = await starter.enroll(self.client, inp, task_queue=self.task_queue)
        self.handles.append(handle)
        return handle

    def handle_for(self, journey_id: str, patient: Patient):
        handle = self.client.get_workflow_handle_for(
            JourneyWorkflow.run, f"journey:{journey_id}:{patient.id}"
        )
        self.handles.append(handle)
        return handle

    async def next_run(self, handle):
        """The run that replaced `handle`'s (a restart continues as new under the same id)."""
        with self.env.auto_time_skipping_disabled():
            for _ in range(300):
                run_id = await next_run_id(self.client, handle.id, handle.result_run_id)
                if run_id is not None:
                    return self.client.get_workflow_handle_for(
                        JourneyWorkflow.run, handle.id, run_id=run_id
                    )
                await self.env.sleep(timedelta(milliseconds=50))
        raise AssertionError("the enrollment did not restart")

    async def wait_for(self, handle, predicate, limit: int = 300):
        """Let the worker run with virtual time frozen until `predicate(status)` holds."""
        status = None
        with self.env.auto_time_skipping_disabled():
            for _ in range(limit):
                status = await handle.query(JourneyWorkflow.status)
                if predicate(status):
                    return status
                await self.env.sleep(timedelta(milliseconds=50))
        raise AssertionError(f"condition not reached; last status: {status}")

    async def advance(self, delta: timedelta) -> None:
        await self.env.sleep(delta)

    async def start_at(self, weekday: int, hour: int) -> datetime:
        """Skip virtual time to the next New York `weekday` (Monday 0) at `hour`:00."""
        now = await self.env.get_current_time()
        local = now.astimezone(NEW_YORK) + timedelta(days=1)
        day = (local + timedelta(days=(weekday - local.weekday()) % 7)).date()
        moment = datetime.combine(day, time(hour), tzinfo=NEW_YORK)
        await self.env.sleep(moment - now)
        return moment

    def ledger_rows(self, journey_id: str | None = None, step: str | None = None):
        return self.ledger.list(journey_id=journey_id, step_id=step, limit=10_000)

    async def close(self) -> None:
        for handle in self.handles:
            try:
                await handle.terminate("test finished")
            except Exception:  # already closed
                pass


@pytest_asyncio.fixture(loop_scope="session")
async def stack(env, api, tellescope, tmp_path, sandbox):
    running = Stack(env, api, tellescope, tmp_path, sandbox)
    running.deploy_examples()
    yield running
    await running.close()


@pytest.fixture
def patient(api) -> Patient:
    return Patient(api)


@pytest_asyncio.fixture(loop_scope="session")
async def env():
    """A time-skipping server of this test's own (tests/conftest.py says why)."""
    environment = await start_time_skipping()
    yield environment
    await environment.shutdown()
