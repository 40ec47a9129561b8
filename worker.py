"""The Temporal worker: JourneyWorkflow plus every activity, on the configured task queue.

    python worker.py            (or `journeys worker`)

Settings come from the environment (config.EngineSettings, activities.settings for Tellescope).
Prometheus metrics are served on METRICS_PORT when set. SIGINT/SIGTERM stop polling, let running
activities finish for GRACEFUL_SHUTDOWN_SECONDS, and exit.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import py_compile
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.engine import engine_activities
from activities.tellescope_activities import TellescopeActivities
from activities.tellescope_client import TellescopeClient
from config import EngineSettings, get_settings
from store.db import upgrade_database
from store.ledger import Ledger
from store.plans import PlanStore
from triggers.actions import TriggerActivities
from triggers.dispatch import TriggerDeps
from worker_health import serve_health
from workflows.journey import JourneyWorkflow
from workflows.triggers_registry import TRIGGER_WORKFLOWS

log = logging.getLogger("journeys.worker")


# Modules the workflow sandbox imports afresh for every workflow instance it creates.
WORKFLOW_MODULES = ("workflows.journey", "triggers.workflows")


def cache_workflow_bytecode(modules: tuple[str, ...] = WORKFLOW_MODULES) -> list[str]:
    """Write the bytecode of the workflow modules when Python was told not to.

    The workflow sandbox re-imports a workflow's module for every workflow instance it creates
    (a new enrollment, or one evicted from the worker's cache). Without a bytecode cache
    (PYTHONDONTWRITEBYTECODE, which docker/Dockerfile and many CI images set) every one of those
    imports compiled workflows/journey.py from source: a third of the worker's CPU while
    enrollments were starting (BENCHMARKS.md, "Profiles and fixes"). Python still reads bytecode
    under PYTHONDONTWRITEBYTECODE, so writing it once here is enough. Returns what was written;
    a read-only source tree is logged and left as it is."""
    if not sys.dont_write_bytecode:
        return []  # Python caches the bytecode itself
    written = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        source = spec.origin if spec is not None else None
        if not source or not source.endswith(".py"):
            continue
        try:
            cached = py_compile.compile(
                source,
                cfile=importlib.util.cache_from_source(source),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
            )
        except (OSError, py_compile.PyCompileError) as error:
            log.warning("cannot cache the bytecode of %s: %s", name, error)
            continue
        written.append(cached)
    return written


async def connect(settings: EngineSettings, *, metrics: bool = False) -> Client:
    """A client with the pydantic data converter (every client of the engine must use it)."""
    runtime = None
    if metrics and settings.metrics_port:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=f"0.0.0.0:{settings.metrics_port}"),
                global_tags={"service": "journey-worker"},
            )
        )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


async def run_worker(settings: EngineSettings, stop: asyncio.Event) -> None:
    engine = upgrade_database(settings.database_url)  # migrations (store/migrations)
    cache_workflow_bytecode()
    plans, ledger = PlanStore(engine), Ledger(engine)
    client = await connect(settings, metrics=True)
    tellescope = TellescopeClient.from_settings()
    trigger_activities = TriggerActivities(
        TriggerDeps(client, plans, ledger, settings.task_queue, tellescope)
    )
    try:
        with ThreadPoolExecutor(max_workers=32) as executor:  # the store's sync activities
            worker = Worker(
                client,
                task_queue=settings.task_queue,
                workflows=[JourneyWorkflow, *TRIGGER_WORKFLOWS],
                activities=[
                    *TellescopeActivities(tellescope).all(),
                    *engine_activities(client, plans, ledger, settings.task_queue),
                    *trigger_activities.all(),
                ],
                activity_executor=executor,
                max_cached_workflows=settings.max_cached_workflows,
                graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
            )
            log.info(
                "worker polling %s on %s (namespace %s)",
                settings.task_queue,
                settings.temporal_address,
                settings.temporal_namespace,
            )
            async with worker, serve_health(worker):  # WORKER_HEALTH_PORT: GET /health
                await stop.wait()
                log.info("stopping: finishing running activities")
    finally:
        await tellescope.aclose()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("httpx", "alembic"):  # one line per request / migration step: too much
        logging.getLogger(chatty).setLevel(logging.WARNING)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(get_settings(), stop)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
