"""Timer lateness: N enrollments whose delayed steps all fall due within the same minute.

    python -m bench.timers [--enrollments 2000] [--spread 60] [--parked 20000]

Ours: a journey whose second step waits for a date-relative delay (`afterAction` with a
`fieldCondition`: due at the date in the enduser's `benchDue` field, as an appointment reminder
is), N endusers whose dates are spread evenly over `--spread` seconds, enrolled beforehand so
every timer is armed before the first falls due. Bare: N workflows sleeping until the same kind
of due times. One worker in this process runs both (the engine's, as worker.py builds it);
lateness = when the due step's activity starts running in the worker minus its due time. The
dev server is a fresh one; the due minute starts once everything is armed (the lead is sized
from how fast a first batch armed). `--parked` more enrollments (and as many bare workflows)
wait beside them, armed first, due a month later: the worker's workflow cache holds only some
of all that wait, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.bare_workflows import BareInput, BareTimerWorkflow
from bench.common import RESULTS, gather_bounded, percentile, progress, stack
from bench.runtime_bench import CONCURRENCY, enroll
from bench.workers import BareTellescope, StartRecorder, engine_worker

TIMER_JOURNEY = """
journey: {id: bench-timers, title: Benchmark timers}
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [enrolled]}}
  - id: due
    events:
      - type: afterAction
        info: {automationStepId: hello, delayInMS: 0, fieldCondition: {field: benchDue}}
    action: {type: addEnduserTags, info: {tags: [due]}}
