"""Business metrics after an end-to-end run (docs/metrics.md): the counts scraped from the
worker's and the API's /metrics equal the ledger's and what was sent.

The real stack: `python worker.py` with METRICS_PORT set, the API under uvicorn (real intake),
a Temporal dev server, the sandbox as Tellescope. Endusers are enrolled by a trigger (Contact
Created -> Add To Journey) from signed webhook deliveries: those with a phone get the welcome
SMS, a 2-second timer step and then wait a day at `check-in`; those without a phone fail the
welcome SMS (Tellescope's non-retryable "Missing phone"). One enrolled enduser texts back and
is removed (its waiting action cancelled). Beside the valid deliveries: one exact duplicate and
one with a bad integrity hash (rejected). The worker runs without a workflow cache, so that
every workflow task replays: what replay recorded would show as double counts.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.main import create_app
from models.runtime import enrollment_workflow_id
from settings import ApiSettings, EngineSettings, TellescopeSettings
from tests.reliability.harness import (
    DEV_KEY,
    DR_RIVERA,
    WELCOME_SMS,
    EngineStore,
    LiveApi,
    WorkerProcess,
    free_port,
    signed_delivery,
    until,
)
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET = "metrics-webhook-secret-0123456789"
CHECK_IN_SMS = "64f000000000000000000b07"
JOURNEY_ID = "rel-metrics"
JOURNEY = f"""
journey:
  id: {JOURNEY_ID}
  title: Metrics end to end
  onIncomingEnduserCommunication: Remove
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
  - id: soon
    events: [{{type: afterAction, info: {{automationStepId: welcome, delay: 2, unit: Seconds}}}}]
    action: {{type: setEnduserStatus, info: {{status: Welcomed}}}}
  - id: check-in
    events: [{{type: afterAction, info: {{automationStepId: soon, delay: 1, unit: Days}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{CHECK_IN_SMS}"}}}}
triggers:
  - id: enroll-new-contacts
    title: Enroll new contacts
    status: Active
    event: {{type: Contact Created, info: {{}}}}
    action: {{type: Add To Journey, info: {{journeyId: {JOURNEY_ID}}}}}
  - id: vip-only
    title: Tag VIPs
    status: Active
    event: {{type: Contact Created, info: {{}}}}
    enduserCondition: {{$and: [{{condition: {{tags: vip-never-set}}}}]}}
    action: {{type: Add Tags, info: {{tags: [vip]}}}}
"""
WITH_PHONE, WITHOUT_PHONE = 4, 2


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)] of a Prometheus exposition."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def total(found: dict, name: str, **labels: str) -> float:
    return sum(
        value
        for got, value in found.get(name, [])
        if all(got.get(key) == wanted for key, wanted in labels.items())
    )


async def test_scraped_metrics_equal_the_ledger(dev_env, sandbox, sandbox_http, tmp_path):
    started = time.monotonic()
    store = EngineStore(tmp_path / "store")
    store.deploy(JOURNEY, sandbox_http)
    client = dev_env.client
    address = client.service_client.config.target_host
    task_queue = f"rel-metrics-{int(started)}"
    metrics_port = free_port()
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
        # No workflow cache: every workflow task replays the enrollment's history first, so a
        # metric recorded during replay would count twice (workflows/metrics.py).
        extra_env={
            "METRICS_PORT": str(metrics_port),
            "METRICS_HOST": "127.0.0.1",
            "MAX_CACHED_WORKFLOWS": "0",
        },
    ).start()
    reachable = sandbox_http.create_endusers(WITH_PHONE, tag="metrics")
    unreachable = sandbox_http.create_endusers(WITHOUT_PHONE, phone=False, tag="metrics-nophone")
    endusers = reachable + unreachable
    sent: Counter[str] = Counter()
    try:
        with LiveApi(app) as api, httpx.Client(base_url=api.url, timeout=60) as http:

            def post(body: dict | bytes, expected: str) -> None:
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                response = http.post(
                    "/v1/webhooks/tellescope",
                    content=content,
                    headers={"content-type": "application/json"},
                )
                answer = response.json().get("status") if response.status_code == 200 else ""
                outcome = answer or ("rejected" if response.status_code in (400, 401, 422) else "")
                assert outcome == expected, (response.status_code, response.text[:300])
                sent[outcome] += 1

            deliveries = {
                e: signed_delivery("endusers", "create", [sandbox_http.enduser(e)], SECRET)
                for e in endusers
            }
            for enduser_id in endusers:
                await asyncio.to_thread(post, deliveries[enduser_id], "processed")
            await asyncio.to_thread(post, deliveries[endusers[0]], "duplicate")
            forged = dict(deliveries[endusers[1]], integrity="0" * 64)
            await asyncio.to_thread(post, forged, "rejected")

            def settled() -> bool:
                statuses = store.step_statuses(JOURNEY_ID)
                return (
                    statuses[("welcome", "finished")] == WITH_PHONE
                    and statuses[("welcome", "error")] == WITHOUT_PHONE
                    and statuses[("soon", "finished")] == WITH_PHONE
                    and statuses[("check-in", "active")] == WITH_PHONE
                )

            await until(settled, timeout=90, what="every enrollment waiting at check-in")
            # One patient texts back: removed, its waiting check-in cancelled.
            texting = reachable[0]
            sms = sandbox_http.ok(
                sandbox_http.http.post(
                    "/sandbox/patient/sms", json={"enduserId": texting, "message": "STOP"}
                )
            )["sms"]
            await asyncio.to_thread(
                post, signed_delivery("sms_messages", "create", [sms], SECRET), "processed"
            )
            handle = client.get_workflow_handle_for(
                JourneyWorkflow.run, enrollment_workflow_id(JOURNEY_ID, texting)
            )
            assert (await asyncio.wait_for(handle.result(), 60)).outcome == "removed"
            for enduser_id in unreachable:
                result = await client.get_workflow_handle_for(
                    JourneyWorkflow.run, enrollment_workflow_id(JOURNEY_ID, enduser_id)
                ).result()
                assert result.outcome == "completed"

            def ledger_settled() -> bool:
                return store.step_statuses(JOURNEY_ID)[("check-in", "cancelled")] == 1

            await until(ledger_settled, timeout=30, what="the cancelled check-in in the ledger")
            api_metrics = samples(http.get("/metrics").text)
            assert api.unhandled() == []

        statuses = store.step_statuses(JOURNEY_ID)

        # --- the worker: actions per step as in the ledger, enrollments, lateness -----------
        async def worker_scrape() -> dict | None:
            async with httpx.AsyncClient() as scraper:
                text = (await scraper.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            found = samples(text)
            cancelled = total(found, "journeys_actions_cancelled_total", journey=JOURNEY_ID)
            return found if cancelled >= 1 else None

        worker_metrics = await until(worker_scrape, timeout=30, what="the worker's metrics")
        # The enrollments were replayed (no cache), and nothing counted twice below.
        assert total(worker_metrics, "temporal_workflow_task_replay_latency_count") > 0
        counters = {
            "finished": "journeys_actions_finished_total",
            "cancelled": "journeys_actions_cancelled_total",
            "error": "journeys_actions_errored_total",
        }
        for step in ("welcome", "soon", "check-in"):
            for status, name in counters.items():
                scraped = total(worker_metrics, name, journey=JOURNEY_ID, step=step)
                assert scraped == statuses[(step, status)], (step, status, scraped, statuses)
        errored = [
            labels
            for labels, value in worker_metrics["journeys_actions_errored_total"]
            if value and labels.get("journey") == JOURNEY_ID
        ]
        assert {labels["error_class"] for labels in errored} == {"TellescopeRejected"}
        cancelled = worker_metrics["journeys_actions_cancelled_total"]
        assert {labels["reason"] for labels, value in cancelled if value} == {
            "incoming_communication"
        }
        enrollment = {
            event: total(worker_metrics, f"journeys_enrollments_{event}_total", journey=JOURNEY_ID)
            for event in ("started", "restarted", "completed", "removed")
        }
        assert enrollment == {
            "started": len(endusers),
            "restarted": 0,
            "completed": WITHOUT_PHONE,
            "removed": 1,
        }
        # Lateness: one observation per action that started (welcome x6, soon x4).
        late = total(worker_metrics, "journeys_action_lateness_seconds_count", journey=JOURNEY_ID)
        assert late == len(endusers) + WITH_PHONE
        for labels, _value in (
            pair for pairs in worker_metrics.values() for pair in pairs
        ):  # no patient data in any label
            assert not set(labels.values()) & set(endusers), labels

        # --- the API: webhook outcomes as sent, trigger decisions, the waiting gauge --------
        for outcome in ("processed", "duplicate", "in_progress", "conflict", "rejected", "error"):
            scraped = total(api_metrics, "journeys_webhook_deliveries_total", outcome=outcome)
            assert scraped == sent[outcome], (outcome, scraped, sent)
        assert sent == {"processed": len(endusers) + 1, "duplicate": 1, "rejected": 1}
        fired = total(api_metrics, "journeys_trigger_firings_total", trigger="enroll-new-contacts")
        assert fired == len(endusers)
        skipped = total(
            api_metrics,
            "journeys_trigger_skips_total",
            trigger="vip-only",
            reason="enduserCondition",
        )
        assert skipped == len(endusers)
        waiting = total(
            api_metrics, "journeys_actions_waiting", journey=JOURNEY_ID, step="check-in"
        )
        assert waiting == statuses[("check-in", "active")] == WITH_PHONE - 1
        assert total(api_metrics, "journeys_actions_overdue", journey=JOURNEY_ID) == 0
    finally:
        worker.stop()
    print(f"\nmetrics end to end: {time.monotonic() - started:.1f} s")
