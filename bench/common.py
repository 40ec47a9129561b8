"""What every benchmark shares: fresh dev servers, the sandbox, the API and workers as processes,
/proc readings (RSS, CPU) and percentiles. Nothing here is timed itself.

Each benchmark starts its own fresh Temporal dev server (SQLite file in a temporary folder, as
`journeys dev` runs it), so no benchmark sees another's workflows, and the server's RSS and
database size can be read per benchmark.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from compiler import compile_paths
from devstack.temporal import start_dev_server
from store.db import create_schema, drop_schema, get_engine, upgrade_engine
from store.plans import PlanStore

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SANDBOX_KEY = "sandbox-dev-key"
# A PostgreSQL server URL: the engine's database is a fresh schema there instead of a SQLite file.
BENCH_POSTGRES_URL = "BENCH_POSTGRES_URL"
_STARTED = time.monotonic()


def progress(message: str) -> None:
    """One line on stderr: long benchmarks say what they are doing."""
    print(f"[bench {time.monotonic() - _STARTED:6.0f}s] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: process exited ({process.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s")


# --- /proc ----------------------------------------------------------------------------------------


def rss_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def find_process(*needles: str) -> int | None:
    """The pid of the process whose command line holds every needle (a dev server by its unique
    database file name)."""
    wanted = [n.encode() for n in needles]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if all(n in command for n in wanted):
            return int(entry)
    return None


def find_child(pid: int) -> int | None:
    """A child process of `pid`."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                return int(entry)
    return None


def load_average() -> float:
    return os.getloadavg()[0]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class CpuMeter:
    """CPU seconds spent by each named process per measured phase (a phase may be measured in
    several rounds; they add up): where the cores went."""

    def __init__(self, processes: dict[str, int | None]) -> None:
        self.processes = {name: pid for name, pid in processes.items() if pid is not None}
        self.totals: dict[str, dict[str, float]] = {}

    def _now(self) -> dict[str, float]:
        times = {}
        for name, pid in self.processes.items():
            try:
                times[name] = cpu_seconds(pid)
            except OSError:
                times[name] = float("nan")
        return times

    def phase(self, name: str, operations: int):
        meter = self

        class _Phase:
            def __enter__(self):
                self.before = meter._now()
                self.started = time.perf_counter()

            def __exit__(self, *exc):
                after = meter._now()
                total = meter.totals.setdefault(name, {"ops": 0, "wall_s": 0.0})
                total["ops"] += operations
                total["wall_s"] += time.perf_counter() - self.started
                for process in after:
                    total[process] = total.get(process, 0.0) + after[process] - self.before[process]

        return _Phase()

    @property
    def phases(self) -> dict[str, dict[str, float]]:
        """Per phase: wall time, operations and each process's CPU ms per operation."""
        out = {}
        for name, total in self.totals.items():
            ops = max(total["ops"], 1)
            out[name] = {
                "operations": total["ops"],
                "wall_s": round(total["wall_s"], 3),
                "per_s": round(total["ops"] / total["wall_s"], 1) if total["wall_s"] else None,
                **{
                    f"{process}_cpu_ms_per_op": round(value * 1000 / ops, 3)
                    for process, value in total.items()
                    if process not in ("ops", "wall_s")
                },
            }
        return out


# --- servers --------------------------------------------------------------------------------------