"""


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _summary(lateness_ms: list[float], expected: int) -> dict:
    if not lateness_ms:
        return {"ran": 0, "expected": expected}
    return {
        "ran": len(lateness_ms),
        "expected": expected,
        "p50_ms": round(percentile(lateness_ms, 50), 1),
        "p99_ms": round(percentile(lateness_ms, 99), 1),
        "max_ms": round(max(lateness_ms), 1),
        "mean_ms": round(statistics.fmean(lateness_ms), 1),
        "late_over_1s": sum(1 for x in lateness_ms if x > 1000),
    }


async def _wait_for(recorder: StartRecorder, match, count: int, deadline: float) -> list:
    """The recorded starts that `match`, once there are `count` (or at `deadline`); each start
    is looked at once (this process also runs the worker being measured)."""
    found: list = []
    seen = 0
    while True:
        new = recorder.started[seen:]
        seen += len(new)
        found += [s for s in new if match(s)]
        if len(found) >= count or time.time() >= deadline:
            return found
        await asyncio.sleep(0.5)


PARKED_FOR_S = 30 * 86400  # parked timers fall due long after the run


async def run(
    count: int,
    spread: float,
    folder: Path | None = None,
    *,
    margin: float = 15.0,
    parked: int = 0,
) -> dict:
    """`margin`: seconds of slack before the first due time beyond the expected arming;
    `parked`: enrollments (and bare workflows) waiting beside them, not due during the run."""
    with tempfile.TemporaryDirectory(prefix="bench-timers-") as temporary:
        async with stack(Path(folder or temporary), memory=True) as s:
            journey, _ = s.deploy(TIMER_JOURNEY)
            recorder = StartRecorder()
            bare = BareTellescope(s.sandbox_url)
            worker, close = engine_worker(
                s.client,
                task_queue=s.task_queue,
                database_url=s.database_url,
                sandbox_url=s.sandbox_url,
                interceptors=[recorder],
                bare=bare,
            )
            try:
                async with worker:
                    ours = await _ours(s, journey, recorder, count, spread, margin, parked)
                    bare_result = await _bare(s, recorder, count, spread, margin, parked)
            finally:
                await close()
    return {
        "enrollments": count,
        "spread_s": spread,
        "parked": parked,
        "ours": ours,
        "bare": bare_result,
    }


def _due_waiting(ledger, journey: str) -> int:
    """Enrollments whose ledger row says the `due` step waits: its timer is armed."""
    counts = ledger.step_counts(journey)
    return sum(c[4] for c in counts if c[0] == "due" and c[2] == "active")


async def _park_ours(s, journey: str, ledger, parked: int) -> float:
    """Start `parked` enrollments due a month away and wait until every timer is armed;
    returns the seconds it took."""
    started = time.time()
    never = started + PARKED_FOR_S
    people = s.endusers(parked, lambda i: {"benchDue": iso(never)})
    for first in range(0, parked, 1000):
        chunk = people[first : first + 1000]
        await gather_bounded(
            CONCURRENCY, [lambda e=e: enroll(s, s.client, journey, e, s.task_queue) for e in chunk]
        )
        progress(f"timers (ours): {first + len(chunk)}/{parked} parked enrollments started")
    while _due_waiting(ledger, journey) < parked:
        if time.time() > started + 600 + parked:  # far beyond any arming rate seen here
            raise TimeoutError(f"{parked} parked enrollments were not armed")
        await asyncio.sleep(1)
    return time.time() - started


async def _park_bare(s, parked: int) -> float:
    """Start `parked` bare timer workflows due a month away; wait until the last started have
    their timer (the worker takes tasks about in order)."""
    started = time.time()
    people = s.endusers(parked)
    run = uuid.uuid4().hex[:8]
    due_ms = int((started + PARKED_FOR_S) * 1000)
    handles: list = []
    for first in range(0, parked, 1000):
        calls = [
            lambda i=i: s.client.start_workflow(
                BareTimerWorkflow.run,
                BareInput(enduser_id=people[i], tag="parked", due_ms=due_ms),
                id=f"bare-parked-{run}-{i}",
                task_queue=s.task_queue,
            )
            for i in range(first, min(parked, first + 1000))
        ]
        handles += await gather_bounded(CONCURRENCY, calls)
        progress(f"timers (bare): {len(handles)}/{parked} parked workflows started")
    for handle in handles[-5:]:
        while not any(
            e.HasField("timer_started_event_attributes")
            for e in (await handle.fetch_history()).events
        ):
            if time.time() > started + 600 + parked:
                raise TimeoutError(f"{parked} parked bare workflows were not armed")
            await asyncio.sleep(1)
    return time.time() - started


async def _ours(
    s,
    journey: str,
    recorder: StartRecorder,
    count: int,
    spread: float,
    margin: float,
    parked: int,
) -> dict:
    from store.ledger import Ledger

    ledger = Ledger(s.plans().engine)
    parking_s = await _park_ours(s, journey, ledger, parked) if parked else 0.0

    def armed(started) -> bool:  # the anchor read right before the timer is armed
        return started.activity_type == "resolve_anchor_date"

    # A first batch, due far away, times how fast enrollments get armed.
    probe = min(50, count)
    far = time.time() + 3600
    people = s.endusers(probe, lambda i: {"benchDue": iso(far)})
    probes = {f"journey:{journey}:{e}" for e in people}
    started = time.time()
    await gather_bounded(
        CONCURRENCY, [lambda e=e: enroll(s, s.client, journey, e, s.task_queue) for e in people]
    )
    await _wait_for(recorder, lambda x: armed(x) and x.workflow_id in probes, probe, started + 120)
    rate = probe / max(time.time() - started, 0.01)
    lead = margin + 3 * count / rate  # arming slows down as the worker fills: ample slack
    first_due = time.time() + lead
    due = {i: first_due + spread * i / count for i in range(count)}
    people = s.endusers(count, lambda i: {"benchDue": iso(due[i])})
    due_of = {f"journey:{journey}:{e}": due[i] for i, e in enumerate(people)}
    progress(
        f"timers (ours): arming {count} enrollments (~{rate:.0f}/s), due from"
        f" +{lead:.0f} s over {spread:.0f} s"
    )
    await gather_bounded(
        CONCURRENCY, [lambda e=e: enroll(s, s.client, journey, e, s.task_queue) for e in people]
    )
    arming = await _wait_for(
        recorder,
        lambda x: armed(x) and x.workflow_id in due_of,
        count,
        first_due + spread + 300,
    )
    armed_late = sum(1 for x in arming if x.started > due_of[x.workflow_id])
    # The timer starts in the workflow task after the anchor read, with the ledger row that
    # says the step waits ("active"): wait for those rows before calling everything armed.
    while time.time() < first_due + spread:
        if _due_waiting(ledger, journey) >= count + probe + parked:
            break
        await asyncio.sleep(0.5)
    slack = first_due - time.time()
    progress(
        f"timers (ours): all armed {slack:.0f} s before the first due time"
        f" ({armed_late} anchors read after their due time); waiting for them"
    )

    def ran(x) -> bool:
        arg = x.arg
        return (
            x.workflow_id in due_of
            and x.activity_type == "update_enduser"
            and getattr(arg, "stepName", None) == "due"
        )

    runs = await _wait_for(recorder, ran, count, first_due + spread + 300)
    lateness = [(x.started - due_of[x.workflow_id]) * 1000 for x in runs]
    dispatch = [(x.started - x.scheduled) * 1000 for x in runs]
    return {
        **_summary(lateness, count),
        "armed_after_due": armed_late,
        "armed_before_first_due_s": round(slack, 1),
        "arming_rate_per_s": round(rate, 1),
        "parking_s": round(parking_s, 1),
        "activity_dispatch_p99_ms": round(percentile(dispatch, 99), 1) if dispatch else None,
    }


async def _bare(
    s, recorder: StartRecorder, count: int, spread: float, margin: float, parked: int
) -> dict:
    parking_s = await _park_bare(s, parked) if parked else 0.0
    people = s.endusers(count)
    lead = margin + count / 100
    first_due = time.time() + lead
    due_of: dict[str, float] = {}
    calls = []
    run = uuid.uuid4().hex[:8]
    for i, e in enumerate(people):
        workflow_id = f"bare-timer-{run}-{i}"
        due_of[workflow_id] = first_due + spread * i / count
        inp = BareInput(enduser_id=e, tag="due", due_ms=int(due_of[workflow_id] * 1000))
        calls.append(
            lambda inp=inp, workflow_id=workflow_id: s.client.start_workflow(
                BareTimerWorkflow.run, inp, id=workflow_id, task_queue=s.task_queue
            )
        )
    progress(f"timers (bare): {count} workflows due from +{lead:.0f} s over {spread:.0f} s")
    await gather_bounded(CONCURRENCY, calls)
    late_start = time.time() - first_due
    runs = await _wait_for(
        recorder,
        lambda x: x.workflow_id in due_of and x.activity_type == "bare_add_tag",
        count,
        first_due + spread + 300,
    )
    lateness = [(x.started - due_of[x.workflow_id]) * 1000 for x in runs]
    dispatch = [(x.started - x.scheduled) * 1000 for x in runs]
    return {
        **_summary(lateness, count),
        "started_after_first_due_s": round(late_start, 1) if late_start > 0 else 0,
        "parking_s": round(parking_s, 1),
        "activity_dispatch_p99_ms": round(percentile(dispatch, 99), 1) if dispatch else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=2000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the due times span")
    parser.add_argument(
        "--parked", type=int, default=20000, help="enrollments waiting beside them, not due"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.enrollments, args.spread, parked=args.parked))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "timers.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.stdout.flush()
    os._exit(0)  # the SDK's core threads can crash an orderly exit (sdk-python #300)


if __name__ == "__main__":
    main()
