"""The sandbox fails 30 % of the requests that create records (500s, timeouts, dropped
connections, before and after committing): every send completes exactly once, and Tellescope's
non-retryable rejection ("Missing phone", a 400) takes the step's onError branch.

Why the creates and not every request: a step gets 20 attempts (ACTION_RETRY), and a send
makes about six requests (lookup, enduser, sender, template, rendering, create). Failing 30 % of
all of them fails an attempt 1 - 0.7^6 = 88 % of the time, and 0.88^20 = 8 % of the sends would
exhaust their attempts: a test of the retry budget, not of exactly-once. The creates are where
exactly-once is at stake (a create Tellescope committed but whose answer was lost); failing 30 %
of them leaves 0.3^20 = 3.5e-11 per send of running out of attempts.

JourneyWorkflow runs on the time-skipping server (Temporal's retry backoff is skipped in virtual
time, so 20 attempts at 2 s doubling cost nothing), with the real activities in a worker in this
process, talking HTTP to the sandbox with a short client timeout (1.5 s) that the sandbox's
`timeout` and `accept_then_hang` faults (3 s) outlast.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from temporalio.worker import Worker

from activities.engine import engine_activities
from activities.join_first import JoinFirst
from activities.tellescope_activities import TellescopeActivities
from models.runtime import EnrollmentInput
from sandbox.faults import FAILURES as KINDS
from settings import TellescopeSettings
from tellescope.client import TellescopeClient
from tests.reliability.harness import (
    DEV_KEY,
    DR_RIVERA,
    FRONT_DESK,
    THANK_YOU_EMAIL,
    WELCOME_SMS,
    EngineStore,
    Row,
    count_messages,
    scenario_seed,
)
from workflows import starter
from workflows.journey import JourneyWorkflow

# alone: the client's 1.5 s timeout; on a shared core, answers the sandbox gives in time
# arrive late, and the extra failures' retry backoffs stop the server from skipping time.
pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.alone]

WITH_PHONE = 180
WITHOUT_PHONE = 20
RATE = 0.3
# Every create the journey makes: the messages and the onError branch's ticket.
FAULTY = ["/v1/sms-message", "/v1/email", "/v1/ticket"]
JOURNEY = f"""
journey:
  id: rel-faults
  title: Reliability faults
steps:
  - id: welcome
    events: [{{type: onJourneyStart, info: {{}}}}]
    action: {{type: sendSMS, info: {{senderId: "{DR_RIVERA}", templateId: "{WELCOME_SMS}"}}}}
  - id: follow-up
    events: [{{type: afterAction, info: {{automationStepId: welcome, delay: 1, unit: Hours}}}}]
    action: {{type: sendEmail, info: {{senderId: "{DR_RIVERA}", templateId: "{THANK_YOU_EMAIL}"}}}}
  - id: sms-failed
    events: [{{type: onError, info: {{automationStepId: welcome}}}}]
    action:
      type: createTicket
      info:
        title: "No SMS reached {{{{enduser.fname}}}}"
        assignmentStrategy: {{type: default, info: {{}}}}
        defaultAssignee: "{FRONT_DESK}"
