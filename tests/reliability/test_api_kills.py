"""API kill -9 mid-webhook: a delivery whose API process died while processing it is processed
exactly once after redelivery, and no copy is acknowledged before its effect is durable.

The real stack: `journeys api` in its own process (killed with SIGKILL and started again), a
Temporal dev server, `python worker.py`, the sandbox as Tellescope. Each round sends a burst of
signed enduser-created deliveries (a Contact Created trigger enrolls each enduser, whose journey
sends one welcome SMS), some of them twice at once, and kills the API as soon as a claim is being
processed (plus a random moment). Then, as Tellescope does for deliveries that got no 2xx, every
such delivery is sent again (honouring 409 + Retry-After) until it is acknowledged; a sample of
acknowledged ones is sent again too, and must be answered "duplicate".

Afterwards every enduser has exactly one welcome SMS (none lost, none twice), and the claims
left `processing` by the kills (asserted to exist: the kills did land mid-processing) were taken
over after their lease.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select

from store.db import get_engine, session_for
from store.tables import ProcessedWebhookRow
from tests.reliability.harness import (
    DEV_KEY,
    DR_RIVERA,
    WELCOME_SMS,
    ApiProcess,
    EngineStore,
    Row,
    WorkerProcess,
    count_messages,
    scenario_seed,
    signed_delivery,
    until,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET = "reliability-api-kill-secret-0123456789"
ROUNDS = 5
PER_ROUND = 12
LEASE_SECONDS = 2
JOURNEY = f"""
journey:
  id: rel-api-kill
  title: Reliability API kills
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
triggers:
  - id: enroll-new-contacts
    title: Enroll new contacts
    status: Active
    event: {{type: Contact Created, info: {{}}}}
    action: {{type: Add To Journey, info: {{journeyId: rel-api-kill}}}}
"""


@dataclass
class Delivery:
    enduser: str
    body: dict
    answers: list[str]  # one per attempt: "200 processed", "409", "no answer", ...


async def send(http: httpx.AsyncClient, delivery: Delivery) -> str:
    try:
        response = await http.post("/v1/webhooks/tellescope", json=delivery.body)
    except httpx.TransportError:
        answer = "no answer"
    else:
        answer = str(response.status_code)
        if response.status_code == 200:
            answer += " " + response.json()["status"]
        elif response.status_code == 409 and "retry-after" in response.headers:
            answer += " retry-after"
    delivery.answers.append(answer)
    return answer


async def deliver_until_acknowledged(api_url: str, deliveries: list[Delivery]) -> None:
    """Tellescope's side: resend every delivery until it is answered 2xx."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:

        async def one(delivery: Delivery) -> None:
            for _attempt in range(60):
                answer = await send(http, delivery)
                if answer.startswith("200"):
                    return
                assert answer in ("409 retry-after", "no answer"), delivery.answers
                await asyncio.sleep(1.0)
            raise AssertionError(f"never acknowledged: {delivery.answers}")

        await asyncio.gather(*(one(d) for d in deliveries))


def stranded_claims(store_url: str) -> int:
    with session_for(get_engine(store_url)) as session:
        rows = session.exec(
            select(ProcessedWebhookRow).where(ProcessedWebhookRow.status == "processing")
        )
        return len(list(rows))


