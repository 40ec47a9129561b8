"""Timer lateness: N enrollments whose delayed steps all fall due within the same minute.

    python -m bench.timers [--enrollments 2000] [--spread 60] [--parked 20000] [--bare same-work]

Ours: a journey whose second step waits for a date-relative delay (`afterAction` with a
`fieldCondition`: due at the date in the enduser's `benchDue` field, as an appointment reminder
is), N endusers whose dates are spread evenly over `--spread` seconds, enrolled beforehand so every
timer is armed before the first falls due. Bare (`--bare same-work`, the default): N
BareDatedTimerWorkflows making the same Tellescope calls without the engine (tag the enduser, read
the date from the same field, sleep until it, tag again); `--bare timer-only`: N workflows given
their due time, sleeping until it, then tagging (the earlier runs' comparison). One worker in this
process runs both (the engine's, as worker.py builds it); lateness = when the due step's activity
starts running in the worker minus its due time. The dev server is a fresh one; the due minute
starts once everything is armed (the lead is sized from how fast a first batch armed). `--parked`
more enrollments (and as many bare workflows) wait beside them, armed first, due a month later: the
worker's workflow cache holds only some of all that wait, as in production.

Beside the lateness, each side reports the CPU that this process (the worker), the dev server and
the sandbox spent per due step run, from the first due time until the last due step started: what
one wake-up costs. Lateness grows without bound once wake-ups arrive faster than the machine can
pay for them, so this is the figure that says how far a side is from that point.
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

from bench.bare_workflows import (
    BARE_KINDS,
    BareDatedTimerWorkflow,
    BareInput,
    BareTimerWorkflow,
)
from bench.common import RESULTS, CpuMeter, gather_bounded, percentile, progress, stack
from bench.runtime_bench import CONCURRENCY, enroll
from bench.workers import BARE_DUE_FIELD, BareTellescope, StartRecorder, engine_worker

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


async def _due_window(
    s, recorder: StartRecorder, match, count: int, first_due: float, deadline: float
) -> tuple:
    """The due runs (as `_wait_for`) and the CPU each process spent per due run from the first
    due time until the last due run started: what one wake-up costs the worker (this process,
    which runs it), the dev server and the sandbox. The last wake-ups' own completions fall
    outside the window on both sides alike."""
    await asyncio.sleep(max(0.0, first_due - time.time()))
    meter = CpuMeter(
        {"worker": os.getpid(), "server": s.server_pid, "sandbox": s.sandbox_process.pid}
    )
    with meter.phase("due", count):
        runs = await _wait_for(recorder, match, count, deadline)
    window = meter.phases["due"]
    return runs, {
        f"{name}_cpu_ms_per_wake": window[f"{name}_cpu_ms_per_op"]
        for name in ("worker", "server", "sandbox")
        if f"{name}_cpu_ms_per_op" in window
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
    bare: str = "same-work",
) -> dict:
    """`margin`: seconds of slack before the first due time beyond the expected arming;
    `parked`: enrollments (and bare workflows) waiting beside them, not due during the run;
    `bare`: which bare workflow ours is measured against (BARE_KINDS)."""
    if bare not in BARE_KINDS:
        raise ValueError(f"bare must be one of {', '.join(BARE_KINDS)}, not {bare!r}")
    same_work = bare == "same-work"
    with tempfile.TemporaryDirectory(prefix="bench-timers-") as temporary:
        async with stack(Path(folder or temporary), memory=True) as s:
            journey, _ = s.deploy(TIMER_JOURNEY)
            recorder = StartRecorder()
            bare_calls = BareTellescope(s.sandbox_url)
            worker, close = engine_worker(
                s.client,
                task_queue=s.task_queue,
                database_url=s.database_url,
                sandbox_url=s.sandbox_url,
                interceptors=[recorder],
                bare=bare_calls,
            )
            try:
                async with worker:
                    ours = await _ours(s, journey, recorder, count, spread, margin, parked)
                    bare_result = await _bare(s, recorder, count, spread, margin, parked, same_work)
            finally:
                await close()
    return {
        "enrollments": count,
        "spread_s": spread,
        "parked": parked,
        "ours": ours,
        "bare": bare_result,
    }


async def _due_waiting(ledger, journey: str) -> int:
    """Enrollments whose ledger row says the `due` step waits: its timer is armed. The query
    runs on a thread: this process's event loop also runs the worker being measured, and a
    count over tens of thousands of rows would hold its workflow tasks up."""
    counts = await asyncio.to_thread(ledger.step_counts, journey)
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
    while await _due_waiting(ledger, journey) < parked:
        if time.time() > started + 600 + parked:  # far beyond any arming rate seen here
            raise TimeoutError(f"{parked} parked enrollments were not armed")
        await asyncio.sleep(1)
    return time.time() - started


async def _start_bare(s, people: list[str], run: str, inp, same_work: bool) -> list:
    """Start one bare workflow per enduser, ids `bare-<run>-<i>`, 1,000 at a time (progress)."""
    workflow = BareDatedTimerWorkflow.run if same_work else BareTimerWorkflow.run
    handles: list = []
    for first in range(0, len(people), 1000):
        calls = [
            lambda i=i: s.client.start_workflow(
                workflow, inp(i), id=f"bare-{run}-{i}", task_queue=s.task_queue
            )
            for i in range(first, min(len(people), first + 1000))
        ]
        handles += await gather_bounded(CONCURRENCY, calls)
        if len(people) > 1000:
            progress(f"timers (bare): {len(handles)}/{len(people)} workflows started")
    return handles


async def _wait_armed(handles: list, deadline: float) -> None:
    """Wait until the last started have their timer (the worker takes tasks about in order)."""
    for handle in handles[-5:]:
        while not any(
            e.HasField("timer_started_event_attributes")
            for e in (await handle.fetch_history()).events
        ):
            if time.time() > deadline:
                raise TimeoutError(f"{len(handles)} bare workflows were not armed")
            await asyncio.sleep(1)


async def _park_bare(s, parked: int, same_work: bool) -> float:
    """Start `parked` bare timer workflows due a month away and wait until they are armed."""
    started = time.time()
    due_ms = int((started + PARKED_FOR_S) * 1000)
    people = s.endusers(parked, lambda i: {BARE_DUE_FIELD: iso(due_ms / 1000)})
    handles = await _start_bare(
        s,
        people,
        f"parked-{uuid.uuid4().hex[:8]}",
        lambda i: BareInput(enduser_id=people[i], tag="parked", due_ms=due_ms),
        same_work,
    )
    await _wait_armed(handles, started + 600 + parked)
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
        if await _due_waiting(ledger, journey) >= count + probe + parked:
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

    runs, cpu = await _due_window(s, recorder, ran, count, first_due, first_due + spread + 300)
    lateness = [(x.started - due_of[x.workflow_id]) * 1000 for x in runs]
    dispatch = [(x.started - x.scheduled) * 1000 for x in runs]
    return {
        **_summary(lateness, count),
        "armed_after_due": armed_late,
        "armed_before_first_due_s": round(slack, 1),
        "arming_rate_per_s": round(rate, 1),
        "parking_s": round(parking_s, 1),
        "activity_dispatch_p99_ms": round(percentile(dispatch, 99), 1) if dispatch else None,
        **cpu,
    }


async def _bare(
    s,
    recorder: StartRecorder,
    count: int,
    spread: float,
    margin: float,
    parked: int,
    same_work: bool,
) -> dict:
    parking_s = await _park_bare(s, parked, same_work) if parked else 0.0
    if same_work:
        # As for ours: a first batch, due far away, times how fast the workflows get armed.
        probe = min(50, count)
        far = time.time() + 3600
        people = s.endusers(probe, lambda i: {BARE_DUE_FIELD: iso(far)})
        run = uuid.uuid4().hex[:8]
        started = time.time()
        await _start_bare(
            s, people, run, lambda i: BareInput(enduser_id=people[i], tag="probe"), True
        )
        probes = {f"bare-{run}-{i}" for i in range(probe)}
        await _wait_for(
            recorder,
            lambda x: x.activity_type == "bare_read_due" and x.workflow_id in probes,
            probe,
            started + 120,
        )
        rate = probe / max(time.time() - started, 0.01)
        lead = margin + 3 * count / rate
    else:
        lead = margin + count / 100
    first_due = time.time() + lead
    due = {i: first_due + spread * i / count for i in range(count)}
    people = s.endusers(count, lambda i: {BARE_DUE_FIELD: iso(due[i])})
    run = uuid.uuid4().hex[:8]
    due_of = {f"bare-{run}-{i}": due[i] for i in range(count)}
    progress(f"timers (bare): {count} workflows due from +{lead:.0f} s over {spread:.0f} s")
    handles = await _start_bare(
        s,
        people,
        run,
        lambda i: BareInput(enduser_id=people[i], tag="due", due_ms=int(due[i] * 1000)),
        same_work,
    )
    late_start = time.time() - first_due
    if same_work:  # every date read, then the last started have their timer
        await _wait_for(
            recorder,
            lambda x: x.activity_type == "bare_read_due" and x.workflow_id in due_of,
            count,
            first_due + spread,
        )
        await _wait_armed(handles, first_due + spread)
    slack = first_due - time.time()
    runs, cpu = await _due_window(
        s,
        recorder,
        lambda x: (
            x.workflow_id in due_of
            and x.activity_type == "bare_add_tag"
            and getattr(x.arg, "tag", None) == "due"
        ),
        count,
        first_due,
        first_due + spread + 300,
    )
    lateness = [(x.started - due_of[x.workflow_id]) * 1000 for x in runs]
    dispatch = [(x.started - x.scheduled) * 1000 for x in runs]
    return {
        **_summary(lateness, count),
        "workflow": "BareDatedTimerWorkflow" if same_work else "BareTimerWorkflow",
        "started_after_first_due_s": round(late_start, 1) if late_start > 0 else 0,
        "armed_before_first_due_s": round(slack, 1),
        "parking_s": round(parking_s, 1),
        "activity_dispatch_p99_ms": round(percentile(dispatch, 99), 1) if dispatch else None,
        **cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=2000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the due times span")
    parser.add_argument(
        "--parked", type=int, default=20000, help="enrollments waiting beside them, not due"
    )
    parser.add_argument(
        "--bare", choices=BARE_KINDS, default="same-work", help="the bare workflow compared"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.enrollments, args.spread, parked=args.parked, bare=args.bare))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "timers.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.stdout.flush()
    os._exit(0)  # the SDK's core threads can crash an orderly exit (sdk-python #300)


if __name__ == "__main__":
    main()
