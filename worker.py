"""The Temporal worker: JourneyWorkflow plus every activity, on the configured task queue.

    python worker.py            (or `journeys worker`)

Settings come from the environment (`settings`: EngineSettings, TellescopeSettings).
Prometheus metrics are served on METRICS_HOST:METRICS_PORT when the port is set (host 127.0.0.1
unless configured). SIGINT/SIGTERM stop polling, let running
activities finish for GRACEFUL_SHUTDOWN_SECONDS, and exit.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import py_compile
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.action_handlers import ActionHandlers, HandlerConfigError, load_handlers
from activities.engine import engine_activities
from activities.join_first import JoinFirst
from activities.tellescope_activities import TellescopeActivities
from services.gc_freeze import freeze_startup_heap
from settings import EngineSettings, load_settings
from store.db import upgrade_database
from store.ledger import Ledger
from store.message_log import MessageLog
from store.plans import PlanStore
from store.trigger_decisions import TriggerDecisions
from tellescope.client import TellescopeClient
from temporal_connection import (
    TemporalConnectionError,
    connect_temporal,
    temporal_address,
    temporal_namespace,
)
from triggers.actions import TriggerActivities
from triggers.active import warm_trigger_caches
from triggers.dispatch import TriggerDeps
from triggers.metrics import count_trigger_decisions
from triggers.workflows import ThrottleGateWorkflow, TimeTriggerScanWorkflow, TriggerFiringWorkflow
from worker_health import serve_health
from workflows.adhoc import AdHocActionWorkflow
from workflows.journey import JourneyWorkflow
from workflows.metrics import LATENESS_BUCKETS, LATENESS_HISTOGRAM

log = logging.getLogger("journeys.worker")


# Every workflow the worker runs, assembled here (and only here) so that workflows/ never imports
# triggers/: one per enrollment, then the trigger firings, throttle gates and time-based scans,
# and AutomatedActions created through the API. Tests, simulations and benchmarks register this
# same list.
WORKFLOWS: list[type] = [
    JourneyWorkflow,
    TriggerFiringWorkflow,
    ThrottleGateWorkflow,
    TimeTriggerScanWorkflow,
    AdHocActionWorkflow,
]

# The modules of WORKFLOWS. The worker's sandbox, when on, passes them through (workflow_runner);
# the strict sandbox of the tests imports them afresh for every workflow instance it creates.
WORKFLOW_MODULES = ("workflows.journey", "triggers.workflows", "workflows.adhoc")


def workflow_runner(settings: EngineSettings | None = None) -> WorkflowRunner:
    """The runner of every workflow of the worker (and of the benchmarks' replayers): workflow
    code runs unsandboxed (docs/decisions.md D40), or, with WORKFLOW_SANDBOX set, in the
    sandbox with the workflow modules passed through (`sandboxed_workflow_runner`)."""
    if settings is None:
        settings = load_settings(EngineSettings)
    if settings.workflow_sandbox:
        return sandboxed_workflow_runner()
    return UnsandboxedWorkflowRunner()


def sandboxed_workflow_runner() -> SandboxedWorkflowRunner:
    """Temporal's sandbox with the workflow modules passed through, imported once with the
    worker.

    The default sandbox re-imports a workflow's module for every workflow instance it creates, so
    each cached JourneyWorkflow held its own copy of workflows/journey.py (0.19 MiB, against
    0.01 MiB passed through) and each cache miss spent 10 ms importing it before replaying. These
    modules keep no state at module level, their logic already runs passed through (models/,
    rules/, workflows/projection.py), and the tests run them in the strict sandbox, which still
    rejects a restricted call (`datetime.now()`, `random`, I/O) on every path they take
    (docs/decisions.md D33)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*WORKFLOW_MODULES)
    )


def cache_workflow_bytecode(modules: tuple[str, ...] = WORKFLOW_MODULES) -> list[str]:
    """Write the bytecode of the workflow modules when Python was told not to.

    A sandbox that re-imports a workflow's module for every workflow instance (the strict one the
    tests and replays use; the worker's before D33) compiled workflows/journey.py from source
    each time without a bytecode cache (PYTHONDONTWRITEBYTECODE, which docker/Dockerfile and many
    CI images set): a third of the worker's CPU while enrollments were starting (BENCHMARKS.md,
    "Profiles and fixes"). Python still reads bytecode under PYTHONDONTWRITEBYTECODE, so writing
    it once here is enough. Returns what was written; a read-only source tree is logged and left
    as it is."""
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


