"""Everything one running sandbox holds, built from settings: storage, record service, webhook
dispatcher, fault injector, echo log and API keys. Routes reach it as `request.app.state.sandbox`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from sandbox.auth import ApiKeys
from sandbox.behaviour import all_behaviours
from sandbox.db import Store
from sandbox.echo import EchoLog
from sandbox.faults import FaultInjector
from sandbox.records import RecordService
from sandbox.seed import ADMIN, seed
from sandbox.settings import SandboxSettings
from sandbox.webhooks import WebhookDispatcher


@dataclass
class Sandbox:
    settings: SandboxSettings
    store: Store
    records: RecordService
    webhooks: WebhookDispatcher
    faults: FaultInjector
    echo: EchoLog
    api_keys: ApiKeys
    printable_keys: list[str]

    def close(self) -> None:
        self.store.close()


def build_sandbox(settings: SandboxSettings, *, reset: bool = False) -> Sandbox:
    if reset:
        _remove_database(settings.db)
    store = Store(settings.db)
    keys = seed(store, settings)
    dispatcher = WebhookDispatcher(store, settings)
    records = RecordService(store, settings, all_behaviours(), dispatcher.record_event)
    return Sandbox(
        settings=settings,
        store=store,
        records=records,
        webhooks=dispatcher,
        faults=FaultInjector(),
        echo=EchoLog(),
        api_keys=ApiKeys(store, settings, ADMIN),
        printable_keys=[k for k in keys if k],
    )


def _remove_database(path: Path) -> None:
    if str(path) == ":memory:":
        return
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            candidate.unlink()


def sandbox_of(request: Request) -> Sandbox:
    return request.app.state.sandbox
