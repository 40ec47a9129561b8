"""Worker memory per cached workflow and the cost of a cache miss, ours against bare Temporal.

1. Memory: ours, N enrollments of the parked journey (one step, then a trigger wait: the parked
   benchmark's journey) started the way the API starts them, with the real worker
   (`python -m worker`) running; bare, N `BareParkedWorkflow`s with the bare worker process
   (bench.workers). Each side on its own fresh dev server. A few warm-up workflows first (imports,
   connections), then the worker's RSS; then N more, until every first step ran and the worker
   is idle; RSS again. RSS per cached workflow = the growth / N (warm-up + N within the default
   cache of 1,000 keeps every one of them cached).
2. Cache miss: one parked history of each side, fetched from its server, replayed again and
   again by a Replayer built as the worker builds its worker (the same workflows, data converter
   and workflow runner): ms per history, ours and bare alternating in rounds. Then the recorded
   histories of tests/histories (ours only, longer journeys): ms per history.

    python -m bench.worker_memory [--count 900] [--replays 200]

Printed, never asserted.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from bench.bare_workflows import BareInput, BareParkedWorkflow
from bench.common import ROOT, gather_bounded, load_average, progress, rss_mib, stack
from bench.runtime_bench import CONCURRENCY, PARKED_JOURNEY, _wait_idle, enroll
from bench.workers import BARE_WORKFLOWS

WARM_UP = 20
RECORDED = ROOT / "tests" / "histories"


async def _memory_side(folder: Path, count: int, side: str) -> dict:
    """One side's worker RSS before and after `count` parked workflows, and one of their
    histories."""
    async with stack(folder) as s:
        people = s.endusers(count + WARM_UP)
        if side == "ours":
            from store.ledger import Ledger

            journey, _ = s.deploy(PARKED_JOURNEY)
            name = "worker"
            worker = s.spawn(name, ["-m", "worker"])
            ledger = Ledger(s.plans().engine)

            def finished() -> int:
                counts = ledger.step_counts(journey)
                return sum(c[4] for c in counts if c[0] == "hello" and c[2] == "finished")

            async def start(e: str) -> str:
                return (await enroll(s, s.client, journey, e, s.task_queue)).id

        else:
            done_file = s.folder / "bare-done.txt"
            name = "bare-worker"
            worker = s.spawn(
                name,
                ["-m", "bench.workers", "--address", s.address, "--task-queue", s.task_queue]
                + ["--sandbox", s.sandbox_url or "", "--done", str(done_file)],
            )

            def finished() -> int:
                text = done_file.read_text() if done_file.exists() else ""
                return int(text) if text.isdigit() else 0

            async def start(e: str) -> str:
                handle = await s.client.start_workflow(
                    BareParkedWorkflow.run,
                    BareInput(enduser_id=e, tag="parked"),
                    id=f"bare-parked-{e}",
                    task_queue=s.task_queue,
                )
                return handle.id

        await asyncio.sleep(1)  # the worker connects and polls
        if worker.poll() is not None:
            raise RuntimeError(f"{side} worker exited:\n{s.log_tail(name)}")
        ids = await gather_bounded(CONCURRENCY, [lambda e=e: start(e) for e in people[:WARM_UP]])
        await _wait_idle(worker.pid, lambda: finished() >= WARM_UP, 300)
        before = rss_mib(worker.pid) or 0.0
        progress(f"worker memory ({side}): {count} parked workflows")
        started = time.perf_counter()
        await gather_bounded(CONCURRENCY, [lambda e=e: start(e) for e in people[WARM_UP:]])
        await _wait_idle(worker.pid, lambda: finished() >= WARM_UP + count, 1800)
        settle_s = time.perf_counter() - started
        after = rss_mib(worker.pid) or 0.0
        history = await s.client.get_workflow_handle(ids[0]).fetch_history()
        if worker.poll() is not None:
            raise RuntimeError(f"{side} worker exited:\n{s.log_tail(name)}")
    return {
        "worker_rss_idle_mib": round(before, 1),
        "worker_rss_mib": round(after, 1),
        "kib_per_cached_workflow": round((after - before) * 1024 / count, 1),
        "parked_after_s": round(settle_s, 1),
        "history_events": len(history.events),
        "history": history,
    }


def _replayer(side: str) -> Replayer:
    """A replayer built as that side's worker is built (bench.workers for bare)."""
    if side == "ours":
        from worker import WORKFLOWS, workflow_runner

        return Replayer(
            workflows=WORKFLOWS,
            data_converter=pydantic_data_converter,
            workflow_runner=workflow_runner(),
        )
    return Replayer(workflows=BARE_WORKFLOWS, data_converter=pydantic_data_converter)


