"""Enrollment throughput through the API against bare `client.start_workflow`, in the same run on
one fresh Temporal dev server.

    python -m bench.api_enrollments [--count 1000] [--concurrency 32] [--batch 100] [--file-server]
                                    [--profile-api api-profile.json]

Three figures over `--count` enrollments each, measured in alternating rounds (a machine whose
load drifts slows every figure alike):

- bare: `client.start_workflow` of a trivial workflow, `--concurrency` at once (the server's
  ceiling for starts on this machine);
- API, one enduser per request: `POST /v1/journeys/{id}/enrollments {enduserId}`, `--concurrency`
  requests in flight: API key check, journey lookup, the enduser looked up in Tellescope (the
  sandbox), then the start of JourneyWorkflow (workflows.starter);
- API, bulk: the same endpoint with `enduserIds` in batches of `--batch`, two requests in flight.

The API (`journeys api`) and the Tellescope sandbox run as their own processes, as deployed; no
worker runs, so only starting is measured (both sides start workflow tasks nobody polls). The
dev server keeps its database in memory (Temporal at its fastest here), or with --file-server in
a file as `journeys dev` runs it. The machine's cores are shared by the server, the API, the
sandbox and this client: the CPU each spent per enrollment is recorded beside the rates (`cpu`).
With --profile-api the API runs under py-spy, which writes a speedscope profile.
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
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client

from bench.common import RESULTS, CpuMeter, load_average, progress, stack
from bench.http_load import LeanClient

JOURNEY = """\
journey: {id: bench, title: Bench journey, states: [{name: New, priority: N/A}]}
steps:
  - id: start
    events: [{type: onJourneyStart, info: {}}]
    action: {type: setEnduserStatus, info: {status: Started}}
"""


@workflow.defn(name="BenchTrivial")
class Trivial:
    @workflow.run
    async def run(self) -> None:
        return None


async def timed(count: int, concurrency: int, call) -> float:
    """Rate of `count` calls of `call(i)`, `concurrency` at once."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - started)


async def measure(
    client: Client,
    api: str,
    key: str,
    endusers: list[str],
    count: int,
    concurrency: int,
    batch: int,
    rounds: int,
    meter: CpuMeter,
) -> None:
    """`rounds` rounds of: `count / rounds` bare starts, as many API enrollments one per
    request, as many in bulk requests. Alternating keeps a machine whose load drifts (other
    work on the same cores) from favouring one side."""
    headers = {"Authorization": f"API_KEY {key}"}
    http = LeanClient(api, headers, concurrency)  # see bench/http_load.py: httpx costs too much
    run = uuid.uuid4().hex[:8]

    async def bare(i: int) -> None:
        await client.start_workflow(Trivial.run, id=f"bare-{run}-{i}", task_queue="bench-bare")

    async def enroll(body: dict) -> None:
        results = (await http.post_json("/v1/journeys/bench/enrollments", body))["results"]
        errors = [r for r in results if r["status"] == "error"]
        if errors:
            raise RuntimeError(f"enrollment failed: {errors[0]}")

    try:
        warm = endusers[-20:]  # connections, caches, imports on both sides
        await timed(len(warm), concurrency, lambda i: bare(-1 - i))
        await timed(len(warm), concurrency, lambda i: enroll({"enduserId": warm[i]}))
        per_round = max(1, count // rounds)
        single_people, bulk_people = endusers[:count], endusers[count : 2 * count]
        for r in range(rounds):
            first = r * per_round
            progress(f"enrollments: round {r + 1}/{rounds}, {per_round} per figure")
            with meter.phase("bare", per_round):
                await timed(per_round, concurrency, lambda i, first=first: bare(first + i))
            single = single_people[first : first + per_round]
            with meter.phase("api_single", len(single)):
                await timed(
                    len(single), concurrency, lambda i, s=single: enroll({"enduserId": s[i]})
                )
            bulk = bulk_people[first : first + per_round]
            batches = [bulk[i : i + batch] for i in range(0, len(bulk), batch)]
            # two batches in flight: one request's enduser lookup overlaps the other's starts
            with meter.phase("api_bulk", len(bulk)):
                await timed(len(batches), 2, lambda i, b=batches: enroll({"enduserIds": b[i]}))
    finally:
        await http.aclose()


async def run(
    count: int,
    concurrency: int,
    batch: int,
    folder: Path | None = None,
    profile_api: Path | None = None,
    *,
    memory: bool = True,
    rounds: int = 3,
) -> dict:
    """On a fresh dev server: in memory (`memory`, Temporal at its fastest on this machine), or
    with its database in a file (as `journeys dev` runs it)."""
    with tempfile.TemporaryDirectory(prefix="bench-api-") as temporary:
        async with stack(
            Path(folder or temporary), api=True, profile_api=profile_api, memory=memory
        ) as s:
            s.deploy(JOURNEY)
            key = s.api_key()
            progress(f"enrollments: creating {2 * count + 20} endusers in the sandbox")
            endusers = s.endusers(2 * count + 20)
            meter = CpuMeter(
                {
                    "client": os.getpid(),
                    "server": s.server_pid,
                    "sandbox": s.sandbox_process.pid,
                    "api": s.api_pid,
                }
            )
            await measure(
                s.client, s.api_url, key, endusers, count, concurrency, batch, rounds, meter
            )
    phases = meter.phases
    bare, one, bulk = (phases[p]["per_s"] for p in ("bare", "api_single", "api_bulk"))
    return {
        "server": "memory" if memory else "file",
        "count": phases["bare"]["operations"],
        "rounds": rounds,
        "concurrency": concurrency,
        "batch": batch,
        "bare_start_workflow_per_s": bare,
        "api_single_per_s": one,
        "api_bulk_per_s": bulk,
        "api_single_vs_bare": round(one / bare, 3),
        "api_bulk_vs_bare": round(bulk / bare, 3),
        "cpu": phases,
        "load_average": round(load_average(), 2),
    }


def report(result: dict) -> str:
    bare = result["bare_start_workflow_per_s"]
    lines = [
        f"{result['count']} enrollments per figure, {result['concurrency']} in flight,"
        f" dev server database in {result['server']}:",
        f"  bare client.start_workflow (trivial workflow): {bare:8.1f}/s",
        f"  API, one enduser per request:                  {result['api_single_per_s']:8.1f}/s"
        f"  ({result['api_single_vs_bare']:.2f} x bare)",
        f"  API, {result['batch']:>3} endusers per request:               "
        f"{result['api_bulk_per_s']:8.1f}/s  ({result['api_bulk_vs_bare']:.2f} x bare)",
    ]
    for phase, cpu in result["cpu"].items():
        lines.append(
            f"  CPU ms per enrollment, {phase}: "
            + ", ".join(
                f"{k.split('_')[0]} {v:.2f}" for k, v in cpu.items() if k.endswith("_per_op")
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="enrollments per measurement")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100, help="endusers per bulk request")
    parser.add_argument("--keep", type=Path, help="keep the run's folder (logs) here")
    parser.add_argument(
        "--profile-api", type=Path, help="run the API under py-spy; speedscope profile here"
    )
    args = parser.parse_args()
    result = asyncio.run(run(args.count, args.concurrency, args.batch, args.keep, args.profile_api))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api_enrollments.json").write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    sys.stdout.flush()
    os._exit(0)  # the SDK's core threads can crash an orderly exit (sdk-python #300)


if __name__ == "__main__":
    main()