class Stack:
    """A fresh dev server plus, on demand, the sandbox, the engine database, the API and
    workers, all under one temporary folder; `close()` stops what was started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        self.sandbox_url: str | None = None
        self.api_url: str | None = None
        self.api_process: subprocess.Popen | None = None
        self.api_pid: int | None = None
        self._plans: PlanStore | None = None
        self.sandbox_process: subprocess.Popen | None = None
        # The engine's database: a SQLite file (the embedded default), or with BENCH_POSTGRES_URL
        # a fresh schema on that PostgreSQL server (the production path), dropped at close.
        self.postgres_base = os.environ.get(BENCH_POSTGRES_URL) or None
        self.postgres_schema: str | None = None
        if self.postgres_base is not None:
            self.postgres_schema, self.database_url = create_schema(self.postgres_base, "bench_")
        else:
            self.database_url = f"sqlite:///{folder}/engine.db"
        self.task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.webhook_secret = "bench-webhook-secret-" + uuid.uuid4().hex[:8]

    async def start_server(self, memory: bool = False) -> None:
        """A fresh dev server: its SQLite database in a file (as `journeys dev` runs it), or in
        memory (as the tests run it)."""
        self.db_file = None if memory else self.folder / f"temporal-{uuid.uuid4().hex[:8]}.db"
        extra = [] if memory else ["--db-filename", str(self.db_file)]
        self.env = await start_dev_server(dev_server_extra_args=extra)
        self.client = self.env.client
        self.address = self.client.service_client.config.target_host
        port = self.address.rpartition(":")[2]
        self.server_pid = find_process("start-dev", f"--port\0{port}\0")

    def server_db_bytes(self) -> int:
        """The dev server's SQLite database with its write-ahead log."""
        if self.db_file is None:
            return 0
        total = 0
        for suffix in ("", "-wal", "-shm"):
            path = Path(str(self.db_file) + suffix)
            if path.exists():
                total += path.stat().st_size
        return total

    # --- processes --------------------------------------------------------------------------

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.address,
            "TASK_QUEUE": self.task_queue,
            "TELLESCOPE_BASE_URL": self.sandbox_url or "",
            "TELLESCOPE_API_KEY": SANDBOX_KEY,
            "WEBHOOK_SECRET": self.webhook_secret,
            **extra,
        }

    def spawn(
        self, name: str, args: list[str], *, prefix: Sequence[str] = (), **extra_env: str
    ) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed with the folder)
        process = subprocess.Popen(
            [*prefix, sys.executable, *args],
            cwd=ROOT,
            env=self.environment(**extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.folder / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start_sandbox(self) -> str:
        port = free_port()
        self.sandbox_process = self.spawn(
            "sandbox",
            ["-m", "sandbox", "--port", str(port), "--db", str(self.folder / "sandbox.db")],
            SANDBOX_LOG_LEVEL="warning",
            SANDBOX_ENFORCE_CONSENT="false",
        )
        self.sandbox_url = f"http://127.0.0.1:{port}"
        wait_http(f"{self.sandbox_url}/sandbox/stats", self.sandbox_process)
        return self.sandbox_url

    def start_api(self, profile: Path | None = None) -> str:
        """`journeys api` as its own process; with `profile`, under py-spy, which writes a
        speedscope profile of the API's CPU time there when the stack closes."""
        port = free_port()
        prefix: list[str] = []
        if profile is not None:
            py_spy = Path(sys.executable).parent / "py-spy"
            prefix = [str(py_spy), "record", "-o", str(profile), "-f", "speedscope", "-r", "250"]
            prefix += ["--"]
        self.api_process = self.spawn(
            "api",
            ["-m", "cli", "api", "--port", str(port), "--log-level", "warning"],
            prefix=prefix,
        )
        self.api_url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{self.api_url}/health/live", self.api_process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{self.log_tail('api')}") from None
        self.api_pid = self.api_process.pid
        if profile is not None:  # the API is py-spy's child
            self.api_pid = find_child(self.api_process.pid) or self.api_pid
        return self.api_url

    def stop_process(self, process: subprocess.Popen, timeout: float = 15) -> None:
        if process.poll() is None:
            if process is self.api_process and self.api_pid != process.pid:
                os.kill(self.api_pid, signal.SIGTERM)  # py-spy writes its profile and exits
                try:
                    process.wait(timeout)
                    return
                except subprocess.TimeoutExpired:
                    pass
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    # --- engine side ------------------------------------------------------------------------

    def plans(self) -> PlanStore:
        if self._plans is None:
            engine = get_engine(self.database_url)
            upgrade_engine(engine)
            self._plans = PlanStore(engine)
        return self._plans

    def api_key(self) -> str:
        from store.api_keys import ApiKeys

        engine = get_engine(self.database_url)
        upgrade_engine(engine)
        return ApiKeys(engine).create("bench")[0]

    def sandbox_http(self) -> httpx.Client:
        assert self.sandbox_url is not None
        return httpx.Client(
            base_url=self.sandbox_url,
            headers={"Authorization": f"API_KEY {SANDBOX_KEY}"},
            timeout=120,
        )

    def deploy(self, text: str) -> tuple[str, Any]:
        """Compile a journey, give it a Tellescope journey record in the sandbox and make it the
        current version (what `journeys deploy` does); returns (journey id, plan)."""
        path = self.folder / f"journey-{uuid.uuid4().hex[:8]}.yaml"
        path.write_text(text, encoding="utf-8")
        plan = compile_paths([path]).plans[0]
        with self.sandbox_http() as http:
            record = http.post(
                "/v1/journey", json={"title": f"{plan.journey.title} {uuid.uuid4().hex[:6]}"}
            )
            record.raise_for_status()
        self.plans().save(plan, source=text, tellescope_journey_id=record.json()["id"])
        return plan.journeyId, plan

    def endusers(self, count: int, fields: Any = None) -> list[str]:
        """Create `count` endusers in the sandbox, 500 per bulk request; `fields(i)` gives the
        i-th one's custom fields."""
        ids: list[str] = []
        with self.sandbox_http() as http:
            for first in range(0, count, 500):
                records = []
                for i in range(first, min(count, first + 500)):
                    record: dict[str, Any] = {"fname": "Bench", "lname": str(i)}
                    if fields is not None:
                        record["fields"] = fields(i)
                    records.append(record)
                created = http.post("/v1/endusers", json={"create": records})
                created.raise_for_status()
                ids += [r["id"] for r in created.json()["created"]]
        return ids

    async def close(self) -> None:
        for process in reversed(self.processes):
            self.stop_process(process)
        if getattr(self, "env", None) is not None:
            await self.env.shutdown()
        if self.postgres_base is not None and self.postgres_schema is not None:
            drop_schema(self.postgres_base, self.postgres_schema)


@asynccontextmanager
async def stack(
    folder: Path,
    *,
    sandbox: bool = True,
    api: bool = False,
    profile_api: Path | None = None,
    memory: bool = False,
):
    """A fresh dev server (and the sandbox, and the API) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    s = Stack(folder)
    try:
        await s.start_server(memory)
        if sandbox:
            s.start_sandbox()
        if api:
            s.start_api(profile_api)
        yield s
    finally:
        await s.close()


async def gather_bounded(limit: int, calls: Sequence[Any]) -> list[Any]:
    """Await the coroutine factories in `calls`, at most `limit` at once, results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def one(call):
        async with semaphore:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))