def metrics_bind_address(settings: EngineSettings) -> str:
    host = settings.metrics_host
    return f"[{host}]:{settings.metrics_port}" if ":" in host else f"{host}:{settings.metrics_port}"


async def connect(settings: EngineSettings, *, metrics: bool = False) -> Client:
    """The worker's client (temporal_connection.connect_temporal), with a runtime serving
    Prometheus metrics when `metrics` and METRICS_PORT are set."""
    runtime = None
    if metrics and settings.metrics_port:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(
                    bind_address=metrics_bind_address(settings),
                    # the business metrics' histogram (docs/metrics.md §2), in seconds
                    histogram_bucket_overrides={
                        LATENESS_HISTOGRAM: list(LATENESS_BUCKETS),
                    },
                ),
                global_tags={"service": "journey-worker"},
            )
        )
    return await connect_temporal(settings, runtime=runtime)


def action_handlers(settings: EngineSettings) -> ActionHandlers:
    """The AI and telephony handlers (docs/handlers.md), imported before anything connects: a
    bad reference stops the worker with one line (HandlerConfigError)."""
    handlers = load_handlers(settings.action_handlers)
    for action_type, where in sorted(handlers.sources.items()):
        log.info("action handler for %s from %s", action_type, where)
    return handlers


async def run_worker(settings: EngineSettings, stop: asyncio.Event) -> None:
    handlers = action_handlers(settings)
    engine = upgrade_database(settings.database_url)  # migrations (store/migrations)
    cache_workflow_bytecode()
    plans, ledger = PlanStore(engine), Ledger(engine)
    client = await connect(settings, metrics=True)
    tellescope = TellescopeClient.from_settings()
    trigger_activities = TriggerActivities(
        TriggerDeps(
            client,
            plans,
            ledger,
            settings.task_queue,
            tellescope,
            on_evaluation=count_trigger_decisions,  # docs/metrics.md §3
            decisions=TriggerDecisions.from_settings(engine, settings),  # docs/operator-view.md §2
        )
    )
    tellescope_activities = TellescopeActivities(
        tellescope, message_log=MessageLog(engine), handlers=handlers
    )
    try:
        with ThreadPoolExecutor(max_workers=32) as executor:  # the store's sync activities
            worker = Worker(
                client,
                task_queue=settings.task_queue,
                workflows=WORKFLOWS,
                activities=[
                    *tellescope_activities.all(),
                    *engine_activities(
                        client,
                        plans,
                        ledger,
                        settings.task_queue,
                        join_journey=tellescope_activities.set_journey_state,
                    ),
                    *trigger_activities.all(),
                ],
                activity_executor=executor,
                # the first step's activity carries the journey's join (docs/decisions.md D41)
                interceptors=[JoinFirst(ledger, tellescope_activities.write_membership)],
                workflow_runner=workflow_runner(settings),
                max_cached_workflows=settings.max_cached_workflows,
                graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_seconds),
            )
            warm_trigger_caches(plans)  # the time-based scans evaluate triggers
            freeze_startup_heap()  # services.gc_freeze: no full collections over start-up
            log.info(
                "worker polling %s on %s (namespace %s)",
                settings.task_queue,
                temporal_address(settings),
                temporal_namespace(settings),
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

    settings = load_settings(EngineSettings)  # a wrong setting: one line naming it, exit 1

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    try:
        asyncio.run(serve())
    except HandlerConfigError as error:  # one line naming the setting and the reference
        print(f"error: action handler: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    except TemporalConnectionError as error:  # one line, not a traceback (temporal_connection)
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Not sys.exit: interpreter finalisation can race the SDK runtime's threads after a
        # failed connection ("PyGILState_Release ... finalizing", an abort instead of exit 1).
        os._exit(1)


if __name__ == "__main__":
    main()
