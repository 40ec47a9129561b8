"""The Tellescope webhook receiver's security: integrity, age, replays, duplicates, size.

`triggers.intake.process_webhook` is STUBBED in these security tests (a recorder replacing
the receiver's `process_webhook`): they check what reaches the trigger engine, not what it does. The
last test has the sandbox deliver real webhooks to the live API and the real intake.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from api.routes import webhooks as receiver
from tests.api.conftest import WEBHOOK_SECRET, harness
from triggers.models import IgnoredRecord, IntakeReport

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
LIMIT = 16_384


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def record_webhook(
    ids=("64f000000000000000000101", "64f000000000000000000104"),
    *,
    timestamp: str | None = None,
    secret: str = WEBHOOK_SECRET,
    **extra,
) -> dict:
    timestamp = timestamp or str(int(time.time() * 1000))
    records = [{"id": i, "fname": "Pat"} for i in ids]
    return {
        "model": "endusers",
        "type": "create",
        "records": records,
        "timestamp": timestamp,
        "integrity": sha("".join(ids) + timestamp + secret),
        "relatedRecords": {},
        **extra,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def secure(env, tellescope, sandbox_http, tmp_path_factory):
    """An app with a small webhook body limit (no worker: nothing may start anyway)."""
    async with harness(
        env.client,
        tellescope,
        sandbox_http,
        tmp_path_factory.mktemp("webhooks"),
        webhook_max_body_bytes=LIMIT,
        webhook_tolerance_seconds=300,
    ) as h:
        yield h


@pytest.fixture
def intake(monkeypatch) -> list[dict[str, Any]]:
    """STUB of triggers.intake.process_webhook: records the payloads that reach it."""
    received: list[dict[str, Any]] = []

    async def process_webhook(payload: dict, deps: Any, source: Any = None) -> IntakeReport:
        received.append(payload)
        ignored = [
            IgnoredRecord(model="endusers", reason="stub") for _ in payload.get("records") or []
        ]
        return IntakeReport(
            model=str(payload.get("model")), type=str(payload.get("type")), ignored=ignored
        )

    monkeypatch.setattr(receiver, "process_webhook", process_webhook)
    return received


async def post(h, payload: Any = None, *, content: bytes | None = None, headers=None):
    return await h.http.post(
        "/v1/webhooks/tellescope",
        json=payload if content is None else None,
        content=content,
        headers={"Authorization": "", **(headers or {})},  # no API key: integrity only
    )


async def test_good_delivery_reaches_the_intake_once(secure, intake):
    payload = record_webhook()
    response = await post(secure, payload)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "processed"
    assert len(response.json()["report"]["ignored"]) == 2
    assert intake == [payload]
    duplicate = await post(secure, payload)
    assert duplicate.status_code == 200 and duplicate.json()["status"] == "duplicate"
    assert len(intake) == 1
    from store.db import get_engine
    from store.webhooks import ProcessedWebhooks

    remembered = [
        row
        for row in ProcessedWebhooks(get_engine(secure.store_url)).recent(10)
        if row.record_ids == [r["id"] for r in payload["records"]]
    ]
    assert [(r.kind, r.operation, r.status) for r in remembered] == [
        ("endusers", "create", "processed")
    ]


async def test_the_intake_gets_the_records_read_while_the_claim_was_written(
    secure, sandbox_http, monkeypatch
):
    """The receiver starts the read-back before writing its claim and hands it to the intake
    (`ReadAhead`), which reads the delivery's records from Tellescope (here the sandbox); that
    it is the early read, not a second request, is tests/triggers/test_read_ahead.py's. A
    duplicate is handed nothing."""
    from tests.api.conftest import new_enduser
    from triggers.intake import wanted_records, webhook_records
    from triggers.readback import ReadAhead

    enduser_id = new_enduser(sandbox_http, fname="Ahead")
    handed: list[Any] = []
    read: list[dict] = []

    async def process_webhook(payload: dict, deps: Any, source: Any = None) -> IntakeReport:
        handed.append(source)
        wanted = wanted_records(webhook_records(payload))
        read.append(await source.read(payload["model"], wanted))
        return IntakeReport(model=payload["model"], type=payload["type"])

    monkeypatch.setattr(receiver, "process_webhook", process_webhook)
    payload = record_webhook((enduser_id,))
    assert (await post(secure, payload)).status_code == 200
    assert (await post(secure, payload)).json()["status"] == "duplicate"
    assert len(handed) == 1 and isinstance(handed[0], ReadAhead)
    assert handed[0].source is not None and list(read[0]) == [enduser_id]
    assert read[0][enduser_id]["fname"] == "Ahead"  # Tellescope's record, not the body's "Pat"


async def test_copies_of_a_delivery_do_not_read_tellescope(secure, intake, tellescope):
    """Only a first copy reads its records ahead of its claim: replaying one signed delivery
    (duplicates, or copies with another body) costs Tellescope no read per copy. The intake is
    the stub here: every read counted is the receiver's own."""
    reads: list[str] = []

    async def note(request) -> None:
        if request.url.path.endswith("/bulk-read"):
            reads.append(request.url.path)

    hooks = tellescope.http.event_hooks["request"]
    hooks.append(note)
    try:
        payload = record_webhook()
        assert (await post(secure, payload)).json()["status"] == "processed"
        assert reads == ["/v1/endusers/bulk-read"]  # the first copy's read-ahead
        for _ in range(3):
            assert (await post(secure, payload)).json()["status"] == "duplicate"
        tampered = json.loads(json.dumps(payload))
        tampered["records"][0]["updatedAt"] = "2999-01-01T00:00:00Z"  # would miss any cache
        assert (await post(secure, tampered)).status_code == 409
    finally:
        hooks.remove(note)
    assert reads == ["/v1/endusers/bulk-read"]
    assert len(intake) == 1


