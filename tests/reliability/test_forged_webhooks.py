"""Forged webhooks (docs/webhooks.md): Tellescope signs the record ids and the timestamp, nothing else, so
a captured delivery re-sent with other fields still carries a valid signature. Such forgeries,
sent as the first copy of their signature (so the receiver accepts them), change nothing the
real records do not support.

The real stack, as in test_webhook_floods: the API under uvicorn with the real intake, a Temporal
dev server, `python worker.py`, the sandbox as Tellescope. A journey with triggers (Appointment
Created, Tag Added "vip", Form Submitted -> Add To Journey) that sends a welcome SMS and then
waits a day, removing an enduser who writes in.

1. A victim is enrolled by a genuine delivery. Then forged deliveries built from real, signed
   ones aim at the victim: the model renamed (an enduser's id claimed to be an appointment with
   the victim as attendee, a submitted form response, an inbound SMS), the victim's outbound
   welcome SMS claimed inbound, a delete, records' enduser ids swapped. Before and after: the
   outbox, the ledger, the enrollments in Temporal (and their signals) and the records in
   Tellescope are the same (the receiver's claims aside).
2. "First to arrive": a forged copy of an appointment delivery (attendees swapped for the
   victim) reaches the API before the genuine one. The genuine one is refused (409), and the
   forged one did exactly what the genuine one would have: the real attendee enrolled, welcomed
   once; the victim untouched.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType

from api.main import create_app
from models.runtime import enrollment_workflow_id
from sandbox.seed import INTAKE_FORM
from settings import ApiSettings, EngineSettings, TellescopeSettings
from tests.reliability.harness import (
    DEV_KEY,
    DR_RIVERA,
    WELCOME_SMS,
    EngineStore,
    LiveApi,
    Row,
    WorkerProcess,
    scenario_seed,
    signed_delivery,
    until,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET = "reliability-forgery-secret-0123456789"
JOURNEY_ID = "rel-forged"
JOURNEY = f"""
journey:
  id: {JOURNEY_ID}
  title: Reliability forged webhooks
  onIncomingEnduserCommunication: Remove
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
  - id: later
    events: [{{type: afterAction, info: {{automationStepId: welcome, delay: 1, unit: Days}}}}]
    action: {{type: setEnduserStatus, info: {{status: Done}}}}
triggers:
  - id: forged-appointments
    title: Enroll on appointments
    status: Active
    event: {{type: Appointment Created, info: {{}}}}
    action: {{type: Add To Journey, info: {{journeyId: {JOURNEY_ID}, doNotRestart: true}}}}
  - id: forged-vip
    title: Enroll VIPs
    status: Active
    event: {{type: Tag Added, info: {{tag: vip}}}}
    action: {{type: Add To Journey, info: {{journeyId: {JOURNEY_ID}, doNotRestart: true}}}}
  - id: forged-intake
    title: Enroll on intake
    status: Active
    event: {{type: Form Submitted, info: {{formId: {INTAKE_FORM}}}}}
    action: {{type: Add To Journey, info: {{journeyId: {JOURNEY_ID}}}}}
"""


def forge(delivery: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The delivery with fields the signature does not cover changed (ids, timestamp and
    integrity kept: it still verifies)."""
    body = copy.deepcopy(delivery)
    records = changes.pop("records", None)
    body.update(changes)
    if records:
        for record in body["records"]:
            record.update(records)
    return body


