"""One event against 1,000 active triggers: what the trigger engine does for each incoming event
before it starts any firing, timed per event.

    python -m bench.triggers_bench [--triggers 1000] [--events 300] [--no-freeze]

A journey holding `--triggers` Form Submitted triggers is deployed to an engine database (SQLite
file, as the API uses it). Each trigger listens to one of 50 forms, a third add an
enduserCondition, a fifth are scoped to the journey, a tenth are oncePerEnduser, so every trigger
is a candidate for the event (the worst case: all of the event's type) and about 20 pass the
event filter. Per event, timed together: `active_triggers` (the current plans' triggers, read from
the store as the webhook intake and /v1/events do for every event) and `evaluate` (the pure
pipeline of docs/semantics.md §9.2), after the start-up freeze of the garbage collector the API
and the worker apply (`services.gc_freeze`; `--no-freeze` to measure without it). Printed as
p50/p99; there is no bare Temporal counterpart (nothing in Temporal evaluates triggers), so the
table shows "—" there.

Then the whole dispatch (`triggers.dispatch.dispatch_event`) per event, as the API runs it for a
webhook after the signal: the evaluation, the API's trigger counters and the decisions stored
(docs/operator-view.md §2) on the same SQLite file; each event of its own enduser, about a form
no trigger listens to (nothing fires, so no Temporal or Tellescope is needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from api.metrics import ApiMetrics
from bench.common import RESULTS, percentile, progress
from compiler import compile_paths
from services.gc_freeze import freeze_startup_heap
from store.db import get_engine, upgrade_engine
from store.ledger import Ledger
from store.plans import PlanStore
from store.trigger_decisions import TriggerDecisions
from triggers.active import active_triggers, warm_trigger_caches
from triggers.dispatch import TriggerDeps, dispatch_event
from triggers.evaluate import evaluate
from triggers.events import IncomingEvent

FORMS = [f"64f0000000000000000f{i:04x}" for i in range(50)]
JOURNEY_TELLESCOPE_ID = "64f00000000000000000aaaa"


def triggers_journey(count: int, journey_id: str = "bench-triggers") -> str:
    """A journey (one step, then parked until a trigger releases it) holding `count` Form
    Submitted triggers besides."""
    lines = [
        f"journey: {{id: {journey_id}, title: Benchmark triggers}}",
        "steps:",
        "  - id: hello",
        "    events: [{type: onJourneyStart, info: {}}]",
        "    action: {type: addEnduserTags, info: {tags: [enrolled]}}",
        "  - id: released",
        "    events: [{type: waitForTrigger, info: {automationStepId: hello, triggerId: go}}]",
        "    action: {type: addEnduserTags, info: {tags: [released]}}",
        "triggers:",
        "  - id: go",
        "    title: Release",
        "    status: Active",
        f"    journeyId: {journey_id}",
        "    event: {type: Tag Added, info: {tag: go}}",
        "    action: {type: Move To Step, info: {}}",
    ]
    for i in range(count):
        lines += [
            f"  - id: t{i:04d}",
            f"    title: Trigger {i}",
            "    status: Active",
            f"    event: {{type: Form Submitted, info: {{formId: {FORMS[i % len(FORMS)]}}}}}",
            f"    action: {{type: Add Tags, info: {{tags: [t{i}]}}}}",
        ]
        if i % 3 == 0:
            lines.append("    enduserCondition: {$and: [{condition: {tags: vip}}]}")
        if i % 5 == 0:
            lines.append(f"    journeyId: {journey_id}")
        if i % 10 == 0:
            lines.append("    oncePerEnduser: true")
    return "\n".join(lines) + "\n"


def event(form_id: str, n: int) -> IncomingEvent:
    now = datetime.now(UTC)
    return IncomingEvent(
        type="Form Submitted",
        eventId=f"form_responses:fr{n}:form-submitted:{n}",
        enduserId="64f000000000000000000e01",
        record={
            "id": f"64f0000000000000000{n:05x}",
            "formId": form_id,
            "enduserId": "64f000000000000000000e01",
            "submittedAt": now.isoformat(),
            "responses": [],
        },
        model="form_responses",
        occurredAt=now,
    )


def run(trigger_count: int, events: int, *, freeze: bool = True) -> dict:
    return asyncio.run(measure(trigger_count, events, freeze=freeze))


async def measure(trigger_count: int, events: int, *, freeze: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-triggers-") as folder:
        path = Path(folder) / "triggers.yaml"
        path.write_text(triggers_journey(trigger_count), encoding="utf-8")
        plan = compile_paths([path]).plans[0]
        engine = get_engine(f"sqlite:///{folder}/engine.db")
        upgrade_engine(engine)
        plans = PlanStore(engine)
        plans.save(plan, source=path.read_text(), tellescope_journey_id=JOURNEY_TELLESCOPE_ID)
        enduser = {"id": "64f000000000000000000e01", "tags": ["new"], "journeys": {}}
        # What the API and the worker do at start (services.gc_freeze), unless --no-freeze.
        warm_trigger_caches(plans)
        frozen = freeze_startup_heap() if freeze else 0
        progress(f"triggers: one event against {trigger_count} triggers, {events} times")
        total, evaluation_only, firing = [], [], 0
        for n in range(events + 10):
            incoming = event(FORMS[n % 2], n)
            started = time.perf_counter()
            active = active_triggers(plans)
            result = evaluate(incoming, active, enduser=enduser, now=incoming.occurredAt)
            middle = time.perf_counter()
            evaluate(incoming, active, enduser=enduser, now=incoming.occurredAt)
            ended = time.perf_counter()
            if n >= 10:  # the first ones parse the plan and warm caches
                total.append((middle - started) * 1000)
                evaluation_only.append((ended - middle) * 1000)
                firing = len(result.firing)
            assert len(result.decisions) == trigger_count  # the Tag Added one is no candidate
        progress(f"triggers: {events} events dispatched as the API dispatches a webhook's")
        dispatched = await _dispatch_times(plans, events)
        engine.dispose()
    return {
        "triggers": trigger_count,
        "events": events,
        "decisions_per_event": trigger_count,
        "gc_frozen_objects": frozen,
        "firing_per_event": firing,
        "p50_ms": round(percentile(total, 50), 3),
        "p99_ms": round(percentile(total, 99), 3),
        "mean_ms": round(statistics.fmean(total), 3),
        "evaluate_only_p50_ms": round(percentile(evaluation_only, 50), 3),
        "evaluate_only_p99_ms": round(percentile(evaluation_only, 99), 3),
        "dispatch_p50_ms": round(percentile(dispatched, 50), 3),
        "dispatch_p99_ms": round(percentile(dispatched, 99), 3),
    }


UNWATCHED_FORM = "64f0000000000000000fffff"  # no trigger listens to it: nothing fires


async def _dispatch_times(plans: PlanStore, events: int) -> list[float]:
    """`dispatch_event` per event, as the API runs it for a webhook's Form Submitted event
    after the signal: the triggers in force, every decision made, counted (the API's metrics)
    and stored (the decisions table, on the same SQLite file), each event of its own enduser.
    The enduser is handed over as the intake does once read, and no trigger fires, so nothing
    here waits for Tellescope or Temporal (both are absent: a firing would fail the run)."""
    deps = TriggerDeps(
        client=None,  # type: ignore[arg-type]  # nothing fires: no Temporal call
        plans=plans,
        ledger=Ledger(plans.engine),
        task_queue="bench-triggers",
        tellescope=None,  # type: ignore[arg-type]  # the enduser is given: no read
        on_evaluation=ApiMetrics().evaluation,
        decisions=TriggerDecisions(plans.engine),
    )
    times = []
    for n in range(events + 10):
        incoming = event(UNWATCHED_FORM, n)
        enduser_id = f"64f0000000000000{n:08x}"
        incoming = incoming.model_copy(update={"enduserId": enduser_id})
        enduser = {"id": enduser_id, "tags": ["vip"], "journeys": {}}
        started = time.perf_counter()
        report = await dispatch_event(
            incoming, deps, enduser=enduser, triggers=active_triggers(plans)
        )
        if n >= 10:
            times.append((time.perf_counter() - started) * 1000)
        assert report.evaluation is not None and not report.firings
    stored = deps.decisions.count() if deps.decisions is not None else 0
    assert stored > 0, "no decision stored"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave the start-up heap to the garbage collector (the API and worker freeze it)",
    )
    args = parser.parse_args()
    result = run(args.triggers, args.events, freeze=not args.no_freeze)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "triggers.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
