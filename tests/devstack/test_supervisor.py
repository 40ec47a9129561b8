"""The restart policy of `journeys dev` and the process group's restart in place, without the
stack (test_dev_supervises.py runs the real thing)."""

from __future__ import annotations

import io
import signal
import sys

from devstack.processes import ProcessGroup
from devstack.supervisor import Supervisor, describe_exit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_and_the_budget_is_per_minute():
    clock = Clock()
    supervisor = Supervisor(max_restarts=3, window=60, backoff=0.5, max_backoff=1.5, clock=clock)
    decisions = [supervisor.decide("worker") for _ in range(4)]
    assert [(d.restart, d.delay, d.recent) for d in decisions] == [
        (True, 0.5, 1),
        (True, 1.0, 2),
        (True, 1.5, 3),  # capped
        (False, 0.0, 3),  # a 4th restart within the minute: give up
    ]
    assert supervisor.decide("api").restart  # each child has its own budget
    clock.now += 61  # a quiet minute later the budget is back, and the backoff short again
    again = supervisor.decide("worker")
    assert (again.restart, again.delay, again.recent) == (True, 0.5, 1)


def test_exits_are_described_by_code_or_signal():
    assert describe_exit(1) == "code 1"
    assert describe_exit(-signal.SIGKILL) == "signal SIGKILL"


def test_a_dead_child_restarts_in_its_place(tmp_path):
    out = io.StringIO()
    group = ProcessGroup(tmp_path / "logs", out=out)
    first = group.start("worker", [sys.executable, "-c", "print('hello', flush=True)"])
    other = group.start("api", [sys.executable, "-c", "import time; time.sleep(60)"])
    first.process.wait(timeout=30)
    assert group.dead() is first
    old = first.process
    group.restart(first)
    assert first.process is not old and first.starts == 2
    assert group.children == [first, other]  # same order: stop() still goes in reverse
    first.process.wait(timeout=30)
    group.stop()
    first.pump.join(timeout=5)
    assert out.getvalue().count("   worker | hello") == 2
    assert (tmp_path / "logs" / "worker.log").read_text().count("hello") == 2