async def test_api_killed_mid_webhook_loses_nothing_and_duplicates_nothing(
    dev_env, sandbox, sandbox_http, tmp_path, report
):
    started = time.monotonic()
    seed = scenario_seed("api-kills")
    rng = random.Random(seed)
    print(f"\napi kills: seed {seed}")
    store = EngineStore(tmp_path / "store")
    journey = store.deploy(JOURNEY, sandbox_http)
    address = dev_env.client.service_client.config.target_host
    task_queue = f"rel-api-kill-{seed}"
    worker = WorkerProcess(
        temporal_address=address,
        task_queue=task_queue,
        database_url=store.url,
        tellescope_url=sandbox.base_url,
        log=tmp_path / "worker.log",
    ).start()
    api = ApiProcess(
        log=tmp_path / "api.log",
        environment={
            "DATABASE_URL": store.url,
            "TEMPORAL_ADDRESS": address,
            "TASK_QUEUE": task_queue,
            "TELLESCOPE_BASE_URL": sandbox.base_url,
            "TELLESCOPE_API_KEY": DEV_KEY,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        },
    ).start()
    everyone: list[str] = []
    all_deliveries: list[Delivery] = []
    stranded_total = 0
    unanswered_total = 0
    try:
        for _round in range(ROUNDS):
            endusers = sandbox_http.create_endusers(PER_ROUND, tag="api-kill")
            everyone += endusers
            deliveries = [
                Delivery(
                    e,
                    signed_delivery("endusers", "create", [sandbox_http.enduser(e)], SECRET),
                    [],
                )
                for e in endusers
            ]
            # A third of them twice at once (Tellescope's at-least-once delivery).
            burst = deliveries + rng.sample(deliveries, PER_ROUND // 3)
            rng.shuffle(burst)
            async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
                sending = asyncio.gather(*(send(http, d) for d in burst))
                await until(
                    lambda: stranded_claims(store.url) > 0,
                    timeout=30,
                    what="a claim being processed",
                    interval=0.005,
                )
                # The kill lands at a random point: early in a burst (every delivery in flight)
                # or later (some acknowledged, some mid-processing).
                await asyncio.sleep(rng.uniform(0, 0.4 * _round))
                api.kill()
                stranded_total += stranded_claims(store.url)
                await sending
            unanswered_total += sum(1 for d in deliveries if "no answer" in d.answers)
            api.start()
            pending = [d for d in deliveries if not any(a.startswith("200") for a in d.answers)]
            await deliver_until_acknowledged(api.url, pending)
            # Redeliveries of acknowledged ones (a sender that timed out): duplicates only.
            again = rng.sample(deliveries, 4)
            before = [len(d.answers) for d in again]
            await deliver_until_acknowledged(api.url, again)
            for delivery, count in zip(again, before, strict=True):
                assert delivery.answers[count:] == ["200 duplicate"], delivery.answers
            all_deliveries += deliveries

        async def everyone_welcomed() -> bool:
            rows = store.ledger.list(journey_id="rel-api-kill", step_id="welcome", limit=10_000)
            return sum(1 for r in rows if r.status == "finished") >= len(everyone)

        await until(everyone_welcomed, timeout=180, what="every enduser welcomed")
        await asyncio.sleep(2)  # anything sent twice would show by now
    except BaseException:
        print("--- worker\n" + worker.tail() + "\n--- api\n" + api.tail())
        raise
    finally:
        api.stop()
        worker.stop()

    acknowledged_before_kill = sum(1 for d in all_deliveries if d.answers[0].startswith("200"))
    processed = Counter(
        d.enduser for d in all_deliveries for a in d.answers if a == "200 processed"
    )
    expected = {(e, journey.tellescope_step("welcome"), "sms") for e in everyone}
    counted = count_messages(sandbox_http.outbox(journey.record_id), expected)
    report.add(
        Row(
            scenario="API kills mid-webhook",
            enrollments=len(everyone),
            faults=ROUNDS,
            fault_kinds=f"{ROUNDS} API kill -9 while processing; {stranded_total} claims left"
            f" processing, {unanswered_total} deliveries unanswered, all redelivered;"
            f" {acknowledged_before_kill} acknowledged before a kill",
            messages=counted.sent,
            duplicates=counted.duplicates,
            lost=counted.lost,
            seconds=time.monotonic() - started,
        )
    )
    assert stranded_total > 0, "no kill landed while a delivery was being processed"
    assert unanswered_total > 0
    assert counted.duplicates == 0 and counted.lost == 0, counted.examples
    # Each delivery was acknowledged as processed at most once (the rest: duplicates).
    assert max(processed.values()) == 1, processed.most_common(3)
    assert stranded_claims(store.url) == 0
