"""Workers for the benchmarks: the engine's (built as worker.py builds it) and bare Temporal's,
in this process (with a recorder of activity start times) or as their own process.

    python -m bench.workers --address HOST:PORT --task-queue Q --sandbox URL --done FILE

runs the bare worker alone (the parked benchmark reads its RSS); the engine's own process is
`python -m worker`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

from bench.bare_workflows import (
    BareDatedTimerWorkflow,
    BareInput,
    BareParkedWorkflow,
    BareStepWorkflow,
    BareTimerWorkflow,
)

SANDBOX_KEY = "sandbox-dev-key"
BARE_WORKFLOWS = [
    BareStepWorkflow,
    BareTimerWorkflow,
    BareDatedTimerWorkflow,
    BareParkedWorkflow,
]
BARE_DUE_FIELD = "benchDue"  # the enduser field BareDatedTimerWorkflow sleeps until
BARE_CACHE = 1000  # the bare worker's workflow cache: the SDK's default, stated for the figures


class BareTellescope:
    """Bare Temporal's activity: the same Tellescope call as one journey step (add a tag)."""

    def __init__(self, base_url: str, done: Path | None = None) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"API_KEY {SANDBOX_KEY}"}, timeout=30
        )
        self.done = done
        self.count = 0

    @activity.defn(name="bare_add_tag")
    async def add_tag(self, inp: BareInput) -> None:
        response = await self.http.patch(
            f"/v1/enduser/{inp.enduser_id}", json={"updates": {"tags": [inp.tag]}}
        )
        response.raise_for_status()
        self.count += 1

    @activity.defn(name="bare_read_due")
    async def read_due(self, inp: BareInput) -> int:
        """The date in the enduser's BARE_DUE_FIELD, in epoch ms (as the engine reads a
        date-relative delay's anchor)."""
        response = await self.http.get(f"/v1/enduser/{inp.enduser_id}")
        response.raise_for_status()
        due = datetime.fromisoformat(response.json()["fields"][BARE_DUE_FIELD])
        return int(due.timestamp() * 1000)

    def activities(self) -> list[Any]:
        return [self.add_tag, self.read_due]


@dataclass
class Started:
    workflow_id: str
    activity_type: str
    started: float  # epoch seconds, when the worker began running it
    scheduled: float  # epoch seconds, when the server scheduled it
    arg: Any


class StartRecorder(Interceptor):
    """Records when each activity starts running in this worker (timer lateness)."""

    def __init__(self) -> None:
        self.started: list[Started] = []

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        recorder = self

        class _Record(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                now = time.time()
                info = activity.info()
                recorder.started.append(
                    Started(
                        info.workflow_id,
                        info.activity_type,
                        now,
                        info.scheduled_time.timestamp(),
                        input.args[0] if input.args else None,
                    )
                )
                return await super().execute_activity(input)

        return _Record(next)


def engine_worker(
    client: Client,
    *,
    task_queue: str,
    database_url: str,
    sandbox_url: str,
    interceptors: list[Interceptor] | None = None,
    bare: BareTellescope | None = None,
) -> tuple[Worker, Any]:
    """The engine's worker as worker.py builds it (same workflows, activities, executor and
    cache), plus the bare workflows and activity when `bare` is given. Returns the worker and a
    close() coroutine function for what it holds."""
    from activities.engine import engine_activities
    from activities.join_first import JoinFirst
    from activities.tellescope_activities import TellescopeActivities
    from settings import EngineSettings, TellescopeSettings
    from store.db import upgrade_database
    from store.ledger import Ledger
    from store.plans import PlanStore
    from tellescope.client import TellescopeClient
    from triggers.actions import TriggerActivities
    from triggers.dispatch import TriggerDeps
    from worker import WORKFLOWS, cache_workflow_bytecode, workflow_runner

    cache_workflow_bytecode()  # as worker.py does
    engine = upgrade_database(database_url)
    plans, ledger = PlanStore(engine), Ledger(engine)
    tellescope = TellescopeClient.from_settings(
        TellescopeSettings(base_url=sandbox_url, api_key=SANDBOX_KEY)
    )
    executor = ThreadPoolExecutor(max_workers=32)
    tellescope_activities = TellescopeActivities(tellescope)
    activities: list[Any] = [
        *tellescope_activities.all(),
        *engine_activities(
            client, plans, ledger, task_queue, join_journey=tellescope_activities.set_journey_state
        ),
        *TriggerActivities(TriggerDeps(client, plans, ledger, task_queue, tellescope)).all(),
    ]
    workflows: list[type] = list(WORKFLOWS)
    if bare is not None:
        activities += bare.activities()
        workflows += BARE_WORKFLOWS
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=activities,
        activity_executor=executor,
        workflow_runner=workflow_runner(),
        max_cached_workflows=EngineSettings().max_cached_workflows,
        interceptors=[
            JoinFirst(ledger, tellescope_activities.write_membership),  # docs/decisions.md D41
            *(interceptors or []),
        ],
    )

    async def close() -> None:
        executor.shutdown(wait=False)
        await tellescope.aclose()
        if bare is not None:
            await bare.http.aclose()

    return worker, close


async def _serve_bare(address: str, task_queue: str, sandbox: str, done: Path) -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    bare = BareTellescope(sandbox)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=BARE_WORKFLOWS,
        activities=bare.activities(),
        max_cached_workflows=BARE_CACHE,
    )
    async with worker:
        while not stop.is_set():
            done.write_text(str(bare.count))
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
    await bare.http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description="the bare Temporal worker of the benchmarks")
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--done", type=Path, required=True, help="activities done, written here")
    args = parser.parse_args()
    asyncio.run(_serve_bare(args.address, args.task_queue, args.sandbox, args.done))


if __name__ == "__main__":
    main()
