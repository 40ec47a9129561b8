"""Runtime benchmarks, each on fresh Temporal dev servers, beside bare Temporal in the same run:

1. Journey steps per second: enrollments of a generated journey whose steps are single Tellescope
   activities (the real activities against the sandbox, as its own process), against bare
   Temporal workflows that each run the same activity call once. Both run in one worker in this
   process, in alternating rounds (so a busy machine slows both alike). The ratio is the engine's
   overhead per step: loading the plan, ledger writes, search attributes, UI details.
2. Parked enrollments: N enrollments that run one step and then wait for a trigger, started
   with the real worker (`python -m worker`) running, on a dev server whose database is a file
   (its size is one of the figures); time to start them and until all are parked, the worker's
   and the server's CPU per enrollment, the worker's RSS, the dev server's RSS growth and
   database growth per enrollment, and, from the histories of a sample of them, history events
   and Temporal Cloud actions per enrollment. Bare: N workflows that run the same activity and
   wait for a signal, with a bare worker process, on a second fresh dev server (so each server's
   RSS and database hold one side only). `projection` scales the figures to a million parked.

    python -m bench.runtime_bench [--steps 10] [--enrollments 100] [--parked 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from temporalio.api.enums.v1 import EventType

from bench.actions import cloud_actions
from bench.bare_workflows import BareInput, BareParkedWorkflow, BareStepWorkflow
from bench.common import (
    RESULTS,
    Stack,
    cpu_seconds,
    gather_bounded,
    load_average,
    progress,
    rss_mib,
    stack,
)
from bench.workers import BARE_CACHE, BareTellescope, engine_worker
from models.runtime import EnrollmentInput
from settings import EngineSettings
from workflows import starter

CONCURRENCY = 32  # starts in flight, both sides
HISTORY_SAMPLE = 20  # parked workflows per side whose histories are read

PARKED_JOURNEY = """
journey: {id: bench-parked, title: Benchmark parked}
steps:
  - id: hello
    events: [{type: onJourneyStart, info: {}}]
    action: {type: addEnduserTags, info: {tags: [parked]}}
  - id: released
    events: [{type: waitForTrigger, info: {automationStepId: hello, triggerId: go}}]
    action: {type: addEnduserTags, info: {tags: [released]}}
triggers:
  - id: go
    title: Release
    status: Active
    journeyId: bench-parked
    event: {type: Tag Added, info: {tag: go}}
    action: {type: Move To Step, info: {}}
"""


def chain_journey(steps: int) -> str:
    lines = ["journey: {id: bench-chain, title: Benchmark chain}", "steps:"]
    for i in range(steps):
        event = (
            "{type: onJourneyStart, info: {}}"
            if i == 0
            else f"{{type: afterAction, info: {{automationStepId: s{i - 1}, delayInMS: 0}}}}"
        )
        lines += [
            f"  - id: s{i}",
            f"    events: [{event}]",
            f"    action: {{type: addEnduserTags, info: {{tags: [step-{i}]}}}}",
        ]
    return "\n".join(lines) + "\n"


def enrollment(s: Stack, journey_id: str, enduser_id: str) -> EnrollmentInput:
    head = s.plans().resolve_head(journey_id)
    return EnrollmentInput(
        journeyId=journey_id,
        planVersion=head.version,
        enduserId=enduser_id,
        tellescopeJourneyId=head.tellescope_journey_id,
        source="bench",
    )


async def enroll(s: Stack, client, journey_id: str, enduser_id: str, task_queue: str):
    """Start an enrollment as the API does (workflows.starter)."""
    inp = enrollment(s, journey_id, enduser_id)
    plan = s.plans().enrollment_plan(journey_id, inp.planVersion)
    return await starter.enroll(client, inp, task_queue=task_queue, restart=True, plan=plan)


# --- 1. journey steps per second ------------------------------------------------------------------


async def steps_per_second(folder: Path, steps: int, enrollments: int, rounds: int = 4) -> dict:
    async with stack(folder, memory=True) as s:
        journey, _ = s.deploy(chain_journey(steps))
        people = s.endusers(enrollments * 2)
        bare = BareTellescope(s.sandbox_url)
        worker, close = engine_worker(
            s.client,
            task_queue=s.task_queue,
            database_url=s.database_url,
            sandbox_url=s.sandbox_url,
            bare=bare,
        )
        ours_time = bare_time = 0.0
        ours_steps = bare_steps = 0
        per_round = max(1, enrollments // rounds)
        try:
            async with worker:
                # warm-up: one enrollment and a few bare workflows (imports, connections)
                await (await enroll(s, s.client, journey, people[-1], s.task_queue)).result()
                for r in range(rounds):
                    chunk = people[r * per_round : (r + 1) * per_round]
                    progress(
                        f"steps: round {r + 1}/{rounds}: {len(chunk)} enrollments x {steps} steps,"
                        f" then {len(chunk) * steps} bare workflows"
                    )
                    started = time.perf_counter()
                    handles = await gather_bounded(
                        CONCURRENCY,
                        [lambda e=e: enroll(s, s.client, journey, e, s.task_queue) for e in chunk],
                    )
                    await asyncio.gather(*(h.result() for h in handles))
                    ours_time += time.perf_counter() - started
                    ours_steps += steps * len(chunk)

                    size = len(chunk)
                    started = time.perf_counter()
                    handles = await gather_bounded(
                        CONCURRENCY,
                        [
                            lambda n=n, size=size: s.client.start_workflow(
                                BareStepWorkflow.run,
                                BareInput(
                                    enduser_id=people[enrollments + n % size],
                                    tag=f"bare-{n}",
                                ),
                                id=f"bare-step-{uuid.uuid4()}",
                                task_queue=s.task_queue,
                            )
                            for n in range(steps * size)
                        ],
                    )
                    await asyncio.gather(*(h.result() for h in handles))
                    bare_time += time.perf_counter() - started
                    bare_steps += steps * len(chunk)
        finally:
            await close()
    ours, bare_rate = ours_steps / ours_time, bare_steps / bare_time
    return {
        "steps": steps,
        "enrollments": per_round * rounds,
        "rounds": rounds,
        "ours_steps_per_s": round(ours, 1),
        "bare_steps_per_s": round(bare_rate, 1),
        "ratio": round(ours / bare_rate, 3),
    }


# --- 2. parked enrollments ---------------------------------------------------------------------


async def _wait_idle(pid: int, done, timeout: float) -> None:
    """Until `done()` holds and the process has been (nearly) idle for a second."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(1)
        now = cpu_seconds(pid)
        if done() and now - last < 0.05:
            return
        last = now
    raise TimeoutError("the worker did not settle")


