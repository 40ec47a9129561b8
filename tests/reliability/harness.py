"""Shared parts of the reliability suite: the sandbox as Tellescope (over HTTP), the engine's
store, journeys deployed from YAML text, the worker as a real `python worker.py` subprocess, a
Temporal dev server process we can stop and start again, polling with deadlines, and the message
counts every scenario reports (sent, duplicates, lost).

Nothing here replaces engine code: the workflows, activities, API and store are the real ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from compiler import compile_paths
from devstack.binaries import require_binary
from models.plan import JourneyPlan
from store.db import upgrade_database
from store.ledger import Ledger
from store.plans import PlanStore
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "sandbox-dev-key"
DR_RIVERA = "64f000000000000000000a01"
FRONT_DESK = "64f000000000000000000a02"
WELCOME_SMS = "64f000000000000000000b01"  # "Welcome to Riverside, {{enduser.fname}}"
THANK_YOU_EMAIL = "64f000000000000000000b03"

# One seed for the whole suite (printed in the report); each scenario derives its own from it.
BASE_SEED = int(os.environ.get("RELIABILITY_SEED", "20260607"))


def scenario_seed(name: str) -> int:
    return BASE_SEED ^ zlib.crc32(name.encode())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(
    predicate: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy; fail after `timeout`
    seconds naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} ({last!r})")
        await asyncio.sleep(interval)


# --- the report ------------------------------------------------------------------------------


@dataclass
class Row:
    """One scenario's counts. Messages, duplicates and lost are None where a scenario sends
    nothing (fuzzing counts 5xx answers and unhandled exceptions instead, in `notes`)."""

    scenario: str
    enrollments: int
    faults: int  # faults injected: kills, restarts, sandbox faults, bad deliveries, fuzz cases
    fault_kinds: str  # what they were
    messages: int | None  # messages the sandbox holds for the scenario
    duplicates: int | None
    lost: int | None
    seconds: float
    notes: str = ""

    def line(self) -> str:
        def shown(value: int | None) -> str:
            return "-" if value is None else str(value)

        text = (
            f"{self.scenario}: enrollments={self.enrollments} faults injected={self.faults}"
            f" ({self.fault_kinds}) messages sent={shown(self.messages)}"
            f" duplicates={shown(self.duplicates)} lost={shown(self.lost)}"
            f" [{self.seconds:.0f} s]"
        )
        return text + (f"; {self.notes}" if self.notes else "")


# --- the sandbox over HTTP ----------------------------------------------------------------------


class SandboxHttp:
    """Setup and assertions against the sandbox, through its own HTTP API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"API_KEY {DEV_KEY}"}, timeout=60
        )

    def close(self) -> None:
        self.http.close()

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, f"{response.request.url}: {response.text[:500]}"
        return response.json()

    def create_endusers(self, count: int, *, phone: bool = True, tag: str = "") -> list[str]:
        """`count` endusers with email (and phone) and consent, 500 per bulk create."""
        ids: list[str] = []
        for first in range(0, count, 500):
            records = []
            for index in range(first, min(count, first + 500)):
                suffix = uuid.uuid4().hex[:10]
                record = {
                    "fname": f"Rel{index}",
                    "lname": f"{tag}-{suffix}",
                    "email": f"rel.{suffix}@example.org",
                    "emailConsent": True,
                }
                if phone:
                    record |= {"phone": f"+1555{index % 10_000_000:07d}", "phoneConsent": True}
                records.append(record)
            body = self.ok(self.http.post("/v1/endusers", json={"create": records}))
            assert not body["errors"], body["errors"][:3]
            ids += [r["id"] for r in body["created"]]
        return ids

    def journey_record(self, title: str) -> str:
        body = {"title": f"{title} {uuid.uuid4().hex[:6]}", "defaultState": "New"}
        return self.ok(self.http.post("/v1/journey", json=body))["id"]

    def outbox(self, journey_record_id: str | None = None) -> list[dict[str, Any]]:
        entries = self.ok(self.http.get("/sandbox/outbox", params={"format": "json"}))
        if journey_record_id is None:
            return entries
        return [e for e in entries if e.get("journeyId") == journey_record_id]

    def records(self, model: str, **filters: Any) -> list[dict[str, Any]]:
        """Every record of `model` matching `filters` (paged by the sandbox's largest page)."""
        found: list[dict[str, Any]] = []
        last_id = None
        while True:
            params: dict[str, Any] = {"filter": json.dumps(filters), "limit": 1000}
            if last_id:
                params["lastId"] = last_id
            page = self.ok(self.http.get(f"/v1/{model}", params=params))
            found += page
            if len(page) < 1000:
                return found
            last_id = page[-1]["id"]

    def enduser(self, enduser_id: str) -> dict[str, Any]:
        return self.ok(self.http.get(f"/v1/enduser/{enduser_id}"))

    def set_faults(self, **plan: Any) -> dict[str, Any]:
        return self.ok(self.http.put("/sandbox/faults", json=plan))

    def faults(self) -> dict[str, Any]:
        return self.ok(self.http.get("/sandbox/faults"))

    def clear_faults(self) -> dict[str, Any]:
        return self.ok(self.http.delete("/sandbox/faults"))

    def messages_sent(self) -> int:
        """Outbound SMS and emails the sandbox holds (any journey)."""
        stats = self.ok(self.http.get("/sandbox/stats"))["messages"]
        return stats["sms"]["outbound"] + stats["email"]["outbound"]