async def test_replay_with_another_body_is_refused(secure, intake):
    payload = record_webhook()
    assert (await post(secure, payload)).status_code == 200
    tampered = json.loads(json.dumps(payload))
    tampered["records"][0]["fname"] = "Mallory"  # ids and timestamp kept: integrity still valid
    response = await post(secure, tampered)
    assert response.status_code == 409
    assert response.json()["message"] == "Webhook replayed with a different body"
    assert intake == [payload]


@pytest.mark.parametrize(
    "model, type_",
    [("calendar_events", "update"), ("form_responses", "create"), ("endusers", "update")],
)
async def test_a_signature_is_usable_once_whatever_model_or_type_comes_with_it(
    secure, intake, model, type_
):
    """The integrity covers record ids and timestamp only: a captured delivery re-sent as
    another record type (with the victim in its fields) is the same delivery, refused."""
    payload = record_webhook(ids=("64f000000000000000000abc",))
    assert (await post(secure, payload)).status_code == 200
    forged = {
        **payload,
        "model": model,
        "type": type_,
        "records": [
            {"id": "64f000000000000000000abc", "attendees": [{"id": "64f0000000000000000000ff"}]}
        ],
    }
    claims = secure_claims(secure)
    response = await post(secure, forged)
    assert response.status_code == 409, response.text
    assert intake == [payload]
    assert secure_claims(secure) == claims


async def test_a_copy_arriving_mid_processing_is_not_acknowledged_until_processed(
    secure, monkeypatch
):
    """A redelivery while the first attempt is in flight gets 409 + Retry-After (Tellescope
    retries non-2xx), never a 200 "duplicate" that a failing first attempt would make a lie."""
    entered, release = asyncio.Event(), asyncio.Event()
    calls: list[dict] = []

    async def slow(payload, deps, source=None):
        calls.append(payload)
        entered.set()
        await release.wait()
        return IntakeReport(model="endusers", type="create")

    monkeypatch.setattr(receiver, "process_webhook", slow)
    payload = record_webhook(ids=("64f000000000000000000555",))
    first = asyncio.create_task(post(secure, payload))
    await asyncio.wait_for(entered.wait(), 10)
    copy = await post(secure, payload)
    assert copy.status_code == 409, copy.text
    assert copy.headers["Retry-After"] == "5"
    assert copy.json()["info"]["retryAfterSeconds"] == 5
    release.set()
    assert (await first).json()["status"] == "processed"
    later = await post(secure, payload)
    assert later.status_code == 200 and later.json()["status"] == "duplicate"
    assert len(calls) == 1


async def test_deeply_nested_json_is_refused_with_the_limit_and_nothing_claimed(secure, intake):
    claims = secure_claims(secure)
    for depth in (65, 5000):
        body = ("[" * depth + "]" * depth).encode()
        response = await post(secure, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.json()["message"] == "JSON body nested deeper than 64 levels (the limit)"
        assert response.json()["info"] == {"limit": 64}
    assert intake == [] and secure_claims(secure) == claims


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.update(integrity="0" * 64), "Invalid webhook integrity"),
        (lambda p: p.update(integrity=sha("x")), "Invalid webhook integrity"),
        (lambda p: p["records"].reverse(), "Invalid webhook integrity"),
        (
            lambda p: p["records"].append({"id": "64f000000000000000000999"}),
            "Invalid webhook integrity",
        ),
        (lambda p: p.update(timestamp=str(int(p["timestamp"]) + 1)), "Invalid webhook integrity"),
    ],
)
async def test_bad_integrity_is_refused(secure, intake, mutate, message):
    payload = record_webhook()
    mutate(payload)
    count = secure_claims(secure)
    response = await post(secure, payload)
    assert response.status_code == 401
    assert response.json() == {"message": message, "code": 401, "info": {}}
    assert intake == [] and secure_claims(secure) == count


def secure_claims(h) -> int:
    from store.db import get_engine
    from store.webhooks import ProcessedWebhooks

    return ProcessedWebhooks(get_engine(h.store_url)).count()


