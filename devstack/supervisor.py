"""Restarts for `journeys dev`: a worker or API that dies is started again, after a backoff that
doubles with each restart in the last minute, until too many restarts in a minute say that
something is wrong for good (then the stack stops, as it did before supervision)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Decision:
    restart: bool
    delay: float  # seconds to wait before starting it again
    recent: int  # restarts of this child in the last window, this one included


@dataclass
class Supervisor:
    """Per-child restart budget: at most `max_restarts` in any `window` seconds; the delay before
    a restart is `backoff` seconds doubled for each earlier restart in the window, at most
    `max_backoff`."""

    max_restarts: int = 5
    window: float = 60.0
    backoff: float = 0.5
    max_backoff: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _history: dict[str, deque[float]] = field(default_factory=dict)

    def decide(self, name: str) -> Decision:
        now = self.clock()
        history = self._history.setdefault(name, deque())
        while history and now - history[0] > self.window:
            history.popleft()
        if len(history) >= self.max_restarts:
            return Decision(False, 0.0, len(history))
        delay = min(self.max_backoff, self.backoff * 2 ** len(history))
        history.append(now)
        return Decision(True, delay, len(history))


def describe_exit(code: int | None) -> str:
    """'code 1', or 'signal SIGKILL' for a child a signal ended (Popen's negative codes)."""
    import signal

    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"