# --- the engine's store and deployed journeys ---------------------------------------------------


@dataclass
class Deployed:
    plan: JourneyPlan
    version: str
    record_id: str  # the journey's record in the sandbox (Tellescope journey id)

    @property
    def journey_id(self) -> str:
        return self.plan.journeyId

    def tellescope_step(self, step_id: str) -> str:
        return self.plan.tellescopeStepIds[step_id]


class EngineStore:
    """The engine's SQLite store (migrated, as the worker and API would find it)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.url = f"sqlite:///{folder}/journeys.db"
        engine = upgrade_database(self.url)
        self.plans, self.ledger = PlanStore(engine), Ledger(engine)

    def deploy(self, yaml_text: str, sandbox: SandboxHttp) -> Deployed:
        """Compile one journey, create its record in the sandbox, store it as current (what
        `journeys deploy` does)."""
        source = self.folder / f"journey-{uuid.uuid4().hex[:8]}"
        source.mkdir()
        (source / "journey.yaml").write_text(yaml_text)
        (plan,) = compile_paths([source]).plans
        record_id = sandbox.journey_record(plan.journey.title)
        row, _ = self.plans.save(plan, tellescope_journey_id=record_id)
        return Deployed(plan, row.version, record_id)

    def reused(self, journey_id: str) -> int:
        """Finished AutomatedActions whose record an earlier attempt (failed, timed out or
        killed after Tellescope committed it) had made: the retry found it and made no other."""
        rows = self.ledger.list(journey_id=journey_id, status="finished", limit=100_000)
        details = [row.detail or "" for row in rows]
        return sum(1 for d in details if "earlier attempt" in d or d.endswith(" reused"))

    def step_statuses(self, journey_id: str) -> Counter[tuple[str, str]]:
        """(step, status) -> number of AutomatedActions."""
        counts: Counter[tuple[str, str]] = Counter()
        for step, _tellescope_step, status, _label, count in self.ledger.step_counts(journey_id):
            counts[(step, status)] += count
        return counts


# --- message counts -----------------------------------------------------------------------------


@dataclass
class MessageCount:
    """Messages of one journey in the sandbox against what was expected: one per key
    (enduserId, Tellescope step id, channel)."""

    sent: int
    duplicates: int  # messages beyond one per expected key, plus any message not expected
    lost: int  # expected keys without a message
    examples: list[str] = field(default_factory=list)


def count_messages(
    entries: Iterable[dict[str, Any]], expected: set[tuple[str, str, str]]
) -> MessageCount:
    counts = Counter((e["enduserId"], e["automationStepId"], e["channel"]) for e in entries)
    duplicates = sum(c - 1 for k, c in counts.items() if k in expected and c > 1)
    unexpected = sum(c for k, c in counts.items() if k not in expected)
    lost_keys = [k for k in expected if counts[k] == 0]
    examples = [f"duplicate {k} x{c}" for k, c in counts.items() if k in expected and c > 1]
    examples += [f"unexpected {k} x{c}" for k, c in counts.items() if k not in expected]
    examples += [f"lost {k}" for k in lost_keys]
    return MessageCount(
        sent=sum(counts.values()),
        duplicates=duplicates + unexpected,
        lost=len(lost_keys),
        examples=examples[:10],
    )


# --- processes ----------------------------------------------------------------------------------


class ChildProcess:
    """A process of the engine under test (worker, API), killed or stopped as an operator
    or a crash would."""

    process: subprocess.Popen | None
    log: Path

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: nothing is flushed, released or finished (a request or activity in
        flight gets no answer)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class WorkerProcess(ChildProcess):
    """`python worker.py`, configured only through its environment as in production."""

    def __init__(
        self,
        *,
        temporal_address: str,
        task_queue: str,
        database_url: str,
        tellescope_url: str,
        log: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        inherited = {
            k: v for k, v in os.environ.items() if k not in ("METRICS_PORT", "WORKER_HEALTH_PORT")
        }
        self.environment = {
            **inherited,
            "TEMPORAL_ADDRESS": temporal_address,
            "TASK_QUEUE": task_queue,
            "DATABASE_URL": database_url,
            "TELLESCOPE_BASE_URL": tellescope_url,
            "TELLESCOPE_API_KEY": DEV_KEY,
            "TELLESCOPE_TIMEOUT_SECONDS": "5",
            "GRACEFUL_SHUTDOWN_SECONDS": "0",
            **(extra_env or {}),
        }
        self.log = log
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> WorkerProcess:
        assert self.process is None or self.process.poll() is not None
        mark = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            cwd=ROOT,
            env=self.environment,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while b"worker polling" not in self.log.read_bytes()[mark:]:
            assert self.process.poll() is None, "worker exited:\n" + self.tail()
            assert time.monotonic() < deadline, "worker did not start:\n" + self.tail()
            time.sleep(0.05)
        return self


class DevServerProcess:
    """`temporal server start-dev` on a fixed port with a SQLite file, which can be stopped and
    started again on the same port and file (WorkflowEnvironment.start_local cannot restart)."""

    def __init__(self, folder: Path) -> None:
        self.db = folder / "temporal.db"
        self.port = free_port()
        self.log = folder / "temporal.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        command = [
            require_binary("temporal"),
            "server",
            "start-dev",
            f"--db-filename={self.db}",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--headless",
            "--log-level=warn",
        ]
        for key in sa.ALL:
            command += ["--search-attribute", f"{key.name}={sa.cli_type(key)}"]
        deadline = time.monotonic() + timeout
        while True:  # the port may still be held for a moment after a stop
            self.process = subprocess.Popen(
                command, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
            )
            if self._wait_for_port(deadline):
                self.starts += 1
                return
            self.process.wait(timeout=30)
            assert time.monotonic() < deadline, "dev server did not start:\n" + self.tail()
            time.sleep(0.5)

    def _wait_for_port(self, deadline: float) -> bool:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return True
            time.sleep(0.1)
        self.process.kill()
        return False

    async def client(self, timeout: float = 60) -> Client:
        """A client once the server answers: its port opens before its frontend is healthy
        ("Frontend is not healthy yet"), so the first connections may be refused."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return await Client.connect(self.address, data_converter=pydantic_data_converter)
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to flush or close anything."""
        assert self.process is not None and self.process.poll() is None
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, as an operator's restart would (SIGKILL if it does not exit)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the engine's API, served for real --------------------------------------------------------


class _ErrorCapture(logging.Handler):
    """ERROR records logged while serving the API: uvicorn's "Exception in ASGI application"
    (from the server thread) and the app's own handler of unexpected exceptions."""

    def __init__(self, thread_name: str) -> None:
        super().__init__(level=logging.ERROR)
        self.thread_name = thread_name
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName == self.thread_name or record.name.startswith("journeys.api"):
            self.records.append(record)