async def _histories(client, handles: list, sample: int) -> dict:
    """History events and Temporal Cloud actions per workflow, averaged over `sample` of the
    workflows spread evenly over the order they were started in."""
    step = max(1, len(handles) // sample)
    chosen = handles[::step][:sample]
    events = 0
    actions: Counter[str] = Counter()
    event_bytes: Counter[str] = Counter()
    for handle in chosen:
        history = await client.get_workflow_handle(handle.id).fetch_history()
        events += len(history.events)
        actions.update(cloud_actions(history.events))
        for event in history.events:
            kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
            event_bytes[kind] += event.ByteSize()
    n = max(len(chosen), 1)
    return {
        "history_sample": len(chosen),
        "history_events_per_enrollment": round(events / n, 2),
        # the history as the server stores it (protobuf), what its database holds per enrollment
        "history_bytes_per_enrollment": round(sum(event_bytes.values()) / n),
        "history_bytes_by_event": {
            kind: round(value / n) for kind, value in sorted(event_bytes.items())
        },
        "actions_per_enrollment": round(sum(actions.values()) / n, 2),
        "actions_by_kind": {kind: round(value / n, 2) for kind, value in sorted(actions.items())},
    }


async def _parked_side(folder: Path, count: int, side: str) -> dict:
    async with stack(folder) as s:
        people = s.endusers(count)
        if side == "ours":
            journey, _ = s.deploy(PARKED_JOURNEY)
            name = "worker"
            worker = s.spawn(name, ["-m", "worker"])
            cache = EngineSettings().max_cached_workflows  # what `python -m worker` reads
            plans = s.plans()
            from store.ledger import Ledger

            ledger = Ledger(plans.engine)

            def done() -> bool:
                counts = ledger.step_counts(journey)
                return sum(c[4] for c in counts if c[0] == "hello" and c[2] == "finished") >= count

            def start(e: str):
                return enroll(s, s.client, journey, e, s.task_queue)

        else:
            done_file = s.folder / "bare-done.txt"
            name = "bare-worker"
            cache = BARE_CACHE
            worker = s.spawn(
                name,
                [
                    "-m",
                    "bench.workers",
                    "--address",
                    s.address,
                    "--task-queue",
                    s.task_queue,
                    "--sandbox",
                    s.sandbox_url,
                    "--done",
                    str(done_file),
                ],
            )

            def done() -> bool:
                text = done_file.read_text() if done_file.exists() else ""
                return text.isdigit() and int(text) >= count

            def start(e: str):
                return s.client.start_workflow(
                    BareParkedWorkflow.run,
                    BareInput(enduser_id=e, tag="parked"),
                    id=f"bare-parked-{e}",
                    task_queue=s.task_queue,
                )

        await asyncio.sleep(1)  # the worker connects and polls
        if worker.poll() is not None:
            raise RuntimeError(f"{side} worker exited:\n{s.log_tail(name)}")
        await _wait_idle(worker.pid, lambda: True, 60)
        worker_before, server_before = rss_mib(worker.pid), rss_mib(s.server_pid)
        db_before = s.server_db_bytes()
        cpu_before = {"worker": cpu_seconds(worker.pid), "server": cpu_seconds(s.server_pid)}
        started = time.perf_counter()
        handles: list = []
        for first in range(0, count, 1000):
            handles += await gather_bounded(
                CONCURRENCY, [lambda e=e: start(e) for e in people[first:][:1000]]
            )
            progress(f"parked ({side}): {min(first + 1000, count)}/{count} started")
        start_s = time.perf_counter() - started
        progress(f"parked ({side}): waiting until every first step ran and the worker is idle")
        await _wait_idle(worker.pid, done, 3600)
        settle_s = time.perf_counter() - started
        worker_after, server_after = rss_mib(worker.pid), rss_mib(s.server_pid)
        cpu = {
            "worker": cpu_seconds(worker.pid) - cpu_before["worker"],
            "server": cpu_seconds(s.server_pid) - cpu_before["server"],
        }
        result = {
            "start_s": round(start_s, 2),
            "starts_per_s": round(count / start_s, 1),
            "parked_after_s": round(settle_s, 1),
            "worker_rss_mib": round(worker_after, 1),
            "worker_rss_growth_mib": round(worker_after - worker_before, 1),
            "server_rss_mib": round(server_after, 1) if server_after else None,
            "server_rss_growth_mib": round(server_after - server_before, 1)
            if server_after and server_before
            else None,
            "db_bytes_per_enrollment": round((s.server_db_bytes() - db_before) / count),
            "worker_cpu_ms_per_enrollment": round(cpu["worker"] * 1000 / count, 2),
            "server_cpu_ms_per_enrollment": round(cpu["server"] * 1000 / count, 2),
            "workflow_cache": cache,
            "load_average": round(load_average(), 2),
        }
        # read after the CPU figures: fetching histories costs the server CPU too
        result.update(await _histories(s.client, handles, HISTORY_SAMPLE))
    return result


async def parked(folder: Path, count: int) -> dict:
    progress(f"parked: {count} enrollments on a fresh dev server, the real worker running")
    ours = await _parked_side(folder / "ours", count, "ours")
    progress(f"parked: {count} bare workflows on another fresh dev server, a bare worker running")
    bare = await _parked_side(folder / "bare", count, "bare")
    result = {"count": count, "ours": ours, "bare": bare}
    return {**result, "projection": projection(result)}


def projection(parked: dict, patients: int = 1_000_000) -> dict:
    """What `patients` parked enrollments would cost, scaled from a parked run, per side.

    Memory: a parked workflow need not stay in the worker's workflow cache (an evicted one is
    replayed from its history when it next wakes), so the worker's RSS follows its cache size
    (`MAX_CACHED_WORKFLOWS`), not the number parked. The RSS the worker grew by while parking,
    over the workflows it could keep cached, is its memory per cached workflow; caching all of
    them would cost that times `patients`. Actions and database scale with the number parked.
    """
    out: dict = {"patients": patients}
    for side in ("ours", "bare"):
        r = parked[side]
        cached = max(1, min(parked["count"], r["workflow_cache"]))
        per_cached = r["worker_rss_growth_mib"] / cached
        base = r["worker_rss_mib"] - r["worker_rss_growth_mib"]
        out[side] = {
            "worker_rss_mib_per_cached_workflow": round(per_cached, 4),
            "workflow_cache": r["workflow_cache"],
            "worker_rss_mib_at_cache_size": round(base + per_cached * r["workflow_cache"], 1),
            "worker_rss_mib_all_cached": round(base + per_cached * patients),
            "cached_workflows_mib_per_patients": round(per_cached * patients),
            "actions": round(r["actions_per_enrollment"] * patients),
            "database_gib": round(r["db_bytes_per_enrollment"] * patients / 2**30, 1),
        }
    return out


async def run(steps: int, enrollments: int, parked_count: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as folder:
        return {
            "steps_per_second": await steps_per_second(Path(folder) / "steps", steps, enrollments),
            "parked": await parked(Path(folder) / "parked", parked_count),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--enrollments", type=int, default=100)
    parser.add_argument("--parked", type=int, default=20000)
    args = parser.parse_args()
    results = asyncio.run(run(args.steps, args.enrollments, args.parked))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "runtime.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    sys.stdout.flush()
    os._exit(0)  # Temporal's core threads may crash the interpreter at exit (sdk-python #300)


if __name__ == "__main__":
    main()
