"""Webhook-to-signal latency through the API, against a bare Temporal signal.

    python -m bench.webhooks [--webhooks 200] [--triggers 1000] [--profile-api api.json]

Ours: N enrollments wait at their first step; for each, one signed Tellescope record webhook
(a form response newly submitted for that step) is POSTed to the API (`journeys api`, its own
process), one at a time. Latency = the time the enrollment's history records the form_submitted
signal minus the time the webhook was sent: integrity check, replay claim, the read-back of the
record from Tellescope (the intake acts on records read back by id, never on the body),
mapping, routing by step id, the signal RPC. The form responses are real records in the
sandbox, submitted there just before their webhook is sent (outside the measured time). The
journey also holds `--triggers` Form Submitted triggers (none of which matches the form), so
each webhook's Form Submitted event is evaluated against them after the signal went out; the
HTTP response time, which includes that, is reported beside. Then the read-back alone, from
this process, once per webhook and spaced as they were: the round trip the signal waits for.
Bare: N workflows waiting for a signal, each signalled once from this process; latency = the
history's signal time minus the time the signal was sent. Same fresh dev server, same worker.
With --profile-api the API runs under py-spy, which writes a speedscope profile.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.bare_workflows import BareInput, BareParkedWorkflow
from bench.common import RESULTS, gather_bounded, percentile, progress, stack
from bench.http_load import LeanClient
from bench.runtime_bench import CONCURRENCY, enroll
from bench.triggers_bench import triggers_journey
from bench.workers import BareTellescope, engine_worker

FORM_TITLE = "Bench webhook form"  # a form no trigger listens to (created in the sandbox)


def signed_webhook(record: dict, before: dict, secret: str) -> dict:
    timestamp = str(int(time.time() * 1000))
    return {
        "model": "form_responses",
        "type": "update",
        "records": [record],
        "updates": [
            {"recordBeforeUpdate": before, "update": {"submittedAt": record["submittedAt"]}}
        ],
        "timestamp": timestamp,
        "integrity": hashlib.sha256((record["id"] + timestamp + secret).encode()).hexdigest(),
        "relatedRecords": {},
    }


async def signal_time(client, workflow_id: str, name: str) -> float | None:
    """When the workflow's history recorded the signal `name` (epoch seconds)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    for event in history.events:
        if event.HasField("workflow_execution_signaled_event_attributes"):
            if event.workflow_execution_signaled_event_attributes.signal_name == name:
                return event.event_time.ToDatetime(tzinfo=UTC).timestamp()
    return None


async def _parked(s, journey: str, ours: int, bare: BareTellescope, bare_count: int) -> None:
    """Until every enrollment ran its first step (the ledger says so) and every bare workflow
    its activity: both sides wait for their signal."""
    from store.ledger import Ledger

    ledger = Ledger(s.plans().engine)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        counts = ledger.step_counts(journey)
        done = sum(c[4] for c in counts if c[0] == "hello" and c[2] == "finished")
        if done >= ours and bare.count >= bare_count:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("enrollments did not park")


