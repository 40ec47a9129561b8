"""Due times (docs/semantics.md §5.1, §5.2, §5.4; docs/decisions.md D5 and D6): delay units,
day-of-month targets with clamping and DST, and the date-relative helpers. Expected instants carry
explicit offsets.

US DST in 2026 starts on 2026-03-08 and ends on 2026-11-01 (America/New_York).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from models.events import UnitOfTime
from rules.schedule import (
    UNIT_MS,
    date_relative_due,
    day_of_month_due,
    delay_due,
    delay_in_ms,
    run_at,
    should_skip,
)

NY = ZoneInfo("America/New_York")
EST = timedelta(hours=-5)
EDT = timedelta(hours=-4)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- delay_in_ms ---------------------------------------------------------------------------------

DELAY_CASES = [
    ("one-second", 1, "Seconds", 1_000),
    ("quarter-second", 0.25, "Seconds", 250),
    ("five-minutes", 5, "Minutes", 300_000),
    ("one-and-a-half-hours", 1.5, "Hours", 5_400_000),
    ("two-days", 2, "Days", 172_800_000),
    ("zero", 0, "Minutes", 0),
]


@pytest.mark.parametrize(
    ("delay", "unit", "expected"), [c[1:] for c in DELAY_CASES], ids=[c[0] for c in DELAY_CASES]
)
def test_delay_in_ms(delay: float, unit: str, expected: int):
    result = delay_in_ms(delay, unit)
    assert result == expected
    assert isinstance(result, int)


@pytest.mark.parametrize("unit", ["minutes", "Weeks", "", "ms"])
def test_delay_in_ms_unknown_unit_names_allowed_units(unit: str):
    with pytest.raises(ValueError) as error:
        delay_in_ms(1, unit)
    for allowed in ("Seconds", "Minutes", "Hours", "Days"):
        assert allowed in str(error.value)


@pytest.mark.parametrize("delay", [float("nan"), float("inf")], ids=["nan", "infinity"])
def test_delay_in_ms_refuses_non_finite(delay: float):
    with pytest.raises(ValueError, match="finite"):
        delay_in_ms(delay, "Minutes")


def test_units_match_the_model():
    assert set(UNIT_MS) == set(get_args(UnitOfTime))


# --- day_of_month_due ----------------------------------------------------------------------------

DAY_OF_MONTH_CASES = [
    # (id, now, dayOfMonth, hour, minute, zone, expected)
    (
        "later-this-month-default-0900",
        ny(2026, 6, 10, 12),
        15,
        None,
        None,
        "America/New_York",
        ny(2026, 6, 15, 9),
    ),
    (
        "passed-this-month-goes-to-next",
        ny(2026, 6, 20),
        15,
        None,
        None,
        "America/New_York",
        ny(2026, 7, 15, 9),
    ),
    (
        "same-day-hour-passed",
        ny(2026, 6, 15, 10),
        15,
        None,
        None,
        "America/New_York",
        ny(2026, 7, 15, 9),
    ),
    (
        "same-day-hour-ahead",
        ny(2026, 6, 15, 8, 59),
        15,
        None,
        None,
        "America/New_York",
        ny(2026, 6, 15, 9),
    ),
    (
        "target-equal-to-now-counts-as-passed",
        ny(2026, 6, 15, 9),
        15,
        None,
        None,
        "America/New_York",
        ny(2026, 7, 15, 9),
    ),
    (
        "explicit-hour-and-minute",
        ny(2026, 6, 10),
        1,
        14,
        30,
        "America/New_York",
        ny(2026, 7, 1, 14, 30),
    ),
    (
        "hour-given-minute-defaults-0",
        ny(2026, 6, 10),
        20,
        16,
        None,
        "America/New_York",
        ny(2026, 6, 20, 16),
    ),
    (
        "minute-given-hour-defaults-9",
        ny(2026, 6, 10),
        20,
        None,
        45,
        "America/New_York",
        ny(2026, 6, 20, 9, 45),
    ),
    ("midnight-hour-0", ny(2026, 6, 10), 20, 0, 0, "America/New_York", ny(2026, 6, 20)),
    ("31-clamps-to-feb-28", ny(2026, 2, 1), 31, None, None, "America/New_York", ny(2026, 2, 28, 9)),
    (
        "31-clamps-to-feb-29-leap-year",
        ny(2028, 2, 1),
        31,
        None,
        None,
        "America/New_York",
        ny(2028, 2, 29, 9),
    ),
    ("30-clamps-to-feb-28", ny(2026, 2, 1), 30, None, None, "America/New_York", ny(2026, 2, 28, 9)),
    (
        "31-clamps-to-april-30",
        ny(2026, 4, 1),
        31,
        None,
        None,
        "America/New_York",
        ny(2026, 4, 30, 9),
    ),
    (
        "jan-31-passed-gives-feb-28",
        ny(2026, 1, 31, 10),
        31,
        None,
        None,
        "America/New_York",
        ny(2026, 2, 28, 9),
    ),
    (
        "clamped-feb-passed-gives-march-31",
        ny(2026, 2, 28, 10),
        31,
        None,
        None,
        "America/New_York",
        ny(2026, 3, 31, 9),
    ),
    (
        "december-rolls-into-january",
        ny(2026, 12, 20),
        5,
        None,
        None,
        "America/New_York",
        ny(2027, 1, 5, 9),
    ),
    (
        "target-after-spring-forward-is-edt",
        ny(2026, 3, 1),
        10,
        None,
        None,
        "America/New_York",
        utc(2026, 3, 10, 13),
    ),
    (
        "target-after-fall-back-is-est",
        ny(2026, 10, 20),
        5,
        None,
        None,
        "America/New_York",
        utc(2026, 11, 5, 14),
    ),
    (
        "next-month-across-dst-is-edt",
        ny(2026, 2, 20),
        15,
        None,
        None,
        "America/New_York",
        utc(2026, 3, 15, 13),
    ),
    (
        "skipped-0230-moves-forward-to-0330-edt",
        ny(2026, 3, 1),
        8,
        2,
        30,
        "America/New_York",
        utc(2026, 3, 8, 7, 30),
    ),
    (
        "repeated-0130-is-first-occurrence-edt",
        ny(2026, 10, 15),
        1,
        1,
        30,
        "America/New_York",
        utc(2026, 11, 1, 5, 30),
    ),
    (
        "month-taken-in-zone-not-utc",
        utc(2026, 7, 1, 2),
        30,
        23,
        None,
        "America/New_York",
        utc(2026, 7, 1, 3),
    ),  # 2026-06-30 22:00 in New York: June's 30th at 23:00 is still ahead
    (
        "sydney-winter",
        utc(2026, 6, 10),
        15,
        None,
        None,
        "Australia/Sydney",
        utc(2026, 6, 14, 23),
    ),  # 09:00 AEST (+10)
    (
        "sydney-summer",
        utc(2026, 1, 10),
        15,
        None,
        None,
        "Australia/Sydney",
        utc(2026, 1, 14, 22),
    ),  # 09:00 AEDT (+11)
    (
        "enduser-zone-los-angeles",
        utc(2026, 6, 15, 15),
        15,
        None,
        None,
        "America/Los_Angeles",
        utc(2026, 6, 15, 16),
    ),  # 08:00 PDT now; 09:00 PDT is still ahead
]


@pytest.mark.parametrize(
    ("now", "day", "hour", "minute", "zone", "expected"),
    [c[1:] for c in DAY_OF_MONTH_CASES],
    ids=[c[0] for c in DAY_OF_MONTH_CASES],
)
def test_day_of_month_due(
    now: datetime,
    day: int,
    hour: int | None,
    minute: int | None,
    zone: str,
    expected: datetime,
):
    result = day_of_month_due(now, day, hour, minute, zone)
    assert result.astimezone(UTC) == expected.astimezone(UTC)
    # Returned in the zone, with the offset that applies on the target day.
    assert result.tzinfo == ZoneInfo(zone)
    assert result.utcoffset() == expected.astimezone(ZoneInfo(zone)).utcoffset()


@pytest.mark.parametrize(
    ("day", "expected_offset", "expected_wall"),
    [(1, EST, (3, 1, 9, 0)), (31, EDT, (3, 31, 9, 0))],
    ids=["march-1-est", "march-31-edt"],
)
def test_day_of_month_offsets_and_wall_time(
    day: int, expected_offset: timedelta, expected_wall: tuple[int, ...]
):
    result = day_of_month_due(ny(2026, 2, 28, 12), day, None, None, "America/New_York")
    assert result.utcoffset() == expected_offset
    assert (result.month, result.day, result.hour, result.minute) == expected_wall


def test_skipped_wall_time_is_returned_as_existing_wall_time():
    result = day_of_month_due(ny(2026, 3, 1), 8, 2, 30, "America/New_York")
    assert (result.hour, result.minute, result.utcoffset()) == (3, 30, EDT)


@pytest.mark.parametrize(
    ("day", "hour", "minute"),
    [(0, None, None), (32, None, None), (1, 24, None), (1, -1, None), (1, None, 60)],
    ids=["day-0", "day-32", "hour-24", "hour-negative", "minute-60"],
)
def test_day_of_month_refuses_out_of_range(day: int, hour: int | None, minute: int | None):
    with pytest.raises(ValueError):
        day_of_month_due(ny(2026, 6, 1), day, hour, minute, "America/New_York")


def test_day_of_month_refuses_naive_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        day_of_month_due(datetime(2026, 6, 1), 15, None, None, "America/New_York")


# --- date-relative delays (docs/decisions.md D6) --------------------------------------------------

APPOINTMENT = utc(2026, 6, 15, 14)
DAY_MS = 86_400_000

RELATIVE_CASES = [
    ("after-adds", APPOINTMENT, DAY_MS, False, utc(2026, 6, 16, 14)),
    ("before-subtracts", APPOINTMENT, DAY_MS, True, utc(2026, 6, 14, 14)),
    ("zero-delay-before", APPOINTMENT, 0, True, APPOINTMENT),
    ("millisecond-precision", APPOINTMENT, 1_500, True, utc(2026, 6, 15, 13, 59, 58, 500000)),
    ("keeps-absolute-time-across-dst", ny(2026, 3, 7, 9), DAY_MS, False, ny(2026, 3, 8, 10)),
]


@pytest.mark.parametrize(
    ("anchor", "delay_ms", "before", "expected"),
    [c[1:] for c in RELATIVE_CASES],
    ids=[c[0] for c in RELATIVE_CASES],
)
def test_date_relative_due(anchor: datetime, delay_ms: int, before: bool, expected: datetime):
    assert date_relative_due(anchor, delay_ms, before).astimezone(UTC) == expected.astimezone(UTC)


def test_date_relative_due_refuses_naive_anchor():
    with pytest.raises(ValueError, match="timezone-aware"):
        date_relative_due(datetime(2026, 6, 15), DAY_MS, False)


NOW = utc(2026, 6, 15, 12)
SKIP_CASES = [
    ("passed-with-flag-skips", NOW - timedelta(milliseconds=1), True, True),
    ("passed-without-flag-runs", NOW - timedelta(days=3), False, False),
    ("due-exactly-now-not-passed", NOW, True, False),
    ("future-with-flag-runs", NOW + timedelta(hours=1), True, False),
]


@pytest.mark.parametrize(
    ("due", "flag", "expected"), [c[1:] for c in SKIP_CASES], ids=[c[0] for c in SKIP_CASES]
)
def test_should_skip(due: datetime, flag: bool, expected: bool):
    assert should_skip(due, NOW, flag) is expected


RUN_AT_CASES = [
    ("past-runs-now", NOW - timedelta(days=1), NOW),
    ("now-runs-now", NOW, NOW),
    ("future-waits", NOW + timedelta(hours=2), NOW + timedelta(hours=2)),
]


@pytest.mark.parametrize(
    ("due", "expected"), [c[1:] for c in RUN_AT_CASES], ids=[c[0] for c in RUN_AT_CASES]
)
def test_run_at(due: datetime, expected: datetime):
    assert run_at(due, NOW) == expected


def test_delay_due_is_elapsed_time_after_now():
    """docs/semantics.md §5.1: a day's delay across the spring-forward change is 24 h, not the same
    wall time."""
    due = delay_due(ny(2026, 3, 7, 10), DAY_MS)
    assert due == ny(2026, 3, 8, 11) and due.utcoffset() == EDT
    assert delay_due(NOW, 90_000) == NOW + timedelta(seconds=90)
    assert delay_due(NOW, 0) == NOW


def test_delay_due_refuses_naive_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        delay_due(datetime(2026, 6, 15), DAY_MS)
