"""Each activity attempt's Tellescope writes end before Temporal can start its retry.

Temporal times an attempt out `start_to_close_timeout` after it started and schedules the retry
after the retry policy's backoff (2 s at least for steps), but it does not stop the attempt: on
an overloaded worker, a slow first attempt could still be sending when the retry looks for the
record it would have created, find nothing, and send again. So every write of an attempt must be
answered or abandoned before the attempt's deadline (`tellescope.client.write_deadline`): the
retry's lookup, which comes after the deadline, then sees every record the attempt created.

The deadline is the attempt's start as the server recorded it plus its start-to-close timeout,
less CLOCK_MARGIN_SECONDS for skew between the worker's clock and the server's (docs/decisions.md
D38).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity

from tellescope.client import write_deadline

CLOCK_MARGIN_SECONDS = 1.0


def attempt_deadline() -> float | None:
    """When (epoch seconds) this attempt's writes must be over; None outside an activity, in a
    local activity (the worker that runs it is the one that retries it, after cancelling it) or
    without a start-to-close timeout."""
    if not activity.in_activity():
        return None
    info = activity.info()
    if info.is_local or info.start_to_close_timeout is None:
        return None
    ends = info.started_time + info.start_to_close_timeout
    return ends.timestamp() - CLOCK_MARGIN_SECONDS


@contextmanager
def writes_within_attempt() -> Iterator[None]:
    """Hold the Tellescope writes made inside to this attempt's deadline."""
    token = write_deadline.set(attempt_deadline())
    try:
        yield
    finally:
        write_deadline.reset(token)