class LiveApi:
    """The API app under uvicorn on a real port, in a thread of this process (its own event loop,
    Temporal client and Tellescope client), with every unhandled exception it logs captured."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        # log_config=None: uvicorn leaves logging alone, so its error logger reaches ours.
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", log_config=None
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, name=f"reliability-api-{self.port}", daemon=True
        )
        self.capture = _ErrorCapture(self.thread.name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def unhandled(self) -> list[str]:
        """What was logged at ERROR, with the exception, one string per record."""
        formatter = logging.Formatter("%(name)s: %(message)s")
        return [formatter.format(record) for record in self.capture.records]

    def __enter__(self) -> LiveApi:
        logging.getLogger().addHandler(self.capture)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        logging.getLogger().removeHandler(self.capture)


def signed_delivery(
    model: str,
    kind: str,
    records: list[dict[str, Any]],
    secret: str,
    *,
    timestamp: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A record webhook as Tellescope signs it: sha256(ids + timestamp + secret)."""
    timestamp = timestamp or str(int(time.time() * 1000))
    ids = "".join(record["id"] for record in records)
    return {
        "model": model,
        "type": kind,
        "records": records,
        "timestamp": timestamp,
        "integrity": sha256_hex(ids + timestamp + secret),
        "relatedRecords": {},
        **extra,
    }


class ApiProcess(ChildProcess):
    """`journeys api` in its own process, configured only through its environment as in
    production, so that it can be killed with SIGKILL mid-request and started again."""

    def __init__(self, *, log: Path, environment: dict[str, str]) -> None:
        self.port = free_port()
        self.log = log
        self.environment = {**os.environ, **environment}
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ApiProcess:
        assert self.process is None or self.process.poll() is not None
        command = [sys.executable, "-m", "cli", "api", f"--port={self.port}"]
        self.process = subprocess.Popen(
            [*command, "--log-level=warning"],
            cwd=ROOT,
            env=self.environment,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, "API exited:\n" + self.tail()
            assert time.monotonic() < deadline, "API did not start:\n" + self.tail()
            try:
                if httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
