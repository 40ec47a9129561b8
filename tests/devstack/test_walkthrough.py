"""The first-run walkthrough `journeys dev` prints (devstack/walkthrough.py), run as a newcomer
would: each printed command pasted into a shell against the real stack (Temporal dev server,
sandbox, worker, API, webhooks), and each promised reaction seen within seconds, at whatever
hour the test runs (the `first-run` journey has no delays and no office hours)."""

from __future__ import annotations

import json
import subprocess
import time

import httpx
import pytest

from tests.devstack.test_dev import Dev, free_ports, until

SANDBOX_KEY = "sandbox-dev-key"


@pytest.fixture
def ports() -> dict[str, int]:
    names = ("temporal", "ui", "api", "sandbox", "metrics")
    return dict(zip(names, free_ports(len(names)), strict=True))


def printed_steps(banner: str) -> list[tuple[str, str]]:
    """(title line, command) of every walkthrough step in the banner."""
    lines = banner[banner.index("Try it now") :].splitlines()
    steps = []
    for title, command in zip(lines, lines[1:], strict=False):
        if command.strip().startswith("$ "):
            steps.append((title.strip(), command.strip()[2:]))
    return steps


def run(command: str) -> dict:
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (command, done.stderr)
    return json.loads(done.stdout)


def test_the_printed_walkthrough_reacts_at_each_step(tmp_path, ports):
    dev = Dev(tmp_path / "data", ports)
    try:
        banner = dev.wait_for_banner()
        steps = printed_steps(banner)
        assert [title.split(":")[0].split(".")[0] for title, _ in steps] == ["Start", "1", "2", "3"]
        sandbox = httpx.Client(
            base_url=f"http://127.0.0.1:{ports['sandbox']}",
            headers={"Authorization": f"API_KEY {SANDBOX_KEY}"},
            timeout=10,
        )
        enrolled = run(steps[0][1])
        (result,) = enrolled["results"]
        sam = result["enduserId"]
        assert sam in banner and f"127.0.0.1:{ports['api']}" in steps[0][1]

        def records(model: str, **filters) -> list[dict]:
            query = {"filter": json.dumps({"enduserId": sam, **filters})}
            return sandbox.get(f"/v1/{model}", params=query).json()

        def soon(what: str, condition):
            started = time.monotonic()
            value = until(condition, 30, what)
            assert time.monotonic() - started < 30
            return value

        soon("the intake form emailed", lambda: records("form-responses"))
        soon("the form email", lambda: records("emails"))

        submitted = run(steps[1][1])  # as printed: the newest form response, submitted
        assert submitted["formResponse"]["submittedAt"]
        (sms,) = soon("the welcome SMS", lambda: records("sms-messages", inbound=False) or None)
        assert "Welcome to Riverside, Sam!" in sms["message"]

        run(steps[2][1])  # Sam replies by SMS
        (ticket,) = soon("the call-back ticket", lambda: records("tickets"))
        assert ticket["title"] == "Call Sam back: they replied to the welcome SMS"

        closed = run(steps[3][1])  # the care team closes it through Tellescope's API
        assert closed["updated"]["id"] == ticket["id"]
        soon(
            "the follow-up email",
            lambda: [e for e in records("emails") if "Thank you for visiting" in e["subject"]],
        )
        soon(  # enduser.journeys holds the state (the finished workflow lists no enrollment)
            "the journey's state Followed up",
            lambda: (
                "Followed up"
                in (sandbox.get(f"/v1/enduser/{sam}").json()["journeys"] or {}).values()
            ),
        )
    finally:
        assert dev.interrupt() == 0, dev.output()[-3000:]
