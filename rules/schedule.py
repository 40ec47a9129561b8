"""When an action comes due: base delays, day-of-month targets and date-relative delays
(docs/semantics.md §5.1, §5.2, §5.4; docs/decisions.md D5 and D6).

A Temporal workflow composes these into a timer, so they are pure and deterministic: "now" is
always a parameter (the workflow passes `workflow.now()`), never the wall clock, and time zones
come from `zoneinfo`. Office-hours deferral lives in `rules.office_hours` and is applied after.
"""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.dates import require_aware

# Tellescope's `UnitOfTime` → milliseconds (docs/semantics.md §5.1: `delayInMS = delay × unit`).
UNIT_MS: dict[str, int] = {
    "Seconds": 1_000,
    "Minutes": 60_000,
    "Hours": 3_600_000,
    "Days": 86_400_000,
}

DEFAULT_DAY_OF_MONTH_HOUR = 9  # docs/semantics.md §5.2: `hour` defaults to 9
DEFAULT_DAY_OF_MONTH_MINUTE = 0


def delay_in_ms(delay: float | int, unit: str) -> int:
    """`delay` `unit`s in whole milliseconds (rounded), e.g. `delay_in_ms(1.5, "Hours")` =
    5 400 000. An unknown unit or a non-finite delay raises ValueError."""
    size = UNIT_MS.get(unit)
    if size is None:
        raise ValueError(f'unknown unit "{unit}" (expected one of {", ".join(UNIT_MS)})')
    if not math.isfinite(delay):
        raise ValueError(f"delay must be a finite number, got {delay!r}")
    return round(delay * size)


def delay_due(now: datetime, delay_ms: int) -> datetime:
    """docs/semantics.md §5.1: a plain delay (`afterAction` without a date condition,
    `formUnsubmitted`, `formsUnsubmitted`) comes due `delay_ms` of elapsed time after `now`, in
    `now`'s zone."""
    require_aware(now, "now")
    # Computed in UTC: `+` on a datetime with a ZoneInfo would add to the wall clock instead.
    return (now.astimezone(UTC) + timedelta(milliseconds=delay_ms)).astimezone(now.tzinfo)


def _month_target(
    year: int, month: int, day_of_month: int, hour: int, minute: int, tz: ZoneInfo
) -> datetime:
    # docs/decisions.md D5: a day the month lacks (31 in April, 29-31 in February) clamps to
    # its last day.
    day = min(day_of_month, calendar.monthrange(year, month)[1])
    # fold=0: a wall time repeated at fall-back means its first occurrence; one skipped at
    # spring-forward is read with the pre-transition offset, i.e. moved forward by the gap
    # (02:30 → 03:30), as Luxon (the reference implementation's library) does. The round trip
    # through UTC makes the returned wall time one that exists.
    local = datetime(year, month, day, hour, minute, tzinfo=tz, fold=0)
    return local.astimezone(UTC).astimezone(tz)


def day_of_month_due(
    now: datetime,
    day_of_month: int,
    hour: int | None,
    minute: int | None,
    zone: str,
) -> datetime:
    """The `dayOfMonthCondition` due time (docs/semantics.md §5.2, docs/decisions.md D5): in `zone`,
    this month's `day_of_month` at `hour:minute` (default 09:00), clamped to the month's last
    day; when that is not after `now`, the same in the next month (clamped on its own: 31 gives
    Feb 28, then Mar 31). Returned as an aware datetime in `zone`. `delayInMS` plays no part."""
    require_aware(now, "now")
    hour = DEFAULT_DAY_OF_MONTH_HOUR if hour is None else hour
    minute = DEFAULT_DAY_OF_MONTH_MINUTE if minute is None else minute
    if not 1 <= day_of_month <= 31:
        raise ValueError(f"day_of_month must be 1-31, got {day_of_month}")
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0-23, got {hour}")
    if not 0 <= minute <= 59:
        raise ValueError(f"minute must be 0-59, got {minute}")

    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    year, month = local_now.year, local_now.month
    target = _month_target(year, month, day_of_month, hour, minute, tz)
    if target <= now:  # docs/semantics.md §5.2: "if target ≤ now, add one calendar month"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        target = _month_target(year, month, day_of_month, hour, minute, tz)
    return target


def date_relative_due(anchor: datetime, delay_ms: int, before: bool) -> datetime:
    """docs/decisions.md D6: the due time of a
    `fieldCondition`/`formCondition`/`eventCondition` delay, `anchor − delay` when `before`, else
    `anchor + delay`, as elapsed time (a 1-day delay across a DST change is 24 h, not "same wall
    time tomorrow"), in `anchor`'s zone."""
    require_aware(anchor, "anchor")
    # Computed in UTC: `+` on a datetime with a ZoneInfo would add to the wall clock instead.
    delay = timedelta(milliseconds=delay_ms)
    exact = anchor.astimezone(UTC)
    return (exact - delay if before else exact + delay).astimezone(anchor.tzinfo)


def should_skip(due: datetime, now: datetime, skip_if_delay_passed: bool) -> bool:
    """docs/decisions.md D6: with `skipIfDelayPassed`, a due time strictly before `now`
    skips the step (finished, no side effect, no children). A due time equal to `now` has
    not passed."""
    return skip_if_delay_passed and due < now


def run_at(due: datetime, now: datetime) -> datetime:
    """docs/decisions.md D6 (and docs/semantics.md §5.1): a due time in the past runs immediately,
    i.e. at `now`."""
    return due if due > now else now
