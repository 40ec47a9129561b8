"""A webhook receiver that records whatever it is sent (`/sandbox/echo`), e.g. the lab system in
examples/lab-results.yaml. `?status=503` makes it answer with that status, `?delay=2` makes it
wait first, so failure branches can be exercised."""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EchoLog:
    entries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def record(self, **entry: Any) -> dict[str, Any]:
        stored = {"id": next(self._ids), "receivedAt": time.time(), **entry}
        self.entries.append(stored)
        return stored

    def list(self, limit: int | None = None) -> list[dict[str, Any]]:
        items = list(self.entries)
        return items[-limit:] if limit else items

    def clear(self) -> None:
        self.entries.clear()