"""


async def test_thirty_percent_faults_every_send_exactly_once(
    env, sandbox, sandbox_http, tmp_path, report
):
    started = time.monotonic()
    seed = scenario_seed("sandbox-faults")
    print(f"\nsandbox faults: seed {seed}")
    store = EngineStore(tmp_path / "store")
    journey = store.deploy(JOURNEY, sandbox_http)
    reachable = sandbox_http.create_endusers(WITH_PHONE, tag="faults")
    unreachable = sandbox_http.create_endusers(WITHOUT_PHONE, phone=False, tag="no-phone")
    endusers = reachable + unreachable
    random.Random(seed).shuffle(endusers)

    tellescope = TellescopeClient.from_settings(
        TellescopeSettings(
            base_url=sandbox.base_url,
            api_key=DEV_KEY,
            timeout_seconds=1.5,
            connect_timeout_seconds=1.5,
        )
    )
    task_queue = f"rel-faults-{seed}"
    activities = TellescopeActivities(tellescope)
    sandbox_http.set_faults(
        rate=RATE,
        kinds=list(KINDS),  # error500, timeout, drop and their accept_then_* twins
        paths=FAULTY,
        methods=["POST"],
        seed=seed,
        timeoutSeconds=3,
    )
    try:
        with ThreadPoolExecutor(max_workers=16) as executor:
            async with Worker(
                env.client,
                task_queue=task_queue,
                workflows=[JourneyWorkflow],
                activities=[
                    *activities.all(),
                    *engine_activities(
                        env.client,
                        store.plans,
                        store.ledger,
                        task_queue,
                        join_journey=activities.set_journey_state,
                    ),
                ],
                activity_executor=executor,
                # the first step's activity carries the journey's join (docs/decisions.md D41)
                interceptors=[JoinFirst(store.ledger, activities.write_membership)],
                workflow_failure_exception_types=[Exception],
            ):
                handles = await asyncio.gather(
                    *(
                        starter.enroll(
                            env.client,
                            EnrollmentInput(
                                journeyId=journey.journey_id,
                                planVersion=journey.version,
                                enduserId=enduser_id,
                                tellescopeJourneyId=journey.record_id,
                            ),
                            task_queue=task_queue,
                        )
                        for enduser_id in endusers
                    )
                )
                results = await _results_in_virtual_time(env, handles, timeout=240)
    finally:
        faults = sandbox_http.clear_faults()
        await tellescope.aclose()

    by_enduser = dict(zip(endusers, results, strict=True))
    assert {(by_enduser[e].outcome, by_enduser[e].errors) for e in reachable} == {("completed", 0)}
    assert {(by_enduser[e].outcome, by_enduser[e].errors) for e in unreachable} == {
        ("completed", 1)
    }

    expected = set()
    for enduser_id in reachable:
        expected.add((enduser_id, journey.tellescope_step("welcome"), "sms"))
        expected.add((enduser_id, journey.tellescope_step("follow-up"), "email"))
    counted = count_messages(sandbox_http.outbox(journey.record_id), expected)
    tickets = Counter(
        t["enduserId"]
        for t in sandbox_http.records("tickets", journeyId=journey.record_id)
        if t.get("automationStepId") == journey.tellescope_step("sms-failed")
    )
    ticket_duplicates = sum(n - 1 for n in tickets.values() if n > 1) + sum(
        n for e, n in tickets.items() if e not in unreachable
    )
    ticket_lost = sum(1 for e in unreachable if tickets[e] == 0)
    statuses = store.step_statuses(journey.journey_id)
    reused = store.reused(journey.journey_id)
    errors = {
        row.error_message
        for row in store.ledger.list(journey_id=journey.journey_id, status="error", limit=1000)
    }
    report.add(
        Row(
            scenario="sandbox faults",
            enrollments=len(endusers),
            faults=faults["injected"],
            fault_kinds=f"sandbox faults at {RATE:.0%} of creates: {faults['byKind']}",
            messages=counted.sent + sum(tickets.values()),
            duplicates=counted.duplicates + ticket_duplicates,
            lost=counted.lost + ticket_lost,
            seconds=time.monotonic() - started,
            notes=f"{counted.sent} SMS and emails, {sum(tickets.values())} onError tickets"
            f" ({WITHOUT_PHONE} endusers without a phone: 400 Missing phone); {reused} records"
            " committed before a fault found again by the retry",
        )
    )
    assert counted.duplicates == 0 and counted.lost == 0, counted.examples
    assert ticket_duplicates == 0 and ticket_lost == 0, tickets
    assert counted.sent == 2 * WITH_PHONE and sum(tickets.values()) == WITHOUT_PHONE
    assert statuses == {
        ("welcome", "finished"): WITH_PHONE,
        ("welcome", "error"): WITHOUT_PHONE,
        ("follow-up", "finished"): WITH_PHONE,
        ("sms-failed", "finished"): WITHOUT_PHONE,
    }, statuses
    assert errors == {"Missing phone"}, errors
    # The faults really happened, of every kind: 30 % of a few hundred creates and retries;
    # half are accept_then_* (committed, answer lost), so retries had records to find again.
    assert faults["injected"] >= 60 and set(faults["byKind"]) == set(KINDS), faults
    assert reused >= 10, reused


async def _results_in_virtual_time(env, handles, *, timeout: float):
    """Every enrollment's result, moving the test server's clock forward whenever the
    enrollments are idle (retry backoffs, the one-hour delay), with a real-time deadline."""
    done = asyncio.Event()

    async def advance() -> None:
        # Short steps: a step takes at most this long in real time when something keeps the
        # server from skipping (an activity under way), so the loop ends soon after `done`.
        while not done.is_set():
            await env.sleep(timedelta(seconds=30))

    with env.auto_time_skipping_disabled():
        clock = asyncio.create_task(advance())
        try:
            return await asyncio.wait_for(
                asyncio.gather(*(h.result() for h in handles)), timeout=timeout
            )
        finally:
            done.set()
            await asyncio.wait_for(clock, timeout=60)
