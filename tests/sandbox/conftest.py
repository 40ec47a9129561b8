"""Fixtures: a real sandbox server (uvicorn in a background thread, SQLite in a temp folder),
HTTP clients for the API and the /sandbox helpers, a webhook receiver written independently of
the sandbox, and factories for endusers."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings

DEV_KEY = "sandbox-dev-key"
WEBHOOK_SECRET = "a-test-secret-longer-than-15-chars"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    db = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    settings = SandboxSettings(port=free_port(), db=db, webhook_timeout_seconds=2.0)
    with SandboxServer(settings) as running:
        yield running


@pytest.fixture(scope="session")
def api(server: SandboxServer) -> Iterator[httpx.Client]:
    """Talks to /v1 exactly as the engine's client does: base URL + `Authorization: API_KEY`."""
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"API_KEY {DEV_KEY}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture(scope="session")
def helpers(server: SandboxServer) -> Iterator[httpx.Client]:
    """The /sandbox helpers need no key."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def _unique_email() -> str:
    return f"patient-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def unique_email():
    return _unique_email


@pytest.fixture
def make_enduser(api: httpx.Client):
    def make(**fields: Any) -> dict[str, Any]:
        body = {"fname": "Pat", "lname": "Lopez", "email": _unique_email(), "phone": "+15555550123"}
        body.update(fields)
        response = api.post("/v1/enduser", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    return make


@pytest.fixture
def enduser(make_enduser) -> dict[str, Any]:
    return make_enduser()


class Receiver:
    """A tiny HTTP server standing in for the engine's webhook endpoint."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.secret = WEBHOOK_SECRET
        self._event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                with receiver._event:
                    receiver.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": json.loads(raw) if raw else None,
                        }
                    )
                    receiver._event.notify_all()
                self.send_response(receiver.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/hooks"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def wait_for(self, predicate, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Bodies received so far, once some body satisfies `predicate`."""
        with self._event:
            ok = self._event.wait_for(
                lambda: any(predicate(r["body"]) for r in self.requests), timeout
            )
        assert ok, f"no matching webhook; received {[r['body'] for r in self.requests]}"
        return [r["body"] for r in self.requests]

    def bodies(self) -> list[dict[str, Any]]:
        with self._event:
            return [r["body"] for r in self.requests]

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def receiver(api: httpx.Client, helpers: httpx.Client) -> Iterator[Receiver]:
    """A receiver configured as the organisation's webhook URL (default subscriptions); the
    configuration is removed afterwards so other tests see no webhooks."""
    receiver = Receiver()
    response = api.post(
        "/v1/configure-webhooks", json={"url": receiver.url, "secret": WEBHOOK_SECRET}
    )
    assert response.status_code == 200, response.text
    yield receiver
    helpers.post("/sandbox/webhooks/flush")
    for config in api.get("/v1/webhooks").json():
        api.delete(f"/v1/webhook/{config['id']}")
    receiver.close()


@pytest.fixture
def flush(helpers: httpx.Client):
    """Wait until the sandbox has attempted every queued record webhook."""

    def wait() -> None:
        assert helpers.post("/sandbox/webhooks/flush").status_code == 200

    return wait


@pytest.fixture
def faults(helpers: httpx.Client) -> Iterator[httpx.Client]:
    """The helpers client, with fault injection cleared after the test whatever happens."""
    yield helpers
    helpers.delete("/sandbox/faults")


@pytest.fixture
def tmp_db(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.db"


@pytest.fixture
def unused_port() -> int:
    return free_port()
