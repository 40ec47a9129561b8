"""Webhook floods: the Tellescope receiver takes concurrent deliveries (valid ones, duplicates,
replays with another body, replays with an old timestamp, bad integrity, malformed JSON) and
the state changes only for the accepted ones, once each.

The real stack: the API under uvicorn with the real intake (no stub), a Temporal dev server,
`python worker.py` (journeys and trigger firings), the sandbox as Tellescope. Two floods:

1. enduser-created deliveries: a trigger (Contact Created -> Add To Journey) enrolls each
   enduser with a valid delivery exactly once (one welcome SMS); endusers that only get rejected
   deliveries have no enrollment, no AutomatedAction, no message and no claim;
2. inbound-SMS deliveries to those enrollments (the journey removes on incoming messages):
   an enrollment with a valid delivery gets exactly one `incoming_message` signal and is
   removed; one that only gets rejected deliveries gets no signal and keeps waiting.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.main import create_app
from models.runtime import enrollment_workflow_id
from settings import ApiSettings, EngineSettings, TellescopeSettings
from store.db import get_engine
from store.webhooks import ProcessedWebhooks
from tests.reliability.harness import (
    DEV_KEY,
    DR_RIVERA,
    WELCOME_SMS,
    EngineStore,
    LiveApi,
    Row,
    WorkerProcess,
    count_messages,
    scenario_seed,
    signed_delivery,
    until,
)
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET = "reliability-webhook-secret-0123456789"
TOLERANCE = 300
ACCEPTED_ENDUSERS = 60  # get valid enduser-created deliveries (and are enrolled)
REJECTED_ENDUSERS = 60  # get only rejected ones
CHECK_IN_SMS = "64f000000000000000000b07"
JOURNEY = f"""
journey:
  id: rel-flood
  title: Reliability webhook flood
  onIncomingEnduserCommunication: Remove
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
  - id: check-in
    events: [{{type: afterAction, info: {{automationStepId: welcome, delay: 1, unit: Days}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{CHECK_IN_SMS}"}}}}
triggers:
  - id: enroll-new-contacts
    title: Enroll new contacts
    status: Active
    event: {{type: Contact Created, info: {{}}}}
    action: {{type: Add To Journey, info: {{journeyId: rel-flood}}}}
"""

REJECTIONS = ("bad-integrity", "wrong-secret", "stale", "future", "malformed-json", "bad-shape")
EXPECTED_STATUS = {
    "bad-integrity": {401},
    "wrong-secret": {401},
    "stale": {401},
    "future": {401},
    "malformed-json": {400},
    "bad-shape": {422},
}


@dataclass
class Sent:
    enduser: str
    kind: str  # valid | tampered | one of REJECTIONS
    body: bytes
    status: int = 0
    answer: str = ""
    retried: int = 0  # 409 + Retry-After answers before the final one


def _bytes(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def rejected_variant(kind: str, payload: dict, rng: random.Random) -> bytes:
    """A delivery the receiver must refuse, built from a valid one."""
    records = payload["records"]
    model, operation = payload["model"], payload["type"]
    now = int(time.time() * 1000)
    if kind == "bad-integrity":
        digest = payload["integrity"]
        flipped = "0" if digest[-1] != "0" else "1"
        return _bytes({**payload, "integrity": digest[:-1] + flipped})
    if kind == "wrong-secret":
        return _bytes(signed_delivery(model, operation, records, "not-the-secret-0123456789"))
    if kind == "stale":  # a captured delivery replayed 10 minutes later, correctly signed
        return _bytes(
            signed_delivery(model, operation, records, SECRET, timestamp=str(now - 600_000))
        )
    if kind == "future":
        return _bytes(
            signed_delivery(model, operation, records, SECRET, timestamp=str(now + 600_000))
        )
    if kind == "malformed-json":
        text = _bytes(payload)
        return text[: rng.randrange(1, len(text) - 1)]
    assert kind == "bad-shape"
    broken = rng.choice(
        [
            {k: v for k, v in payload.items() if k != "records"},
            {**payload, "type": "upsert"},
            {**payload, "records": []},
            {**payload, "integrity": ""},
            {**payload, "records": [{"fname": "no id"}]},
        ]
    )
    return _bytes(broken)


def flood_for(
    enduser_id: str, payload: dict, accepted: bool, rng: random.Random, tamper: str
) -> list[Sent]:
    """Deliveries about one enduser: accepted ones get 1-4 identical copies and 0-2 copies with
    another body (the same ids, timestamp and integrity); rejected ones get 2-4 refusals."""
    if accepted:
        sent = [Sent(enduser_id, "valid", _bytes(payload)) for _ in range(rng.randint(1, 4))]
        for index in range(rng.randint(0, 2)):
            body = json.loads(json.dumps(payload))
            body["records"][0][tamper] = f"Mallory {index}"
            sent.append(Sent(enduser_id, "tampered", _bytes(body)))
        return sent
    kinds = [rng.choice(REJECTIONS) for _ in range(rng.randint(2, 4))]
    return [Sent(enduser_id, kind, rejected_variant(kind, payload, rng)) for kind in kinds]


async def deliver(api_url: str, flood: list[Sent]) -> None:
    """Every delivery at once (32 in flight), in the (seeded) order given."""
    semaphore = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:

        async def one(item: Sent) -> None:
            # As Tellescope does, a 409 with Retry-After (a copy that arrived while the first
            # was still being processed) is retried; the wait is capped at 1 s to keep the test
            # short. A replay with another body gets 409 without Retry-After: final.
            for _attempt in range(30):
                async with semaphore:
                    response = await http.post(
                        "/v1/webhooks/tellescope",
                        content=item.body,
                        headers={"content-type": "application/json"},
                    )
                if response.status_code != 409 or "retry-after" not in response.headers:
                    break
                item.retried += 1
                await asyncio.sleep(min(1.0, float(response.headers["retry-after"])))
            item.status = response.status_code
            try:
                item.answer = response.json().get("status", "")
            except (ValueError, AttributeError):
                item.answer = response.text[:100]

        await asyncio.gather(*(one(item) for item in flood))


def check_answers(flood: list[Sent], accepted: list[str]) -> Counter[str]:
    """Per accepted enduser exactly one delivery was processed; the copies with its body are
    duplicates and those with another body are refused as replays (409); every rejection got
    its status. Returns the tally of answers."""
    tally: Counter[str] = Counter()
    by_enduser: dict[str, list[Sent]] = {}
    for item in flood:
        by_enduser.setdefault(item.enduser, []).append(item)
        tally[f"{item.status} {item.answer}" if item.status == 200 else str(item.status)] += 1
    for enduser_id, items in by_enduser.items():
        if enduser_id in accepted:
            processed = [i for i in items if i.status == 200 and i.answer == "processed"]
            assert len(processed) == 1, [(i.kind, i.status, i.answer) for i in items]
            winner = processed[0].body
            for item in items:
                if item is processed[0]:
                    continue
                wanted = (200, "duplicate") if item.body == winner else (409, "")
                got = (item.status, item.answer if item.status == 200 else "")
                assert got == wanted, (item.kind, item.status, item.answer)
        else:
            for item in items:
                assert item.status in EXPECTED_STATUS[item.kind], (item.kind, item.status)
    return tally


def signals_named(history, name: str) -> int:
    return sum(
        1
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and event.workflow_execution_signaled_event_attributes.signal_name == name
    )


async def test_webhook_floods_change_state_only_for_accepted_deliveries(
    dev_env, sandbox, sandbox_http, tmp_path, report
):
    started = time.monotonic()
    seed = scenario_seed("webhook-floods")
    rng = random.Random(seed)
    print(f"\nwebhook floods: seed {seed}")
    store = EngineStore(tmp_path / "store")
    journey = store.deploy(JOURNEY, sandbox_http)
    client = dev_env.client
    address = client.service_client.config.target_host
    task_queue = f"rel-flood-{seed}"
    claims = ProcessedWebhooks(get_engine(store.url))
    app = create_app(
        ApiSettings(webhook_secret=SECRET, webhook_tolerance_seconds=TOLERANCE),
        engine_settings=EngineSettings(
            database_url=store.url, task_queue=task_queue, temporal_address=address
        ),
        tellescope_settings=TellescopeSettings(
            base_url=sandbox.base_url, api_key=DEV_KEY, timeout_seconds=10
        ),
    )
    worker = WorkerProcess(
        temporal_address=address,
        task_queue=task_queue,
        database_url=store.url,
        tellescope_url=sandbox.base_url,
        log=tmp_path / "worker.log",
    ).start()
    endusers = sandbox_http.create_endusers(ACCEPTED_ENDUSERS + REJECTED_ENDUSERS, tag="flood")
    rng.shuffle(endusers)
    accepted, rejected = endusers[:ACCEPTED_ENDUSERS], endusers[ACCEPTED_ENDUSERS:]
    handles = {
        e: client.get_workflow_handle_for(
            JourneyWorkflow.run, enrollment_workflow_id("rel-flood", e)
        )
        for e in endusers
    }
    try:
        with LiveApi(app) as api:
            # --- flood 1: enduser created ---------------------------------------------------
            records = {e: sandbox_http.enduser(e) for e in endusers}
            flood1: list[Sent] = []
            for enduser_id in endusers:
                payload = signed_delivery("endusers", "create", [records[enduser_id]], SECRET)
                flood1 += flood_for(enduser_id, payload, enduser_id in accepted, rng, "fname")
            rng.shuffle(flood1)
            await deliver(api.url, flood1)
            tally1 = check_answers(flood1, accepted)

            async def waiting_for_check_in() -> bool:
                for enduser_id in accepted:
                    rows = store.ledger.list(
                        journey_id="rel-flood", enduser_id=enduser_id, step_id="check-in"
                    )
                    if [r.status for r in rows] != ["active"]:
                        return False
                return True

            await until(waiting_for_check_in, timeout=120, what="every enrollment waiting")
            claims_after_1 = claims.count()

            # --- flood 2: inbound SMS to the enrollments --------------------------------------
            signalled, untouched = accepted[: len(accepted) // 2], accepted[len(accepted) // 2 :]
            flood2: list[Sent] = []
            for enduser_id in accepted:
                sms = sandbox_http.ok(
                    sandbox_http.http.post(
                        "/sandbox/patient/sms", json={"enduserId": enduser_id, "message": "STOP"}
                    )
                )["sms"]
                payload = signed_delivery("sms_messages", "create", [sms], SECRET)
                flood2 += flood_for(enduser_id, payload, enduser_id in signalled, rng, "message")
            rng.shuffle(flood2)
            await deliver(api.url, flood2)
            tally2 = check_answers(flood2, signalled)
            removed = await asyncio.wait_for(
                asyncio.gather(*(handles[e].result() for e in signalled)), timeout=120
            )
            # Replays of accepted deliveries: exact copies (acknowledged, not processed again),
            # and the same records signed with a timestamp 10 minutes old (refused as stale).
            replays = [
                Sent(item.enduser, "valid", item.body)
                for item in rng.sample([i for i in flood1 if i.answer == "processed"], 10)
            ]
            old = str(int(time.time() * 1000) - 600_000)
            replays += [
                Sent(
                    e,
                    "stale",
                    _bytes(
                        signed_delivery("endusers", "create", [records[e]], SECRET, timestamp=old)
                    ),
                )
                for e in rng.sample(accepted, 10)
            ]
            await deliver(api.url, replays)
            assert [(r.status, r.answer) for r in replays] == [(200, "duplicate")] * 10 + [
                (401, "")
            ] * 10, [(r.kind, r.status, r.answer) for r in replays]
            unhandled = api.unhandled()

        # --- what changed, and what did not --------------------------------------------------
        assert unhandled == [], "\n".join(unhandled[:5])
        assert {r.outcome for r in removed} == {"removed"}
        for enduser_id in signalled:
            history = await handles[enduser_id].fetch_history()
            assert signals_named(history, "incoming_message") == 1, enduser_id
        for enduser_id in untouched:
            description = await handles[enduser_id].describe()
            assert description.status == WorkflowExecutionStatus.RUNNING, enduser_id
            history = await handles[enduser_id].fetch_history()
            assert signals_named(history, "incoming_message") == 0, enduser_id
        for enduser_id in rejected:
            with pytest.raises(RPCError) as missing:
                await handles[enduser_id].describe()
            assert missing.value.status == RPCStatusCode.NOT_FOUND, enduser_id
            assert store.ledger.list(enduser_id=enduser_id) == [], enduser_id
            assert journey.record_id not in (sandbox_http.enduser(enduser_id).get("journeys") or {})
        rows = claims.recent(1000)
        assert claims_after_1 == len(accepted)
        assert claims.count() == len(accepted) + len(signalled)
        assert {r.status for r in rows} == {"processed"}
        claimed = {i for r in rows for i in r.record_ids}
        assert claimed.isdisjoint(rejected)
        statuses = store.step_statuses("rel-flood")
        assert statuses == {
            ("welcome", "finished"): len(accepted),
            ("check-in", "active"): len(untouched),
            ("check-in", "cancelled"): len(signalled),
        }, statuses
    except BaseException:
        print(worker.tail())
        raise
    finally:
        worker.stop()
        for enduser_id in accepted:
            try:
                await handles[enduser_id].terminate("test finished")
            except RPCError:
                pass

    expected = {(e, journey.tellescope_step("welcome"), "sms") for e in accepted}
    counted = count_messages(sandbox_http.outbox(journey.record_id), expected)
    everything = flood1 + flood2 + replays
    rejected_count = sum(1 for i in everything if i.status >= 400)
    duplicate_count = sum(1 for i in everything if i.answer == "duplicate")
    retried_count = sum(1 for i in everything if i.retried)
    report.add(
        Row(
            scenario="webhook floods",
            enrollments=len(accepted),
            faults=rejected_count + duplicate_count,
            fault_kinds=f"{rejected_count} deliveries rejected, {duplicate_count} duplicates"
            f" acknowledged ({retried_count} after a 409 while the first was in flight), of"
            f" {len(everything)}",
            messages=counted.sent,
            duplicates=counted.duplicates,
            lost=counted.lost,
            seconds=time.monotonic() - started,
            notes=f"answers: flood 1 {dict(tally1)}, flood 2 {dict(tally2)};"
            f" {len(signalled)} enrollments removed by one signal each, {len(untouched)}"
            f" untouched, {len(rejected)} endusers never enrolled",
        )
    )
    assert counted.duplicates == 0 and counted.lost == 0, counted.examples
