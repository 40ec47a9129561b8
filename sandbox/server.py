"""Run the sandbox under uvicorn, in the foreground (`python -m sandbox`) or in a background
thread (tests, `journeys dev`)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from sandbox.app import create_app, with_fault_injection
from sandbox.runtime import build_sandbox
from sandbox.seed import ADMIN_USER_ID, BUSINESS_ID
from sandbox.settings import SandboxSettings


def banner(settings: SandboxSettings, keys: list[str]) -> str:
    lines = [
        f"Tellescope sandbox on {settings.base_url} (database {settings.db})",
        f"  API base URL: {settings.base_url}/v1   header: Authorization: API_KEY <key>",
        *(f"  API key: {key}" for key in keys),
        f"  organization (businessId) {BUSINESS_ID}; keys act as user {ADMIN_USER_ID}",
        f"  outbox: {settings.base_url}/sandbox/outbox   stats: {settings.base_url}/sandbox/stats",
    ]
    return "\n".join(lines)


class SandboxServer:
    """A sandbox serving in a background thread until `stop()` (or the end of a `with` block)."""

    def __init__(self, settings: SandboxSettings, *, reset: bool = False) -> None:
        self.settings = settings
        self.sandbox = build_sandbox(settings, reset=reset)
        self.app = create_app(sandbox=self.sandbox)
        config = uvicorn.Config(
            with_fault_injection(self.app),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def api_key(self) -> str:
        return self.settings.dev_api_key

    def start(self, timeout: float = 10.0) -> SandboxServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(settings: SandboxSettings, *, reset: bool = False) -> None:
    sandbox = build_sandbox(settings, reset=reset)
    print(banner(settings, sandbox.printable_keys), flush=True)
    app = create_app(sandbox=sandbox)
    uvicorn.run(
        with_fault_injection(app),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
    )
