"""`journeys dev` as a newcomer runs it: a real subprocess bringing up Temporal, the
sandbox, the worker and the API; checked only through HTTP (the sandbox outbox, the Temporal
UI's own HTTP API) and, where Chromium is installed, a screenshot of the UI."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Dev:
    def __init__(self, data: Path, ports: dict[str, int]) -> None:
        self.ports = ports
        self.log = data.parent / f"dev-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "cli", "dev", f"--data-dir={data}"]
        command += [f"--{name}-port={port}" for name, port in ports.items()]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_banner(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while "Journey Engine is running" not in self.output():
            assert self.process.poll() is None, self.output()[-4000:]
            assert time.monotonic() < deadline, self.output()[-4000:]
            time.sleep(0.25)
        time.sleep(0.5)  # the rest of the banner
        return self.output()

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)  # Ctrl-C
        return self.process.wait(timeout=60)


def until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.5)


def demo_messages(sandbox: str, enduser_id: str) -> list[dict]:
    outbox = httpx.get(f"{sandbox}/sandbox/outbox", params={"format": "json"}, timeout=10).json()
    entries = outbox["messages"] if isinstance(outbox, dict) else outbox
    return [m for m in entries if m.get("enduserId") == enduser_id]


def ui_workflows(ui: str, enduser_id: str, extra: str = "") -> list[dict]:
    query = quote(f'EnduserId="{enduser_id}"' + extra)
    response = httpx.get(f"{ui}/api/v1/namespaces/default/workflows?query={query}", timeout=10)
    return response.json().get("executions", []) if response.status_code == 200 else []


@pytest.fixture
def ports() -> dict[str, int]:
    names = ("temporal", "ui", "api", "sandbox", "metrics")
    return dict(zip(names, free_ports(len(names)), strict=True))


def test_dev_brings_up_the_stack_and_resumes_it(tmp_path, ports):
    data = tmp_path / "data"
    dev = Dev(data, ports)
    try:
        banner = dev.wait_for_banner()
        ui = f"http://127.0.0.1:{ports['ui']}"
        sandbox = f"http://127.0.0.1:{ports['sandbox']}"
        for line in (
            f"Temporal UI      {ui}",
            f"API docs         http://127.0.0.1:{ports['api']}/docs",
            f"Sandbox outbox   {sandbox}/sandbox/outbox",
        ):
            assert line in banner
        enduser_id = re.search(r"Demo patient     (\w+) in onboarding", banner).group(1)

        # The demo enrollment's first message reaches the outbox within a minute.
        started = time.monotonic()
        (welcome,) = until(lambda: demo_messages(sandbox, enduser_id), 60, "the welcome SMS")
        assert time.monotonic() - started < 60
        assert "Welcome to Riverside, Dana!" in json.dumps(welcome)

        # AI and telephony outcomes chosen in the sandbox go to the API (docs/handlers.md §4).
        delivery = httpx.get(f"{sandbox}/sandbox/handler-actions/delivery").json()
        assert delivery == {"url": f"http://127.0.0.1:{ports['api']}/v1/step-outcomes"}

        # The Temporal UI lists the demo workflow with its search attributes.
        (execution,) = until(lambda: ui_workflows(ui, enduser_id), 60, "the UI listing")
        assert execution["execution"]["workflowId"] == f"journey:onboarding:{enduser_id}"
        attributes = json.dumps(execution["searchAttributes"])
        for name in (
            "JourneyId",
            "JourneyVersion",
            "EnduserId",
            "NextActionAt",
            "JourneyWaitingAt",
        ):
            assert name in attributes
        # the README's queries: waiting at a step, in a state
        waiting = ' AND JourneyId="onboarding" AND JourneyWaitingAt="send-intake"'
        assert until(lambda: ui_workflows(ui, enduser_id, waiting), 30, "the waiting-at query")
        assert ui_workflows(ui, enduser_id, ' AND JourneyWaitingAt="review-ticket"') == []

        chromium = shutil.which("chromium")
        if chromium:  # the page a person would open, rendered and captured
            shot = tmp_path / "ui.png"
            url = f"{ui}/namespaces/default/workflows?query={quote(f'EnduserId={chr(34)}{enduser_id}{chr(34)}')}"
            subprocess.run(
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}",
                    "--virtual-time-budget=15000",
                    "--window-size=1400,900",
                    f"--screenshot={shot}",
                    url,
                ],
                capture_output=True,
                timeout=90,
            )
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        code = dev.interrupt()
    assert code == 0, dev.output()[-3000:]
    assert all(_free(port) for port in ports.values()), "a child outlived Ctrl-C"

    again = Dev(data, ports)  # a second run resumes the same data
    try:
        banner = again.wait_for_banner()
        assert f"Demo patient     {enduser_id} in onboarding (alreadyEnrolled)" in banner
        time.sleep(3)
        assert len(demo_messages(sandbox, enduser_id)) == 1  # nothing sent twice
    finally:
        assert again.interrupt() == 0


def test_dev_names_a_port_that_is_taken(tmp_path, ports):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports["api"]))
        taken.listen()
        dev = Dev(tmp_path / "data", ports)
        code = dev.process.wait(timeout=60)
    assert code == 2
    assert (
        f"api port {ports['api']} is already in use (choose another with --api-port)"
        in dev.output()
    )


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_ci_environment_has_no_leftover_dev_processes():
    """The dev stack above must not leave processes behind (checked through /proc)."""
    own = str(os.getpid())
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"cli dev --data-dir" in command and pid != own:
            leftovers.append(command.decode(errors="replace"))
    assert leftovers == []
