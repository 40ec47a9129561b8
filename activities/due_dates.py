"""Ticket due dates (docs/semantics.md §8.3): pure, so they are testable without Tellescope and
identical on every attempt of an action (the action's `now` is fixed)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MAX_SKIPS = 7  # a day at a time, at most a week: a list of all seven days cannot loop forever
DAY = timedelta(days=1)


def sunday_zero_weekday(when: datetime, zone: ZoneInfo) -> int:
    """Tellescope's weekday numbering in `zone`: Sunday 0 ... Saturday 6."""
    return when.astimezone(zone).isoweekday() % 7


def ticket_due_date(
    now: datetime, offset_ms: int, skip_days_of_week: Iterable[int] | None, zone: ZoneInfo
) -> datetime:
    """`now + offset`, then pushed forward one day (24 h) at a time, at most seven times, while
    its weekday in the organisation's zone is one of `skip_days_of_week`."""
    due = now + timedelta(milliseconds=offset_ms)
    skip = set(skip_days_of_week or ())
    for _ in range(MAX_SKIPS):
        if sunday_zero_weekday(due, zone) not in skip:
            break
        due += DAY
    return due
