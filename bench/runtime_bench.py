"""Runtime benchmarks on a fresh Temporal dev server, each beside bare Temporal in the same run:

1. Journey steps per second: enrollments of a generated journey whose steps are single Tellescope
   activities (real activities against the local sandbox), against bare Temporal workflows that
   each run the same activity call once. The ratio is the engine's overhead per step: plan
   interpretation, ledger writes, search attributes, UI details.
2. Parked enrollments: N enrollments that run one step and then wait for a trigger; time to start
   them, worker RSS, dev-server RSS and dev-server database size per enrollment, against N bare
   workflows waiting on a signal.

    python -m bench.runtime_bench [--steps 10] [--enrollments 30] [--parked 5000]

Figures are printed and written to bench/results/runtime.json; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from temporalio import activity
from temporalio.worker import Worker

from activities.engine import EngineActivities, JourneyControlActivities
from activities.settings import TellescopeSettings
from activities.tellescope_activities import TellescopeActivities
from activities.tellescope_client import TellescopeClient
from bench.bare_workflows import BareInput, BareParkedWorkflow, BareStepWorkflow
from compiler import compile_paths
from devstack.temporal import start_dev_server
from models.runtime import EnrollmentInput
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings
from store.db import create_tables, get_engine
from store.ledger import Ledger
from store.plans import PlanStore
from workflows import starter
from workflows.journey import JourneyWorkflow

RESULTS = Path(__file__).parent / "results"
KEY = "sandbox-dev-key"


# --- bare Temporal: one activity doing the same Tellescope call as one journey step ------------


class BareTellescope:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"API_KEY {KEY}"}
        )

    @activity.defn(name="bare_add_tag")
    async def add_tag(self, inp: BareInput) -> None:
        response = await self.http.patch(
            f"/v1/enduser/{inp.enduser_id}", json={"updates": {"tags": [inp.tag]}}
        )
        response.raise_for_status()


# --- helpers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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


class Bench:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def __aenter__(self) -> Bench:
        self.db_file = self.folder / "temporal.db"
        self.env = await start_dev_server(
            dev_server_extra_args=["--db-filename", str(self.db_file)]
        )
        self.client = self.env.client
        self.sandbox = SandboxServer(
            SandboxSettings(port=free_port(), db=self.folder / "sandbox.db", enforce_consent=False)
        ).start()
        self.api = httpx.Client(
            base_url=self.sandbox.base_url, headers={"Authorization": f"API_KEY {KEY}"}
        )
        engine = get_engine(f"sqlite:///{self.folder}/journeys.db")
        create_tables(engine)
        self.plans, self.ledger = PlanStore(engine), Ledger(engine)
        self.tellescope = TellescopeClient.from_settings(
            TellescopeSettings(base_url=self.sandbox.base_url, api_key=KEY)
        )
        self.bare = BareTellescope(self.sandbox.base_url)
        self.task_queue = f"bench-{uuid.uuid4()}"
        self.executor = ThreadPoolExecutor(32)
        return self

    async def __aexit__(self, *exc) -> None:
        self.executor.shutdown()
        await self.tellescope.aclose()
        await self.bare.http.aclose()
        self.api.close()
        self.sandbox.stop()
        await self.env.shutdown()

    def server_pid(self) -> int | None:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"start-dev" in cmd and str(self.db_file).encode() in cmd:
                    return int(pid)
        return None

    def worker(self) -> Worker:
        engine_acts = EngineActivities(self.plans, self.ledger)
        control = JourneyControlActivities(self.client, self.plans, self.ledger, self.task_queue)
        return Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=[JourneyWorkflow, BareStepWorkflow, BareParkedWorkflow],
            activities=[
                *TellescopeActivities(self.tellescope).all(),
                engine_acts.load_plan,
                engine_acts.record_ledger,
                control.control_journeys,
                self.bare.add_tag,
            ],
            activity_executor=self.executor,
            max_concurrent_activities=32,  # the thread pool's size (sync ledger writes)
        )

    def deploy(self, text: str) -> str:
        path = self.folder / f"{uuid.uuid4().hex}.yaml"
        path.write_text(text)
        plan = compile_paths([path]).plans[0]
        journey = self.api.post(
            "/v1/journey", json={"title": f"{plan.journey.title} {uuid.uuid4().hex[:6]}"}
        ).json()
        self.plans.save(plan, tellescope_journey_id=journey["id"])
        return plan.journeyId

    def endusers(self, count: int) -> list[str]:
        """Create endusers in the sandbox, 500 per bulk request (its documented limit is 1000)."""
        ids: list[str] = []
        for first in range(0, count, 500):
            records = [{"fname": f"Bench {i}"} for i in range(first, min(count, first + 500))]
            created = self.api.post("/v1/endusers", json={"create": records})
            created.raise_for_status()
            ids += [record["id"] for record in created.json()["created"]]
        return ids

    async def enroll(self, journey_id: str, enduser_id: str):
        row = self.plans.current(journey_id)
        inp = EnrollmentInput(
            journeyId=journey_id,
            planVersion=row.version,
            enduserId=enduser_id,
            tellescopeJourneyId=row.tellescope_journey_id,
        )
        return await starter.enroll(self.client, inp, task_queue=self.task_queue, restart=False)


async def steps_per_second(bench: Bench, steps: int, enrollments: int) -> dict:
    journey = bench.deploy(chain_journey(steps))
    people = bench.endusers(enrollments * 2)
    async with bench.worker():
        started = time.perf_counter()
        handles = await asyncio.gather(*(bench.enroll(journey, e) for e in people[:enrollments]))
        await asyncio.gather(*(h.result() for h in handles))
        ours = steps * enrollments / (time.perf_counter() - started)

        started = time.perf_counter()
        bare = await asyncio.gather(
            *(
                bench.client.start_workflow(
                    BareStepWorkflow.run,
                    BareInput(enduser_id=people[enrollments + (n % enrollments)], tag=f"bare-{n}"),
                    id=f"bare-step-{uuid.uuid4()}",
                    task_queue=bench.task_queue,
                )
                for n in range(steps * enrollments)
            )
        )
        await asyncio.gather(*(h.result() for h in bare))
        bare_rate = steps * enrollments / (time.perf_counter() - started)
    return {"ours": ours, "bare": bare_rate, "ratio": ours / bare_rate, "unit": "steps/s"}


async def parked(bench: Bench, count: int) -> dict:
    journey = bench.deploy(PARKED_JOURNEY)
    people = bench.endusers(count)
    worker_pid, server_pid = os.getpid(), bench.server_pid()

    async def measure(start_one, label: str) -> dict:
        db_before = bench.db_file.stat().st_size
        rss_before = rss_mib(worker_pid)
        server_before = rss_mib(server_pid) if server_pid else float("nan")
        started = time.perf_counter()
        handles = []
        for chunk in range(0, count, 200):
            handles += await asyncio.gather(*(start_one(e) for e in people[chunk : chunk + 200]))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(5)  # let the first steps finish and the workflows park
        return {
            f"{label}_start_s": elapsed,
            f"{label}_per_s": count / elapsed,
            f"{label}_worker_rss_mib": rss_mib(worker_pid) - rss_before,
            f"{label}_server_rss_mib": (rss_mib(server_pid) - server_before)
            if server_pid
            else None,
            f"{label}_db_bytes_per_enrollment": (bench.db_file.stat().st_size - db_before) / count,
        }

    async with bench.worker():
        ours = await measure(lambda e: bench.enroll(journey, e), "ours")
        bare = await measure(
            lambda e: bench.client.start_workflow(
                BareParkedWorkflow.run,
                BareInput(enduser_id=e, tag="parked"),
                id=f"bare-parked-{uuid.uuid4()}",
                task_queue=bench.task_queue,
            ),
            "bare",
        )
    return {"count": count, **ours, **bare}


def table(results: dict) -> str:
    steps = results["steps_per_second"]
    park = results["parked"]
    rows = [
        ("journey steps/s (single-activity steps)", steps["ours"], steps["bare"], steps["ratio"]),
        (
            f"start {park['count']} parked enrollments (per s)",
            park["ours_per_s"],
            park["bare_per_s"],
            park["ours_per_s"] / park["bare_per_s"],
        ),
        (
            "worker RSS growth (MiB)",
            park["ours_worker_rss_mib"],
            park["bare_worker_rss_mib"],
            park["ours_worker_rss_mib"] / max(park["bare_worker_rss_mib"], 0.1),
        ),
        (
            "server DB bytes per enrollment",
            park["ours_db_bytes_per_enrollment"],
            park["bare_db_bytes_per_enrollment"],
            park["ours_db_bytes_per_enrollment"] / max(park["bare_db_bytes_per_enrollment"], 1),
        ),
    ]
    if park.get("ours_server_rss_mib") is not None:
        rows.append(
            (
                "server RSS growth (MiB)",
                park["ours_server_rss_mib"],
                park["bare_server_rss_mib"],
                park["ours_server_rss_mib"] / max(park["bare_server_rss_mib"], 0.1),
            )
        )
    lines = [f"{'figure':<46} {'ours':>12} {'bare Temporal':>14} {'ratio':>8}"]
    lines += [
        f"{name:<46} {ours:>12.1f} {bare:>14.1f} {ratio:>8.2f}" for name, ours, bare, ratio in rows
    ]
    return "\n".join(lines)


async def run(steps: int, enrollments: int, parked_count: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        async with Bench(Path(folder)) as bench:
            results = {
                "steps_per_second": await steps_per_second(bench, steps, enrollments),
                "parked": await parked(bench, parked_count),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--enrollments", type=int, default=30)
    parser.add_argument("--parked", type=int, default=5000)
    args = parser.parse_args()
    results = asyncio.run(run(args.steps, args.enrollments, args.parked))
    print(table(results))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "runtime.json").write_text(json.dumps(results, indent=2))
    os._exit(0)  # Temporal's core threads may crash the interpreter at exit (sdk-python #300)


if __name__ == "__main__":
    main()
