"""The sandbox driven by Tellescope's own JavaScript SDK (`@tellescope/sdk`, pinned in
scripts/install-test-tools.sh): `tests/sandbox/sdk/sdk_drive.mjs` calls, through the SDK's own
methods, every endpoint the engine and its users call, and prints one JSON line per call.

Node and the SDK come from scripts/install-test-tools.sh (run by `make test`). In CI (`CI=true`)
their absence fails this test; elsewhere it skips, saying why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".cache" / "node" / "node_modules"
SDK_PACKAGE = NODE_MODULES / "@tellescope" / "sdk" / "package.json"
DRIVER = Path(__file__).parent / "sdk" / "sdk_drive.mjs"
DEV_KEY = "sandbox-dev-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# SDK methods the engine's client and its users rely on; each must appear in the run.
REQUIRED_METHODS = {
    "endusers.createOne",
    "endusers.getOne",
    "endusers.getOne(filter)",
    "endusers.getSome(filter)",
    "endusers.getByIds",
    "endusers.updateOne",
    "endusers.deleteOne",
    "endusers.createOne(duplicate email)",
    "endusers.getSome(wrong key)",
    "endusers.add_to_journey",
    "endusers.remove_from_journey",
    "users.getSome",
    "users.getByIds",
    "journeys.createOne",
    "journeys.updateOne",
    "journeys.getSome",
    "journeys.delete_states",
    "journeys.deleteOne",
    "automation_triggers.createOne",
    "automation_triggers.trigger_events",
    "automated_actions.createOne",
    "automated_actions.getSome",
    "automated_actions.updateOne",
    "templates.createOne",
    "templates.get_templated_message",
    "sms_messages.createOne(logOnly)",
    "sms_messages.send_with_template",
    "emails.createOne(logOnly)",
    "emails.send_with_template",
    "chat_rooms.createOne",
    "chat_rooms.updateOne",
    "chats.createOne",
    "chats.getSome",
    "forms.createOne",
    "form_fields.createOne",
    "form_responses.prepare_form_response",
    "form_responses.info_for_access_code",
    "form_responses.submit_form_response",
    "form_responses.deleteOne",
    "form_groups.getOne",
    "tickets.createOne",
    "tickets.close_ticket",
    "care_plans.createOne",
    "care_plans.updateOne",
    "care_plans.getSome",
    "notes.createOne",
    "calendar_events.getSome",
    "calendar_events.updateOne",
    "user_notifications.createOne",
    "managed_content_records.createOne",
    "managed_content_record_assignments.createOne",
    "managed_content_record_assignments.getSome",
    "waitlists.updateOne",
    "waitlists.grant_access_from_waitlist",
    "enduser_orders.createOne",
    "enduser_medications.createOne",
    "engagement_events.getSome",
    "background_errors.getSome",
    "webhooks.configure",
    "webhooks.get_configuration",
    "webhooks.update",
    "webhooks.send_automation_webhook",
}


def _missing_tool(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must run this test: scripts/install-test-tools.sh installs it)")
    pytest.skip(f"{reason}: run scripts/install-test-tools.sh")


@pytest.fixture(scope="module")
def sdk_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m sandbox` itself, on a free port with a fresh database."""
    port = free_port()
    db = tmp_path_factory.mktemp("sdk") / "sandbox.db"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)),
            *("--db", str(db), "--reset"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "SANDBOX_DEV_API_KEY": DEV_KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    host = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{host}/sandbox/stats", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"python -m sandbox did not start on {host}: {stderr[-2000:]}")
            time.sleep(0.1)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def node() -> str:
    """Node and the pinned SDK, checked before a sandbox is started for them."""
    node = shutil.which("node")
    if node is None:
        _missing_tool("node is not installed")
    if not SDK_PACKAGE.exists():
        _missing_tool(f"@tellescope/sdk is not installed in {NODE_MODULES}")
    return node


@pytest.fixture(scope="module")
def sdk_run(node: str, sdk_sandbox: str) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [node, str(DRIVER), sdk_sandbox, DEV_KEY, str(NODE_MODULES)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not lines or not lines[-1].get("done"):
        failed = "\n".join(_describe(call) for call in lines if not call.get("pass"))
        pytest.fail(
            f"the SDK driver stopped early (exit {completed.returncode}) after "
            f"{lines[-1].get('method') if lines else 'no call'}:\n{completed.stderr[-3000:]}"
            + (f"\nfailed before that:\n{failed}" if failed else "")
        )
    return lines[:-1]


def _describe(call: dict[str, Any]) -> str:
    requests = "\n".join(
        f"    {r['method']} {r['url']}"
        + (f" params={json.dumps(r['params'])}" if r.get("params") else "")
        + (f" body={json.dumps(r['data'])}" if r.get("data") else "")
        + f" -> {r.get('status')}"
        for r in call["requests"]
    )
    return (
        f"sdk.api.{call['method']}: {call['detail']}"
        + (f"\n    threw {json.dumps(call['error'])}" if "error" in call else "")
        + f"\n{requests or '    (sent no request)'}"
    )


def test_every_sdk_call_behaves_as_tellescope(sdk_run: list[dict[str, Any]]) -> None:
    failures = [_describe(call) for call in sdk_run if not call["pass"]]
    assert not failures, f"{len(failures)} of {len(sdk_run)} SDK calls failed:\n" + "\n".join(
        failures
    )


def test_the_run_covers_the_engines_endpoints(sdk_run: list[dict[str, Any]]) -> None:
    missing = REQUIRED_METHODS - {call["method"] for call in sdk_run}
    assert not missing, f"SDK methods not driven: {sorted(missing)}"


def test_custom_actions_were_sent_with_the_sdks_double_slash(
    sdk_run: list[dict[str, Any]],
) -> None:
    """The SDK's own paths reach the sandbox unaltered: `/v1//tickets/close` and friends."""
    sent = {
        call["method"]: request["url"].split("/v1", 1)[1]
        for call in sdk_run
        for request in call["requests"]
    }
    assert sent["tickets.close_ticket"] == "//tickets/close"
    assert sent["automation_triggers.trigger_events"] == "//automation-triggers/trigger-events"
    assert sent["templates.get_templated_message"] == "//templated-message"


def test_readme_lists_every_model_and_action_of_the_sdk(node: str) -> None:
    """sandbox/README.md's coverage section names every model and custom/public action of the
    pinned SDK's schema (emulated, partly or not), so a new SDK release shows what is missing."""
    dump = (
        "const {schema} = require(process.argv[1]);"
        "console.log(JSON.stringify(Object.fromEntries(Object.entries(schema).map(([m, s]) =>"
        " [m, [...Object.keys(s.customActions || {}), ...Object.keys(s.publicActions || {})]]))))"
    )
    schema_module = str(NODE_MODULES / "@tellescope" / "schema")
    completed = subprocess.run(
        [node, "-e", dump, schema_module], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    schema: dict[str, list[str]] = json.loads(completed.stdout)
    readme = (ROOT / "sandbox" / "README.md").read_text()
    coverage = readme[readme.index("## Coverage of Tellescope's API") :]
    missing_models = [m for m in schema if f"`{m}`" not in coverage]
    assert not missing_models, f"models missing from sandbox/README.md: {missing_models}"
    missing_actions = [
        f"{m}.{a}"
        for m, actions in schema.items()
        for a in actions
        if not any(
            line.lstrip("| -").startswith(f"`{m}`") and re.search(rf"\b{re.escape(a)}\b", line)
            for line in coverage.splitlines()
        )
    ]
    assert not missing_actions, f"actions missing from sandbox/README.md: {missing_actions}"
