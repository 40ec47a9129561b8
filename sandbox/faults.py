"""Fault injection, so the engine's reliability and idempotency can be tested against failures
that real networks and real Tellescope produce.

Kinds:
  error500        answer 500 without touching anything
  timeout         hold the request for `timeoutSeconds`, then drop it unprocessed
  drop            close the connection without an answer, unprocessed
  accept_then_500 process the request (the record is committed) and answer 500: "Tellescope
                  accepted, the client never saw the answer"
  accept_then_drop process the request, then close the connection without an answer
  accept_then_hang process the request, then hold the answer for `timeoutSeconds` and drop it:
                  the caller times out (or dies) after Tellescope did the work
  slow            hold the request for `timeoutSeconds`, then process and answer it normally:
                  a slow Tellescope (keeps a call in flight, e.g. across a worker's shutdown)

The injector wraps the whole ASGI app (outside FastAPI's middleware), which lets it close the
client's connection for real.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import SERVER_ERROR, TellescopeError, error_body, invalid_field

HANDLER_PATH = "/sandbox/handler-actions"  # sandbox/routers/handlers.py

# What goes wrong (each fails the call in its own way), and every kind (`slow` only delays).
FAILURES = (
    "error500",
    "timeout",
    "drop",
    "accept_then_500",
    "accept_then_drop",
    "accept_then_hang",
)
KINDS = (*FAILURES, "slow")


@dataclass
class FaultPlan:
    rate: float = 1.0
    kinds: tuple[str, ...] = ("error500",)
    paths: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    seed: int | None = None
    count: int | None = None
    timeout_seconds: float = 30.0

    @classmethod
    def parse(cls, body: dict[str, Any], default_timeout: float) -> FaultPlan:
        rate = body.get("rate", 1.0)
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise invalid_field("rate", "Expecting a number between 0 and 1")
        kinds = tuple(body.get("kinds") or ("error500",))
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise invalid_field("kinds", f"Unknown kinds {unknown}; expected some of {list(KINDS)}")
        paths = tuple(body.get("paths") or ())
        if not all(isinstance(p, str) and p.startswith("/") for p in paths):
            raise invalid_field("paths", "Expecting a list of paths starting with /")
        methods = tuple(m.upper() for m in body.get("methods") or ())
        count = body.get("count")
        if count is not None and (not isinstance(count, int) or count < 0):
            raise invalid_field("count", "Expecting a non-negative integer")
        timeout = body.get("timeoutSeconds", default_timeout)
        if not isinstance(timeout, int | float) or timeout < 0:
            raise invalid_field("timeoutSeconds", "Expecting a non-negative number")
        seed = body.get("seed")
        return cls(float(rate), kinds, paths, methods, seed, count, float(timeout))

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "kinds": list(self.kinds),
            "paths": list(self.paths),
            "methods": list(self.methods),
            "seed": self.seed,
            "count": self.count,
            "timeoutSeconds": self.timeout_seconds,
        }

    def covers(self, method: str, path: str) -> bool:
        # The stand-in AI and telephony provider fails too, but only when named exactly (its
        # retries are what a handler's idempotency key is for); other /sandbox helpers never.
        named_handler_path = path.startswith(HANDLER_PATH) and path in self.paths
        if not path.startswith("/v1/") and not named_handler_path:
            return False
        if self.methods and method.upper() not in self.methods:
            return False
        if not self.paths:
            return True
        return any(_path_matches(pattern, path) for pattern in self.paths)


def _path_matches(pattern: str, path: str) -> bool:
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern.rstrip("/")


@dataclass
class FaultInjector:
    plan: FaultPlan | None = None
    injected: Counter[str] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))
    _rng: random.Random = field(default_factory=random.Random)
    _remaining: int | None = None

    def configure(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._remaining = plan.count

    def clear(self) -> None:
        self.plan = None
        self._remaining = None

    def choose(self, method: str, path: str) -> str | None:
        """The fault to inject for this request, if any (consumes the seeded random stream)."""
        plan = self.plan
        if plan is None or not plan.covers(method, path):
            return None
        if self._remaining is not None and self._remaining <= 0:
            return None
        if self._rng.random() >= plan.rate:
            return None
        kind = self._rng.choice(plan.kinds)
        if self._remaining is not None:
            self._remaining -= 1
        self.injected[kind] += 1
        self.recent.append({"kind": kind, "method": method, "path": path, "at": time.time()})
        return kind

    def status(self) -> dict[str, Any]:
        return {
            "active": self.plan is not None,
            "plan": self.plan.to_json() if self.plan else None,
            "remaining": self._remaining,
            "injected": sum(self.injected.values()),
            "byKind": dict(self.injected),
            "recent": list(self.recent)[-20:],
        }


class FaultInjectionApp:
    """ASGI wrapper: decides per request whether to misbehave, else passes through."""

    def __init__(self, app: Any, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    def __getattr__(self, name: str) -> Any:  # expose the wrapped app's attributes (state, ...)
        return getattr(self.app, name)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self.injector.choose(scope["method"], scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
        elif kind == "error500":
            await _send_500(send)
        elif kind == "timeout":
            await asyncio.sleep(self.injector.plan.timeout_seconds if self.injector.plan else 30)
            await _drop(send)
        elif kind == "drop":
            await _drop(send)
        elif kind == "accept_then_500":
            await self.app(scope, receive, _swallow)
            await _send_500(send)
        elif kind == "accept_then_drop":
            await self.app(scope, receive, _swallow)
            await _drop(send)
        elif kind == "accept_then_hang":
            await self.app(scope, receive, _swallow)
            await asyncio.sleep(self.injector.plan.timeout_seconds if self.injector.plan else 30)
            await _drop(send)
        elif kind == "slow":
            await asyncio.sleep(self.injector.plan.timeout_seconds if self.injector.plan else 30)
            await self.app(scope, receive, send)


async def _swallow(message: dict) -> None:
    """Discards the real answer of a request whose answer is replaced by a fault."""


async def _send_500(send: Any) -> None:
    body = json.dumps(error_body(500, SERVER_ERROR, {"sandboxFault": True})).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Any) -> None:
    """Close the client's connection without an answer.

    Uvicorn's `send` is a bound method of its request cycle, which holds the transport; aborting
    it resets the connection. Under another server, fall back to starting a response and never
    finishing it, which the server answers by closing the connection.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0.05)  # let the server notice the disconnect before we return
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"1000")],
        }
    )


def parse_plan(body: dict[str, Any], default_timeout: float) -> FaultPlan:
    try:
        return FaultPlan.parse(body, default_timeout)
    except TellescopeError:
        raise
    except (TypeError, ValueError) as error:
        raise invalid_field("faults", str(error)) from None
