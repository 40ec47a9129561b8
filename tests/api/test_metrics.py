"""The API's /metrics (docs/metrics.md §3): one webhook delivery = one count of its outcome,
trigger decisions of processed deliveries by trigger and reason, the ledger gauges computed at
the scrape, served without an API key and without a patient id.

`triggers.intake.process_webhook` is STUBBED (as in test_webhooks.py): it tells the trigger
deps' `on_evaluation` (as `dispatch_event` does) of one trigger that fired and one skipped."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from api.routes import webhooks as receiver
from tests.api.conftest import harness
from tests.api.test_webhooks import record_webhook
from tests.store.test_ledger_queries import entry
from triggers.models import Decision, DispatchReport, Evaluation, IntakeReport

pytestmark = pytest.mark.asyncio(loop_scope="session")
ENDUSER = "64f000000000000000000c01"


@pytest_asyncio.fixture(loop_scope="session")
async def h(env, tellescope, sandbox_http, tmp_path):
    async with harness(env.client, tellescope, sandbox_http, tmp_path) as h:
        yield h


@pytest.fixture
def intake(monkeypatch) -> list[str]:
    """STUB of the intake: fires `welcome-trigger`, skips `vip-trigger`; raises for fname Boom."""
    seen: list[str] = []

    async def process_webhook(payload: dict, deps: Any, source: Any = None) -> IntakeReport:
        if payload["records"][0].get("fname") == "Boom":
            raise RuntimeError("the intake failed")
        seen.append(payload["records"][0]["id"])
        evaluation = Evaluation(
            eventType="Contact Created",
            eventId="e",
            enduserId=ENDUSER,
            decisions=[
                Decision(triggerId="welcome-trigger", title="w", fire=True),
                Decision(
                    triggerId="vip-trigger",
                    title="v",
                    fire=False,
                    stage="enduserCondition",
                    reason=f"enduser {ENDUSER} has no tag vip",
                ),
            ],
        )
        deps.on_evaluation(evaluation)  # what dispatch_event tells the API's counters
        dispatched = DispatchReport(
            eventType="Contact Created", eventId="e", enduserId=ENDUSER, evaluation=evaluation
        )
        return IntakeReport(model="endusers", type="create", dispatched=[dispatched])

    monkeypatch.setattr(receiver, "process_webhook", process_webhook)
    return seen


async def post(h, payload: Any = None, *, content: bytes | None = None) -> int:
    response = await h.http.post(
        "/v1/webhooks/tellescope",
        json=payload if content is None else None,
        content=content,
        headers={"Authorization": "", "content-type": "application/json"},
    )
    return response.status_code


async def scrape(h) -> dict[tuple[str, tuple], float]:
    response = await h.http.get("/metrics", headers={"Authorization": ""})  # no API key
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert ENDUSER not in response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def deliveries(found: dict, outcome: str) -> float:
    return found[("journeys_webhook_deliveries_total", (("outcome", outcome),))]


async def test_each_delivery_counts_once_by_outcome(h, intake, monkeypatch):
    before = await scrape(h)
    assert {deliveries(before, o) for o in receiver_outcomes()} == {0.0}
    good = record_webhook(ids=("64f000000000000000000d01",))
    assert await post(h, good) == 200  # processed
    assert await post(h, good) == 200  # duplicate
    tampered = json.loads(json.dumps(good))
    tampered["records"][0]["fname"] = "Mallory"
    assert await post(h, tampered) == 409  # conflict
    assert await post(h, dict(good, integrity="0" * 64)) == 401  # rejected
    assert await post(h, content=b'{"model": ') == 400  # rejected (malformed)
    boom = record_webhook(ids=("64f000000000000000000d02",))
    boom["records"][0]["fname"] = "Boom"
    assert await post(h, boom) == 500  # error
    claims = h_state(h).store.webhooks
    monkeypatch.setattr(claims, "claim", lambda **_: "in_progress")
    assert await post(h, record_webhook(ids=("64f000000000000000000d03",))) == 409
    after = await scrape(h)
    assert {o: deliveries(after, o) for o in receiver_outcomes()} == {
        "processed": 1,
        "duplicate": 1,
        "in_progress": 1,
        "conflict": 1,
        "rejected": 2,
        "error": 1,
    }
    fired = ("journeys_trigger_firings_total", (("trigger", "welcome-trigger"),))
    skipped = (
        "journeys_trigger_skips_total",
        (("reason", "enduserCondition"), ("trigger", "vip-trigger")),
    )
    assert after[fired] == 1 and after[skipped] == 1
    assert intake == ["64f000000000000000000d01"]


async def test_waiting_and_overdue_gauges_come_from_the_ledger(h):
    now_ms = int(time.time() * 1000)  # the harness's ledger is SQLite (64-bit integers)
    h.ledger.record(
        [
            entry(0, status="active", processAfter=now_ms - 3_600_000),  # s1: an hour overdue
            entry(1, status="active", processAfter=now_ms + 3_600_000),  # s1: due in an hour
            entry(5, status="finished"),
        ]
    )
    found = await scrape(h)
    labels = (("journey", "j"), ("step", "s1"))
    assert found[("journeys_actions_waiting", labels)] == 2
    assert found[("journeys_actions_overdue", labels)] == 1
    assert 3600 <= found[("journeys_actions_overdue_max_seconds", labels)] < 3660
    assert ("journeys_actions_waiting", (("journey", "j"), ("step", "s2"))) not in found


def receiver_outcomes() -> tuple[str, ...]:
    from api.metrics import WEBHOOK_OUTCOMES

    return WEBHOOK_OUTCOMES


def h_state(h):
    transport = h.http._transport
    return transport.app.state.journeys


async def test_trigger_counters_add_up_over_evaluations():
    """The API's counters keep their labelled children between evaluations (resolved once per
    trigger and reason): every decision of every evaluation counts, each under its own labels."""
    from api.metrics import ApiMetrics
    from triggers.models import Decision, Evaluation

    metrics = ApiMetrics()

    def evaluation(*decisions: Decision) -> Evaluation:
        return Evaluation(eventType="Tag Added", eventId="e", enduserId="u", decisions=decisions)

    fired = Decision(triggerId="a", title="A", fire=True)
    skipped = Decision(triggerId="b", title="B", fire=False, stage="event", reason="x")
    for _ in range(3):
        metrics.evaluation(evaluation(fired, skipped))
    metrics.evaluation(evaluation(skipped.model_copy(update={"stage": "throttle"})))
    metrics.evaluation(evaluation(Decision(triggerId="a", title="A", fire=False, stage=None)))
    sample = metrics.registry.get_sample_value
    assert sample("journeys_trigger_firings_total", {"trigger": "a"}) == 3
    assert sample("journeys_trigger_skips_total", {"trigger": "b", "reason": "event"}) == 3
    assert sample("journeys_trigger_skips_total", {"trigger": "b", "reason": "throttle"}) == 1
    assert sample("journeys_trigger_skips_total", {"trigger": "a", "reason": "unknown"}) == 1
