"""What the app holds for its lifetime (on `app.state.journeys`): settings, the engine store,
one Temporal client (pydantic data converter), one TellescopeClient."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.metrics import ApiMetrics
from services.errors import Unavailable
from services.page_sessions import PageSigner
from settings import ApiSettings, EngineSettings
from store.api_keys import ApiKeys
from store.idempotency_keys import IdempotencyKeys
from store.ledger import Ledger
from store.migration_audit import MigrationAudit
from store.plans import PlanStore
from store.trigger_decisions import TriggerDecisions
from store.webhooks import ProcessedWebhooks
from tellescope.client import TellescopeClient
from temporal_connection import TemporalConnectionError, connect_temporal
from triggers.dispatch import TriggerDeps
from triggers.readback import FirstSightings

log = logging.getLogger("journeys.api")


@dataclass
class EngineStore:
    """The store's repositories over one engine."""

    engine: Engine
    plans: PlanStore
    ledger: Ledger
    api_keys: ApiKeys
    webhooks: ProcessedWebhooks
    idempotency_keys: IdempotencyKeys
    decisions: TriggerDecisions
    migration_audit: MigrationAudit

    @classmethod
    def for_engine(cls, engine: Engine, settings: EngineSettings | None = None) -> EngineStore:
        return cls(
            engine,
            PlanStore(engine),
            Ledger(engine),
            ApiKeys(engine),
            ProcessedWebhooks(engine),
            IdempotencyKeys(engine),
            TriggerDecisions.from_settings(engine, settings or EngineSettings()),
            MigrationAudit(engine),
        )


class TemporalUnavailable(Unavailable):
    """Temporal cannot be reached (503)."""


@dataclass
class AppState:
    settings: ApiSettings
    engine_settings: EngineSettings
    store: EngineStore
    tellescope: TellescopeClient
    temporal: Client | None = None
    metrics: ApiMetrics | None = None  # the app's /metrics (docs/metrics.md §3)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Webhook deliveries verified here: only a first copy reads ahead (api/routes/webhooks.py).
    deliveries_seen: FirstSightings = field(default_factory=FirstSightings)
    page_signer: PageSigner = field(init=False)

    def __post_init__(self) -> None:
        configured = self.settings.page_session_secret
        secret = configured.encode() if configured else secrets.token_bytes(32)
        self.page_signer = PageSigner(secret)

    @property
    def task_queue(self) -> str:
        return self.engine_settings.task_queue

    def trigger_deps(self, temporal: Client) -> TriggerDeps:
        """What the trigger engine needs from the API (events, webhooks, admin firings)."""
        return TriggerDeps(
            client=temporal,
            plans=self.store.plans,
            ledger=self.store.ledger,
            task_queue=self.task_queue,
            tellescope=self.tellescope,
            on_evaluation=self.metrics.evaluation if self.metrics is not None else None,
            decisions=self.store.decisions,
        )

    async def temporal_client(self) -> Client:
        """The one client; connected at start, or on first use if Temporal was down then."""
        if self.temporal is not None:
            return self.temporal
        async with self._lock:
            if self.temporal is None:
                try:
                    self.temporal = await connect_temporal(self.engine_settings, timeout=10.0)
                except TemporalConnectionError as error:  # one line: address, TLS, why
                    raise TemporalUnavailable(str(error)) from error
        return self.temporal