async def post(http: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await http.post(
        "/v1/webhooks/tellescope",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )


async def test_forged_webhooks_change_nothing(dev_env, sandbox, sandbox_http, tmp_path, report):
    started = time.monotonic()
    seed = scenario_seed("forged-webhooks")
    store = EngineStore(tmp_path / "store")
    journey = store.deploy(JOURNEY, sandbox_http)
    client = dev_env.client
    address = client.service_client.config.target_host
    task_queue = f"rel-forged-{seed}"
    app = create_app(
        ApiSettings(webhook_secret=SECRET, webhook_tolerance_seconds=300),
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
    victim, patient = sandbox_http.create_endusers(2, tag="forged")
    sb = sandbox_http

    deliveries = iter(range(1_000_000))

    def signed(model: str, kind: str, records: list[dict], **extra: Any) -> dict[str, Any]:
        """What Tellescope would send (one timestamp per delivery, so one signature each)."""
        timestamp = str(int(time.time() * 1000) + next(deliveries))
        return signed_delivery(model, kind, records, SECRET, timestamp=timestamp, **extra)

    async def enrollments() -> dict[str, tuple[str, int]]:
        """Workflows on the task queue: status and number of signals received."""
        found: dict[str, tuple[str, int]] = {}
        async for execution in client.list_workflows(f'TaskQueue="{task_queue}"'):
            history = await client.get_workflow_handle(
                execution.id, run_id=execution.run_id
            ).fetch_history()
            signals = sum(
                1
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
            )
            found[f"{execution.id}/{execution.run_id}"] = (str(execution.status), signals)
        return found

    async def state() -> dict[str, Any]:
        await asyncio.sleep(2.0)  # anything a forgery had started would be under way by now
        ledger = store.ledger.list(limit=100_000)
        return {
            "outbox": sb.outbox(),
            "ledger": sorted(
                (r.id, r.status, r.enduser_id, r.automation_step_id, r.cancel_reason)
                for r in ledger
            ),
            "enrollments": await enrollments(),
            "endusers": {e: sb.enduser(e) for e in (victim, patient)},
            "appointments": sb.records("calendar-events"),
            "form responses": sb.records("form-responses"),
            "sms": sb.records("sms-messages"),
        }

    sent: list[tuple[str, int, str]] = []
    try:
        with LiveApi(app) as api:
            async with httpx.AsyncClient(base_url=api.url, timeout=60) as http:
                # --- the victim, enrolled by a genuine delivery --------------------------------
                before = sb.enduser(victim)
                after = sb.ok(
                    sb.http.patch(f"/v1/enduser/{victim}", json={"updates": {"tags": ["vip"]}})
                )
                genuine = signed(
                    "endusers",
                    "update",
                    [after],
                    updates=[{"recordBeforeUpdate": before, "update": {"tags": ["vip"]}}],
                )
                response = await post(http, genuine)
                assert response.json()["status"] == "processed", response.text
                await until(
                    lambda: (
                        sorted(r.status for r in store.ledger.list(enduser_id=victim))
                        == ["active", "finished"]
                    ),
                    timeout=60,
                    what="the victim welcomed and waiting",
                )
                [welcome] = [e for e in sb.outbox() if e["enduserId"] == victim]
                [welcome_sms] = sb.records("sms-messages", enduserId=victim)
                response_record = sb.ok(
                    sb.http.post(
                        "/v1/prepare-form-response",
                        json={"formId": INTAKE_FORM, "enduserId": patient},
                    )
                )["response"]
                steps = journey.plan.tellescopeStepIds

                # --- 1. forgeries aimed at the victim ------------------------------------------
                baseline = await state()
                victim_now = sb.enduser(victim)
                attendees = [{"type": "enduser", "id": victim}]
                inbound = {"inbound": True, "enduserId": victim, "message": "STOP"}
                attack = [
                    # an enduser's id claimed to be an appointment, a form response, an SMS
                    forge(
                        signed("endusers", "update", [victim_now]),
                        model="calendar_events",
                        type="create",
                        records={"attendees": attendees},
                    ),
                    forge(
                        signed("endusers", "update", [victim_now]),
                        model="form_responses",
                        updates=[{"recordBeforeUpdate": {}, "update": {}}],
                        records={
                            "enduserId": victim,
                            "formId": INTAKE_FORM,
                            "submittedAt": "2030-01-01T00:00:00.000Z",
                            "automationStepId": steps["later"],
                        },
                    ),
                    forge(
                        signed("endusers", "update", [victim_now]),
                        model="sms_messages",
                        type="create",
                        records=inbound,
                    ),
                    forge(
                        signed("endusers", "update", [victim_now]),
                        model="chats",
                        type="create",
                        records={"senderId": victim, "roomId": victim},
                    ),
                    # the victim's real (outbound) welcome SMS claimed inbound
                    forge(
                        signed("sms_messages", "update", [welcome_sms]),
                        type="create",
                        records=inbound,
                    ),
                    # a real form response (the patient's, not submitted) claimed submitted by
                    # the victim
                    forge(
                        signed("form_responses", "create", [response_record]),
                        type="update",
                        updates=[{"recordBeforeUpdate": {}, "update": {}}],
                        records={"enduserId": victim, "submittedAt": "2030-01-01T00:00:00.000Z"},
                    ),
                    # a tag the victim does not have, claimed added
                    forge(
                        signed("endusers", "update", [victim_now]),
                        updates=[{"recordBeforeUpdate": {"tags": ["vip"]}, "update": {}}],
                        records={"tags": ["vip", "gold"], "fname": "Mallory"},
                    ),
                    forge(signed("endusers", "create", [victim_now]), type="delete"),
                    forge(signed("endusers", "create", [victim_now]), model="purchases"),
                ]
                for body in attack:
                    response = await post(http, body)
                    sent.append((body["model"], response.status_code, response.text[:300]))
                    assert response.status_code == 200, response.text
                    report_body = response.json()["report"]
                    assert not report_body["signals"] and not any(
                        d["firings"] for d in report_body["dispatched"]
                    ), response.text
                assert await state() == baseline
                assert welcome in sb.outbox()

                # --- 2. the forged copy arrives first --------------------------------------------
                event = sb.ok(
                    sb.http.post(
                        "/v1/calendar-event",
                        json={
                            "title": "Visit",
                            "startTimeInMS": 1_900_000_000_000,
                            "durationInMinutes": 30,
                            "attendees": [{"type": "enduser", "id": patient}],
                        },
                    )
                )
                genuine = signed("calendar_events", "create", [event])
                forged = forge(genuine, records={"attendees": attendees})
                first = await post(http, forged)
                second = await post(http, genuine)
                sent += [("calendar_events", first.status_code, ""), ("", second.status_code, "")]
                assert first.status_code == 200 and first.json()["status"] == "processed"
                assert second.status_code == 409, second.text
                await until(
                    lambda: (
                        sorted(r.status for r in store.ledger.list(enduser_id=patient))
                        == ["active", "finished"]
                    ),
                    timeout=60,
                    what="the real attendee welcomed and waiting",
                )
                final = await state()
                unhandled = api.unhandled()

        assert unhandled == [], "\n".join(unhandled[:5])
        # the victim: as before; the patient: enrolled once, welcomed once
        assert final["endusers"][victim] == baseline["endusers"][victim]
        assert [e for e in final["outbox"] if e["enduserId"] == victim] == [welcome]
        patient_messages = [e for e in final["outbox"] if e["enduserId"] == patient]
        assert [(e["automationStepId"], e["channel"]) for e in patient_messages] == [
            (journey.tellescope_step("welcome"), "sms")
        ]
        victim_runs = {k: v for k, v in final["enrollments"].items() if victim in k.split("/")[0]}
        assert victim_runs == {
            k: v for k, v in baseline["enrollments"].items() if victim in k.split("/")[0]
        }
        assert enrollment_workflow_id(JOURNEY_ID, patient) in {
            k.split("/")[0] for k in final["enrollments"]
        }
        assert [r for r in final["ledger"] if r[2] == victim] == [
            r for r in baseline["ledger"] if r[2] == victim
        ]
    except BaseException:
        print(worker.tail())
        raise
    finally:
        worker.stop()
        for enduser_id in (victim, patient):
            try:
                await client.get_workflow_handle(
                    enrollment_workflow_id(JOURNEY_ID, enduser_id)
                ).terminate("test finished")
            except Exception:
                pass

    report.add(
        Row(
            scenario="forged webhooks",
            enrollments=2,
            faults=len(attack) + 1,
            fault_kinds=f"{len(attack)} forged deliveries aimed at an enrolled victim, 1 forged"
            " copy arriving before the genuine one",
            messages=len(final["outbox"]),
            duplicates=0,
            lost=0,
            seconds=time.monotonic() - started,
            notes="no state change from any forgery; the first-arriving forgery acted as the"
            " genuine delivery would have",
        )
    )