async def test_wrong_secret_stale_and_future_deliveries_are_refused(secure, intake):
    now = int(time.time() * 1000)
    cases = [
        record_webhook(secret="another-secret-0123456789"),
        record_webhook(timestamp=str(now - 301_000)),  # correctly signed, 5 min + 1 s old
        record_webhook(timestamp=str(now + 301_000)),
        record_webhook(timestamp="not-a-time"),
    ]
    for payload in cases:
        response = await post(secure, payload)
        assert response.status_code == 401, response.text
    assert intake == []
    assert "Stale webhook" in (await post(secure, cases[1])).json()["message"]
    ok = await post(secure, record_webhook(timestamp=str(now - 200_000)))  # inside the window
    assert ok.status_code == 200


async def test_malformed_and_oversize_deliveries(secure, intake):
    response = await post(
        secure, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    response = await post(secure, [1, 2])
    assert response.status_code == 422
    payload = record_webhook()
    del payload["records"]
    response = await post(secure, payload)
    assert response.status_code == 422
    assert response.json()["message"] == "Value not provided for required field: records"
    response = await post(secure, {**record_webhook(), "type": "upsert"})
    assert response.status_code == 422 and response.json()["info"]["path"] == "type"
    big = record_webhook(padding="x" * LIMIT)
    response = await post(secure, big)
    assert response.status_code == 413
    assert intake == []


async def test_automation_and_calendar_reminder_webhooks(secure, intake):
    timestamp = str(int(time.time() * 1000))
    automation = {
        "type": "automation",
        "message": "hello",
        "timestamp": timestamp,
        "integrity": sha("hello" + timestamp + WEBHOOK_SECRET),
        "enduserId": "64f000000000000000000101",
    }
    reminder = {
        "type": "calendar_event_reminder",
        "event": {"id": "64f000000000000000000c0e", "title": "Visit"},
        "timestamp": timestamp,
        "integrity": sha("64f000000000000000000c0e" + timestamp + WEBHOOK_SECRET),
    }
    for payload in (automation, reminder):
        response = await post(secure, payload)
        assert response.status_code == 200, response.text
    assert intake == [automation, reminder]
    forged = {**automation, "message": "goodbye"}
    assert (await post(secure, forged)).status_code == 401


async def test_failed_processing_releases_the_claim(secure, monkeypatch):
    """A delivery whose processing fails (here the intake raises: a crash mid-request looks the
    same to the claim) is released, and Tellescope's retry is processed. The retry is a copy
    seen before: it reads nothing ahead, and the intake reads its records itself."""
    from triggers.readback import ReadAhead

    calls = []
    sources = []

    async def failing(payload, deps, source=None):
        calls.append(payload)
        sources.append(source)
        if len(calls) == 1:
            raise RuntimeError("intake down")
        return IntakeReport(model="endusers", type="create")

    monkeypatch.setattr(receiver, "process_webhook", failing)
    payload = record_webhook(ids=("64f000000000000000000777",))
    response = await post(secure, payload)
    assert response.status_code == 500
    assert set(response.json()) == {"message", "code", "info"}
    retry = await post(secure, payload)  # Tellescope's retry is processed
    assert retry.status_code == 200 and retry.json()["status"] == "processed"
    assert len(calls) == 2
    assert isinstance(sources[0], ReadAhead) and sources[1] is None


async def test_without_a_secret_every_delivery_is_refused(
    env, tellescope, sandbox_http, tmp_path, intake
):
    async with harness(env.client, tellescope, sandbox_http, tmp_path, webhook_secret=None) as h:
        response = await post(h, record_webhook())
    assert response.status_code == 401
    assert "not configured" in response.json()["message"]
    assert intake == []


async def test_sandbox_delivers_to_the_live_api(api, live_api, sandbox, sandbox_http):
    """End to end with the real intake: `journeys webhooks configure` points the sandbox at the
    live API; a new enduser's create webhook is verified, claimed once and processed."""
    environment = {
        **os.environ,
        "TELLESCOPE_BASE_URL": sandbox.base_url,
        "TELLESCOPE_API_KEY": "sandbox-dev-key",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    url = f"{live_api.url}/v1/webhooks/tellescope"
    result = subprocess.run(
        [sys.executable, "-m", "cli", "webhooks", "configure", "--url", url],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert url in result.stdout
    try:
        enduser_id = api.new_enduser()
        sandbox_http.post("/sandbox/webhooks/flush")
        logs = sandbox_http.get(
            "/v1/webhook-logs", params={"filter": json.dumps({"url": url})}
        ).json()
        created = [
            log
            for log in logs
            if log["payload"].get("model") == "endusers"
            and log["payload"]["records"][0]["id"] == enduser_id
        ]
        assert [log["responseCode"] for log in created] == [200], created
        assert created[0]["response"]["status"] == "processed"
    finally:  # stop deliveries: later tests create records too
        sandbox_http.post(
            "/v1/configure-webhooks",
            json={"url": url, "secret": WEBHOOK_SECRET, "subscriptions": {}},
        )
