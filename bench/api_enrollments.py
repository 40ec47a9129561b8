"""Enrollment throughput through the API against bare `client.start_workflow`, in the same run on
one fresh Temporal dev server.

    python -m bench.api_enrollments [--count 300] [--concurrency 32] [--batch 100]

Three figures, each over `--count` enrollments on a fresh dev server (SQLite, in memory):

- bare: `client.start_workflow` of a trivial workflow, `--concurrency` at once (the server's
  ceiling for starts on this machine);
- API, one enduser per request: `POST /v1/journeys/{id}/enrollments {enduserId}`, `--concurrency`
  requests in flight: API key check, journey lookup, the enduser looked up in Tellescope (the
  sandbox), then signal-with-start of JourneyWorkflow;
- API, bulk: the same endpoint with `enduserIds` in batches of `--batch`.

The API (`journeys api`) and the Tellescope sandbox run as their own processes, as deployed; no
worker runs, so only starting is measured (both sides start workflow tasks nobody polls). Printed,
not asserted; also written to bench/results/api_enrollments.json. The machine has 2 cores, shared
by the server, the API, the sandbox and this client: read the ratio, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.http_load import LeanClient
from config import find_binary
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "api_enrollments.json"
DEV_KEY = "sandbox-dev-key"
JOURNEY = """\
journey: {id: bench, title: Bench journey %s, states: [{name: New, priority: N/A}]}
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited ({process.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def timed(count: int, concurrency: int, call) -> float:
    """Rate of `count` calls of `call(i)`, `concurrency` at once."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - started)


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def server_pid() -> int | None:
    """The dev server this process started (a child process running the `temporal` binary)."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            if "start-dev" in child.cmdline():
                return child.pid
        except psutil.Error:
            continue
    return None


async def bare_rate(
    client: Client, count: int, concurrency: int, meter: CpuMeter | None = None
) -> float:
    run = uuid.uuid4().hex[:8]

    def starter(prefix: str):
        async def start(i: int) -> None:
            await client.start_workflow(
                Trivial.run, id=f"{prefix}-{run}-{i}", task_queue="bench-bare"
            )

        return start

    await timed(min(20, count), concurrency, starter("warm"))  # connections, caches
    with meter.phase("bare", count) if meter else _nothing():
        return await timed(count, concurrency, starter("bare"))


def create_endusers(sandbox: str, count: int) -> list[str]:
    ids: list[str] = []
    with httpx.Client(base_url=sandbox, headers={"Authorization": f"API_KEY {DEV_KEY}"}) as http:
        while len(ids) < count:
            batch = [{"fname": "Bench", "lname": f"{len(ids) + i}"} for i in range(500)]
            response = http.post("/v1/endusers", json={"create": batch}, timeout=60)
            response.raise_for_status()
            ids += [record["id"] for record in response.json()["created"]]
    return ids[:count]


class CpuMeter:
    """CPU seconds spent by each process of the run (this client, the dev server, the sandbox,
    the API) per measured phase: where the machine's two cores went."""

    def __init__(self, processes: dict[str, int]) -> None:
        import psutil

        self.processes = {name: psutil.Process(pid) for name, pid in processes.items()}
        self.phases: dict[str, dict[str, float]] = {}

    def _now(self) -> dict[str, float]:
        times = {}
        for name, process in self.processes.items():
            try:
                cpu = process.cpu_times()
                times[name] = cpu.user + cpu.system
            except Exception:  # gone
                times[name] = float("nan")
        return times

    def phase(self, name: str, operations: int):
        meter = self

        class _Phase:
            def __enter__(self):
                self.before = meter._now()

            def __exit__(self, *exc):
                after = meter._now()
                meter.phases[name] = {
                    f"{process}_cpu_ms_per_op": round(
                        (after[process] - self.before[process]) * 1000 / operations, 3
                    )
                    for process in after
                }

        return _Phase()


async def api_rates(
    api: str,
    key: str,
    endusers: list[str],
    count: int,
    concurrency: int,
    batch: int,
    meter: CpuMeter | None = None,
) -> tuple[float, float]:
    headers = {"Authorization": f"API_KEY {key}"}
    http = LeanClient(api, headers, concurrency)  # see bench/http_load.py: httpx costs too much
    try:

        async def enroll(body: dict) -> None:
            results = (await http.post_json("/v1/journeys/bench/enrollments", body))["results"]
            errors = [r for r in results if r["status"] == "error"]
            if errors:
                raise RuntimeError(f"enrollment failed: {errors[0]}")

        warm = endusers[-20:]
        await timed(len(warm), concurrency, lambda i: enroll({"enduserId": warm[i]}))
        single = endusers[:count]
        with meter.phase("api_single", count) if meter else _nothing():
            one_rate = await timed(count, concurrency, lambda i: enroll({"enduserId": single[i]}))
        bulk = endusers[count : 2 * count]
        batches = [bulk[i : i + batch] for i in range(0, len(bulk), batch)]
        started = time.perf_counter()
        with meter.phase("api_bulk", count) if meter else _nothing():
            await asyncio.gather(*(enroll({"enduserIds": b}) for b in batches))
        bulk_rate = len(bulk) / (time.perf_counter() - started)
    finally:
        await http.aclose()
    return one_rate, bulk_rate


async def run(count: int, concurrency: int, batch: int) -> dict:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL),
    )
    processes: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
            sandbox_port, api_port = free_port(), free_port()
            sandbox = f"http://127.0.0.1:{sandbox_port}"
            api = f"http://127.0.0.1:{api_port}"
            environment = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{folder}/engine.db",
                "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                "TASK_QUEUE": "bench-api",
                "TELLESCOPE_BASE_URL": sandbox,
                "TELLESCOPE_API_KEY": DEV_KEY,
            }
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "sandbox",
                        "--port",
                        str(sandbox_port),
                        "--db",
                        f"{folder}/sandbox.db",
                    ],
                    cwd=ROOT,
                    env=environment,
                    **quiet,
                )
            )
            wait_http(f"{sandbox}/sandbox/stats", processes[-1])
            key = subprocess.run(
                [sys.executable, "-m", "cli", "api-key", "create", "--name", "bench"],
                cwd=ROOT,
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            journey = Path(folder) / "bench.yaml"
            journey.write_text(JOURNEY % uuid.uuid4().hex[:6], encoding="utf-8")
            subprocess.run(
                [sys.executable, "-m", "cli", "deploy", str(journey)],
                cwd=ROOT,
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            )
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "cli",
                        "api",
                        "--port",
                        str(api_port),
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env=environment,
                    **quiet,
                )
            )
            wait_http(f"{api}/health", processes[-1])
            endusers = create_endusers(sandbox, 2 * count + 20)

            pids = {"client": os.getpid(), "sandbox": processes[0].pid, "api": processes[1].pid}
            found = server_pid()
            if found is not None:
                pids["server"] = found
            meter = CpuMeter(pids)
            bare = await bare_rate(env.client, count, concurrency, meter)
            one, bulk = await api_rates(api, key, endusers, count, concurrency, batch, meter)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        await env.shutdown()
    return {
        "count": count,
        "concurrency": concurrency,
        "batch": batch,
        "bare_start_workflow_per_s": round(bare, 1),
        "api_single_per_s": round(one, 1),
        "api_bulk_per_s": round(bulk, 1),
        "api_single_vs_bare": round(one / bare, 3),
        "api_bulk_vs_bare": round(bulk / bare, 3),
        "cpu": meter.phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="enrollments per measurement")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100, help="endusers per bulk request")
    args = parser.parse_args()
    result = asyncio.run(run(args.count, args.concurrency, args.batch))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    bare = result["bare_start_workflow_per_s"]
    print(f"{result['count']} enrollments per figure, {result['concurrency']} in flight:")
    print(f"  bare client.start_workflow (trivial workflow): {bare:8.1f}/s")
    print(
        f"  API, one enduser per request:                  {result['api_single_per_s']:8.1f}/s"
        f"  ({result['api_single_vs_bare']:.2f} x bare)"
    )
    print(
        f"  API, {result['batch']:>3} endusers per request:               "
        f"{result['api_bulk_per_s']:8.1f}/s  ({result['api_bulk_vs_bare']:.2f} x bare)"
    )
    for phase, cpu in result["cpu"].items():
        print(
            f"  CPU ms per enrollment, {phase}: "
            + ", ".join(f"{k.split('_')[0]} {v:.2f}" for k, v in cpu.items())
        )
    sys.stdout.flush()
    os._exit(0)  # the SDK's core threads can crash an orderly exit (sdk-python #300)


if __name__ == "__main__":
    main()
