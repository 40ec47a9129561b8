"""Worker liveness for orchestrators (docker compose healthcheck, Kubernetes probes).

When WORKER_HEALTH_PORT is set, the worker answers `GET /health` on that port: 200 while its
Temporal worker is running, 503 once it has stopped or is shutting down. The answer comes from
the worker's own event loop, so a loop blocked by a stuck activity or workflow fails the check
too. The check itself:

    python -m worker_health            # exit 0 when healthy, 1 otherwise (port from the env)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Protocol

HEALTH_PORT_ENV = "WORKER_HEALTH_PORT"
log = logging.getLogger("journeys.worker.health")


class _Runs(Protocol):
    @property
    def is_running(self) -> bool: ...

    @property
    def is_shutdown(self) -> bool: ...


def health_port() -> int | None:
    value = os.environ.get(HEALTH_PORT_ENV, "").strip()
    return int(value) if value else None


def status(worker: _Runs) -> tuple[int, dict[str, str]]:
    if worker.is_running and not worker.is_shutdown:
        return 200, {"status": "ok"}
    return 503, {"status": "stopping" if worker.is_shutdown else "not running"}


@contextlib.asynccontextmanager
async def serve_health(
    worker: _Runs, port: int | None = None, host: str = "0.0.0.0"
) -> AsyncIterator[int | None]:
    """Serve /health for `worker` while the block runs; yields the bound port (None: off)."""
    port = health_port() if port is None else port
    if port is None:
        yield None
        return

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b""):
                pass  # headers
            path = request.split(b" ")[1] if request.count(b" ") >= 2 else b""
            code, body = status(worker) if path == b"/health" else (404, {"status": "not found"})
            payload = json.dumps(body).encode()
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[code]
            writer.write(
                f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    bound = server.sockets[0].getsockname()[1]
    log.info("worker health on http://%s:%s/health", host, bound)
    try:
        yield bound
    finally:
        server.close()
        await server.wait_closed()


def check(port: int | None = None, timeout: float = 3.0) -> bool:
    """True when the worker on `port` (default WORKER_HEALTH_PORT) answers 200."""
    port = health_port() if port is None else port
    if port is None:
        return False
    try:
        url = f"http://127.0.0.1:{port}/health"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    port = int(args[0]) if args else None
    if port is None and health_port() is None:
        print(f"worker_health: set {HEALTH_PORT_ENV} or pass the port", file=sys.stderr)
        return 2
    return 0 if check(port) else 1


if __name__ == "__main__":
    raise SystemExit(main())
