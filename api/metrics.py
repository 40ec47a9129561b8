"""The API process's Prometheus metrics (docs/metrics.md §3), served on GET /metrics.

Counted here: webhook deliveries by outcome, trigger firings and skips of the events the API
dispatches (webhooks, POST /v1/events). Computed when scraped: the enrollments waiting per
journey and step (active AutomatedActions in the ledger) and those overdue (active past their
processAfter). Labels are journey, step and trigger ids, outcomes and reasons: never an enduser
id.

Each app has its own registry (tests build several apps in one process).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from store.ledger import Ledger
from triggers.models import Evaluation

log = logging.getLogger("journeys.api.metrics")
disable_created_metrics()  # no `_created` series beside each counter: only what docs list

WEBHOOK_OUTCOMES = ("processed", "duplicate", "in_progress", "conflict", "rejected", "error")
OVERDUE_GRACE_SECONDS = 60  # an action this long past its processAfter and still active is late


class LedgerCollector(Collector):
    """The waiting and overdue gauges, read from the ledger at each scrape."""

    def __init__(self, ledger: Ledger | None = None) -> None:
        self.ledger = ledger

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # computed at scrape time only (no read when registered)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting = GaugeMetricFamily(
            "journeys_actions_waiting",
            "Active AutomatedActions (enrollments waiting at the step)",
            labels=["journey", "step"],
        )
        overdue = GaugeMetricFamily(
            "journeys_actions_overdue",
            f"Active AutomatedActions more than {OVERDUE_GRACE_SECONDS} s past their due time",
            labels=["journey", "step"],
        )
        oldest = GaugeMetricFamily(
            "journeys_actions_overdue_max_seconds",
            "How long the most overdue active action of the step is past its due time",
            labels=["journey", "step"],
        )
        if self.ledger is not None:
            now_ms = int(time.time() * 1000)
            try:
                rows = self.ledger.waiting_by_step(now_ms - OVERDUE_GRACE_SECONDS * 1000)
            except Exception:  # a scrape never fails for the database: the gauges go missing
                log.exception("ledger gauges unavailable")
                rows = []
            for journey, step, active, late, earliest in rows:
                waiting.add_metric([journey, step], active)
                overdue.add_metric([journey, step], late)
                behind = (now_ms - earliest) / 1000 if earliest is not None else 0.0
                oldest.add_metric([journey, step], behind)
        yield from (waiting, overdue, oldest)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.webhook_deliveries = Counter(
            "journeys_webhook_deliveries",
            "Tellescope webhook deliveries by outcome",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in WEBHOOK_OUTCOMES:
            self.webhook_deliveries.labels(outcome=outcome)  # exported at 0 from the start
        self.trigger_firings = Counter(
            "journeys_trigger_firings",
            "Trigger evaluations that fired (events of webhook deliveries)",
            ["trigger"],
            registry=self.registry,
        )
        self.trigger_skips = Counter(
            "journeys_trigger_skips",
            "Trigger evaluations that did not fire, by the stage that stopped them",
            ["trigger", "reason"],
            registry=self.registry,
        )
        self.ledger = LedgerCollector()
        self.registry.register(self.ledger)
        # The labelled counters by label values: `labels()` resolves them afresh each time, and
        # an event against 1,000 triggers asked 1,000 times (a tenth of its dispatch).
        self._firings: dict[str, Any] = {}
        self._skips: dict[tuple[str, str], Any] = {}

    def webhook(self, outcome: str) -> None:
        self.webhook_deliveries.labels(outcome=outcome).inc()

    def evaluation(self, evaluation: Evaluation) -> None:
        """TriggerDeps.on_evaluation of the API's trigger engine (webhooks, POST /v1/events)."""
        firings, skips = self._firings, self._skips
        for decision in evaluation.decisions:
            trigger = decision.triggerId
            if decision.fire:
                counter = firings.get(trigger)
                if counter is None:
                    counter = firings[trigger] = self.trigger_firings.labels(trigger=trigger)
            else:
                key = (trigger, decision.stage or "unknown")
                counter = skips.get(key)
                if counter is None:
                    counter = skips[key] = self.trigger_skips.labels(trigger=key[0], reason=key[1])
            counter.inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_of(request: Request) -> ApiMetrics | None:
    return getattr(request.app.state, "metrics", None)


router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus exposition (no API key: no patient data in it, docs/metrics.md §3)."""
    found = metrics_of(request)
    body = await run_in_threadpool(found.exposition) if found is not None else b""
    return Response(body, media_type=CONTENT_TYPE_LATEST)