async def _replay_ms(replayer: Replayer, histories: Sequence[WorkflowHistory], times: int) -> float:
    """Milliseconds per history to replay `histories` `times` times over (each a cache miss:
    the replayer evicts every workflow once its history ends)."""
    copies = [
        WorkflowHistory(f"{h.workflow_id}-{i}", h.events) for i in range(times) for h in histories
    ]

    async def each():
        for history in copies:
            yield history

    started = time.perf_counter()
    await replayer.replay_workflows(each())  # raises on nondeterminism
    return (time.perf_counter() - started) * 1000 / len(copies)


async def _replays(ours: WorkflowHistory, bare: WorkflowHistory, replays: int) -> dict:
    replayers = {"ours": _replayer("ours"), "bare": _replayer("bare")}
    histories = {"ours": [ours], "bare": [bare]}
    for side in replayers:  # warm-up: imports, the replayer's first worker
        await _replay_ms(replayers[side], histories[side], 2)
    rounds = 5
    per_round: dict[str, list[float]] = {"ours": [], "bare": []}
    for _ in range(rounds):  # alternating, so a busy machine slows both alike
        for side in replayers:
            ms = await _replay_ms(replayers[side], histories[side], max(1, replays // rounds))
            per_round[side].append(ms)
    recorded = [
        WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
        for path in sorted(RECORDED.glob("*.json"))
    ]
    recorded_ms = await _replay_ms(replayers["ours"], recorded, max(1, replays // 50))
    ours_ms, bare_ms = statistics.median(per_round["ours"]), statistics.median(per_round["bare"])
    return {
        "ours_replay_ms": round(ours_ms, 2),
        "bare_replay_ms": round(bare_ms, 2),
        "replay_ratio": round(ours_ms / bare_ms, 2),
        "recorded_histories": len(recorded),
        "recorded_events_mean": round(statistics.mean(len(h.events) for h in recorded), 1),
        "recorded_replay_ms": round(recorded_ms, 2),
    }


async def run(count: int, replays: int, folder: Path) -> dict[str, Any]:
    """Worker RSS per cached workflow and replay time per history, ours and bare."""
    from worker import WORKFLOW_MODULES, cache_workflow_bytecode

    # Both sides' workflow modules as bytecode (as the worker does for its own), so that neither
    # side's replays compile source.
    cache_workflow_bytecode((*WORKFLOW_MODULES, "bench.bare_workflows"))
    progress(f"worker memory: {count} parked enrollments on a fresh dev server, the real worker")
    ours = await _memory_side(folder / "ours", count, "ours")
    progress(f"worker memory: {count} bare parked workflows on another, a bare worker")
    bare = await _memory_side(folder / "bare", count, "bare")
    progress("worker memory: replaying one parked history of each side")
    replay = await _replays(ours.pop("history"), bare.pop("history"), replays)
    return {
        "count": count,
        "ours": ours,
        "bare": bare,
        "rss_ratio": round(ours["worker_rss_mib"] / bare["worker_rss_mib"], 2),
        "per_cached_ratio": round(
            ours["kib_per_cached_workflow"] / bare["kib_per_cached_workflow"], 2
        ),
        **replay,
        "load_average": round(load_average(), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=900, help="parked workflows per side")
    parser.add_argument("--replays", type=int, default=200, help="replays of each history")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-worker-memory-") as folder:
        results = asyncio.run(run(args.count, args.replays, Path(folder)))
    print(json.dumps(results, indent=2))
    sys.stdout.flush()
    os._exit(0)  # Temporal's core threads may crash the interpreter at exit (sdk-python #300)


if __name__ == "__main__":
    main()