def _stats(values: list[float]) -> dict:
    return {
        "p50_ms": round(percentile(values, 50), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(max(values), 2),
    }


async def run(
    count: int, trigger_count: int, folder: Path | None = None, profile_api: Path | None = None
) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as temporary:
        async with stack(
            Path(folder or temporary), api=True, memory=True, profile_api=profile_api
        ) as s:
            journey, plan = s.deploy(triggers_journey(trigger_count, "bench-webhooks"))
            step_id = plan.tellescopeStepIds["hello"]
            people = s.endusers(2 * count + 1)
            bare = BareTellescope(s.sandbox_url)
            worker, close = engine_worker(
                s.client,
                task_queue=s.task_queue,
                database_url=s.database_url,
                sandbox_url=s.sandbox_url,
                bare=bare,
            )
            http = LeanClient(s.api_url, {}, 1)
            sandbox = s.sandbox_http()
            try:
                async with worker:
                    progress(f"webhooks: {count} enrollments, then {count} bare workflows, park")
                    ours_people, bare_people = people[:count], people[count : 2 * count]
                    await gather_bounded(
                        CONCURRENCY,
                        [
                            lambda e=e: enroll(s, s.client, journey, e, s.task_queue)
                            for e in [*ours_people, people[-1]]
                        ],
                    )
                    run_id = uuid.uuid4().hex[:8]
                    bare_ids = [f"bare-webhook-{run_id}-{i}" for i in range(count)]
                    await gather_bounded(
                        CONCURRENCY,
                        [
                            lambda e=e, w=w: s.client.start_workflow(
                                BareParkedWorkflow.run,
                                BareInput(enduser_id=e, tag="parked"),
                                id=w,
                                task_queue=s.task_queue,
                            )
                            for e, w in zip(bare_people, bare_ids, strict=True)
                        ],
                    )
                    await _parked(s, journey, count + 1, bare, count)

                    form = sandbox.post("/v1/form", json={"title": FORM_TITLE})
                    form.raise_for_status()

                    def submitted(enduser: str) -> tuple[dict, dict]:
                        """A real form response of the enduser for the step, before and after
                        it is submitted (the intake reads it back from the sandbox)."""
                        created = sandbox.post(
                            "/v1/form-response",
                            json={
                                "formId": form.json()["id"],
                                "enduserId": enduser,
                                "automationStepId": step_id,
                            },
                        )
                        created.raise_for_status()
                        before = created.json()
                        now = datetime.now(UTC).isoformat(timespec="milliseconds")
                        after = sandbox.patch(
                            f"/v1/form-response/{before['id']}",
                            json={"updates": {"submittedAt": now}},
                        )
                        after.raise_for_status()
                        return before, after.json()

                    response_ids: list[str] = []

                    async def post(enduser: str) -> tuple[float, float]:
                        before, record = submitted(enduser)
                        response_ids.append(record["id"])
                        body = signed_webhook(record, before, s.webhook_secret)
                        sent = time.time()
                        answer = await http.post_json("/v1/webhooks/tellescope", body)
                        done = time.time()
                        delivered = answer["report"]["signals"]
                        if not delivered or not delivered[0]["delivered"]:
                            raise RuntimeError(f"webhook not delivered: {answer}")
                        return sent, done

                    await post(people[-1])  # warm-up (connections, caches)
                    progress(f"webhooks: {count} webhooks through the API, one at a time")
                    sent: dict[str, tuple[float, float]] = {}
                    for enduser in ours_people:
                        sent[enduser] = await post(enduser)
                    progress(f"webhooks: {count} bare signals, one at a time")
                    bare_sent: dict[str, float] = {}
                    for workflow_id in bare_ids:
                        bare_sent[workflow_id] = time.time()
                        await s.client.get_workflow_handle(workflow_id).signal(
                            BareParkedWorkflow.poke, {"n": 1}
                        )
                    ours_latency, response = [], []
                    for enduser, (at, done) in sent.items():
                        workflow_id = f"journey:{journey}:{enduser}"
                        recorded = await signal_time(s.client, workflow_id, "form_submitted")
                        if recorded is None:
                            raise RuntimeError(f"{workflow_id}: no form_submitted signal")
                        ours_latency.append((recorded - at) * 1000)
                        response.append((done - at) * 1000)
                    bare_latency = []
                    for workflow_id, at in bare_sent.items():
                        recorded = await signal_time(s.client, workflow_id, "poke")
                        if recorded is None:
                            raise RuntimeError(f"{workflow_id}: no poke signal")
                        bare_latency.append((recorded - at) * 1000)
                    progress(f"webhooks: {count} read-backs alone, spaced as the webhooks were")
                    readback = await _readbacks(
                        s.sandbox_url, response_ids[1:], percentile(response, 50) / 1000
                    )
            finally:
                sandbox.close()
                await http.aclose()
                await close()
    return {
        "webhooks": count,
        "triggers": trigger_count,
        "ours_signal": _stats(ours_latency),
        "ours_response": _stats(response),
        "bare_signal": _stats(bare_latency),
        "readback": _stats(readback),
    }


async def _readbacks(sandbox_url: str, response_ids: list[str], gap: float) -> list[float]:
    """The intake's read-back alone (`TellescopeClient.bulk_read` of one form response, the
    request the API makes before every signal), once per webhook sent, each after `gap`
    seconds of quiet as between the webhooks (the median response time): the round trip that
    no webhook's signal can go out before (docs/webhooks.md)."""
    from bench.workers import SANDBOX_KEY
    from settings import TellescopeSettings
    from tellescope.client import TellescopeClient

    client = TellescopeClient.from_settings(
        TellescopeSettings(base_url=sandbox_url, api_key=SANDBOX_KEY)
    )
    times = []
    try:
        for response_id in response_ids:
            await asyncio.sleep(gap)
            started = time.perf_counter()
            [found] = await client.bulk_read("form_responses", [response_id])
            times.append((time.perf_counter() - started) * 1000)
            assert found["id"] == response_id
    finally:
        await client.aclose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=200)
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--profile-api", type=Path, help="write a py-spy profile of the API here")
    args = parser.parse_args()
    result = asyncio.run(run(args.webhooks, args.triggers, profile_api=args.profile_api))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "webhooks.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.stdout.flush()
    os._exit(0)  # the SDK's core threads can crash an orderly exit (sdk-python #300)


if __name__ == "__main__":
    main()
