"""Office hours (docs/semantics.md §5.3, docs/decisions.md D4): the open/closed predicate, the next
open instant, and the zone used with `useEnduserTimezone`. Expected instants are written out in
full, with offsets.

Calendar used below: 2026-06-01 is a Monday; 2026-03-08 (US spring forward, 02:00 EST → 03:00
EDT = 07:00 UTC) and 2026-11-01 (US fall back, 02:00 EDT → 01:00 EST = 06:00 UTC) are Sundays;
Thanksgiving 2026 is Thursday 2026-11-26.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.organization import Organization
from rules.office_hours import (
    STATE_CODES_BY_NAME,
    STATE_ZONES,
    is_open,
    is_valid_zone,
    next_open,
    zone_for_enduser,
)

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")
MS = timedelta(milliseconds=1)
SUN, MON, TUE, WED, THU, FRI, SAT = range(7)


def ny(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=NY, fold=fold)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def block(day: int, start: int, end: int, **active: datetime) -> dict[str, Any]:
    """A weekly block; `active` may carry `from_`/`to`."""
    data: dict[str, Any] = {
        "dayOfWeekStartingSundayIndexedByZero": day,
        "startTimeInMinutes": start,
        "endTimeInMinutes": end,
    }
    if active:
        data["active"] = {("from" if k == "from_" else k): v for k, v in active.items()}
    return data


def weekdays(start: int = 9 * 60, end: int = 17 * 60) -> list[dict[str, Any]]:
    return [block(day, start, end) for day in (MON, TUE, WED, THU, FRI)]


def closed(start: datetime, end: datetime) -> dict[str, Any]:
    return {"from": start, "to": end}


def org(
    blocks: list[dict[str, Any]] | None = None,
    closures: list[dict[str, Any]] | None = None,
    tz: str = "America/New_York",
) -> Organization:
    return Organization.model_validate(
        {"timezone": tz, "officeHours": blocks or [], "outOfOfficeHours": closures or []}
    )


OFFICE = org(weekdays())
MON_CLOSURE = closed(ny(2026, 6, 1, 10), ny(2026, 6, 1, 12))


# --- is_open -------------------------------------------------------------------------------------

IS_OPEN_CASES = [
    # (id, organisation, instant, zone override, expected)
    ("no-blocks-always-open", org(), ny(2026, 6, 6, 3, 17), None, True),
    ("no-blocks-sunday-midnight-open", org(), ny(2026, 6, 7), None, True),
    ("closure-without-blocks-closed", org(closures=[MON_CLOSURE]), ny(2026, 6, 1, 11), None, False),
    ("closure-wins-over-block", org(weekdays(), [MON_CLOSURE]), ny(2026, 6, 1, 11), None, False),
    ("closure-from-inclusive", org(closures=[MON_CLOSURE]), ny(2026, 6, 1, 10), None, False),
    ("closure-to-inclusive", org(closures=[MON_CLOSURE]), ny(2026, 6, 1, 12), None, False),
    ("1ms-after-closure-open", org(closures=[MON_CLOSURE]), ny(2026, 6, 1, 12) + MS, None, True),
    (
        "1us-before-closure-open",
        org(closures=[MON_CLOSURE]),
        ny(2026, 6, 1, 10) - timedelta(microseconds=1),
        None,
        True,
    ),
    (
        "closure-given-in-utc-compared-as-instant",
        org(closures=[closed(utc(2026, 6, 1, 14), utc(2026, 6, 1, 15))]),
        ny(2026, 6, 1, 10, 30),  # 14:30 UTC
        None,
        False,
    ),
    ("block-start-inclusive", OFFICE, ny(2026, 6, 1, 9), None, True),
    ("one-second-before-start", OFFICE, ny(2026, 6, 1, 8, 59, 59), None, False),
    ("block-end-minute-inclusive", OFFICE, ny(2026, 6, 1, 17, 0, 59), None, True),
    ("minute-after-end-closed", OFFICE, ny(2026, 6, 1, 17, 1), None, False),
    ("saturday-closed", OFFICE, ny(2026, 6, 6, 10), None, False),
    ("sunday-closed", OFFICE, ny(2026, 6, 7, 10), None, False),
    ("sunday-is-day-0", org([block(SUN, 600, 720)]), ny(2026, 6, 7, 11), None, True),
    ("day-0-is-not-monday", org([block(SUN, 600, 720)]), ny(2026, 6, 1, 11), None, False),
    ("monday-is-day-1", org([block(MON, 600, 720)]), ny(2026, 6, 1, 11), None, True),
    ("saturday-is-day-6", org([block(SAT, 600, 720)]), ny(2026, 6, 6, 11), None, True),
    ("day-6-is-not-sunday", org([block(SAT, 600, 720)]), ny(2026, 6, 7, 11), None, False),
    (
        "weekday-taken-in-org-zone-not-utc",  # Tue 00:30 UTC is Mon 20:30 in New York
        org([block(MON, 0, 1440)]),
        utc(2026, 6, 2, 0, 30),
        None,
        True,
    ),
    ("all-day-block-at-midnight", org([block(MON, 0, 1440)]), ny(2026, 6, 1), None, True),
    (
        "all-day-block-last-millisecond",
        org([block(MON, 0, 1440)]),
        ny(2026, 6, 1, 23, 59, 59, 999000),
        None,
        True,
    ),
    ("all-day-block-not-next-day", org([block(MON, 0, 1440)]), ny(2026, 6, 2), None, False),
    (
        "active-before-from-closed",
        org([block(MON, 540, 1020, from_=ny(2026, 6, 8))]),
        ny(2026, 6, 1, 10),
        None,
        False,
    ),
    (
        "active-from-inclusive",
        org([block(MON, 540, 1020, from_=ny(2026, 6, 1, 10))]),
        ny(2026, 6, 1, 10),
        None,
        True,
    ),
    (
        "active-after-to-closed",
        org([block(MON, 540, 1020, to=ny(2026, 6, 1, 10))]),
        ny(2026, 6, 1, 10) + MS,
        None,
        False,
    ),
    (
        "active-to-inclusive",
        org([block(MON, 540, 1020, to=ny(2026, 6, 1, 10))]),
        ny(2026, 6, 1, 10),
        None,
        True,
    ),
    (
        # Tellescope would drop this block (its `active.to` is before today's clock); we judge
        # `active` against the instant asked about, so in 2020 the block applies.
        "active-judged-at-instant-not-wall-clock",
        org([block(MON, 540, 1020, to=utc(2021, 1, 1))]),
        ny(2020, 6, 1, 10),
        None,
        True,
    ),
    (
        "configured-but-inactive-blocks-mean-closed",
        org([block(MON, 540, 1020, to=utc(2021, 1, 1))]),
        ny(2026, 6, 1, 10),
        None,
        False,
    ),
    (
        "inactive-block-does-not-hide-active-one",
        org([block(MON, 540, 600, to=utc(2021, 1, 1)), block(MON, 540, 1020)]),
        ny(2026, 6, 1, 16),
        None,
        True,
    ),
    # Spring forward 2026-03-08: 02:00-02:59 local does not exist; 03:00 EDT = 07:00 UTC.
    (
        "spring-forward-before-gap-closed",
        org([block(SUN, 150, 300)]),
        utc(2026, 3, 8, 6, 59, 59),  # 01:59:59 EST
        None,
        False,
    ),
    (
        "spring-forward-after-gap-open",  # 03:00 EDT is minute 180, inside 02:30-05:00
        org([block(SUN, 150, 300)]),
        utc(2026, 3, 8, 7),
        None,
        True,
    ),
    (
        "spring-forward-block-end-uses-wall-clock",  # 05:00:30 EDT, minute 300
        org([block(SUN, 150, 300)]),
        utc(2026, 3, 8, 9, 0, 30),
        None,
        True,
    ),
    # Fall back 2026-11-01: 01:00-01:59 local happens twice (EDT 05:00-06:00 UTC, EST 06:00-07:00).
    ("fall-back-first-0135-open", org([block(SUN, 90, 105)]), utc(2026, 11, 1, 5, 35), None, True),
    (
        "fall-back-first-0150-closed",
        org([block(SUN, 90, 105)]),
        utc(2026, 11, 1, 5, 50),
        None,
        False,
    ),
    ("fall-back-second-0135-open", org([block(SUN, 90, 105)]), utc(2026, 11, 1, 6, 35), None, True),
    (
        "fall-back-second-0105-closed",
        org([block(SUN, 90, 105)]),
        utc(2026, 11, 1, 6, 5),
        None,
        False,
    ),
    (
        "london-summer-0830-utc-is-0930-bst",
        org(weekdays(), tz="Europe/London"),
        utc(2026, 7, 6, 8, 30),
        None,
        True,
    ),
    (
        "london-winter-0830-utc-is-0830-gmt",
        org(weekdays(), tz="Europe/London"),
        utc(2026, 1, 5, 8, 30),
        None,
        False,
    ),
    (
        "sydney-sunday-utc-is-monday-local",  # 2026-01-04 22:30 UTC = Mon 09:30 AEDT
        org(weekdays(), tz="Australia/Sydney"),
        utc(2026, 1, 4, 22, 30),
        None,
        True,
    ),
    (
        "zone-override-los-angeles",  # 09:30 in New York is 06:30 in Los Angeles
        OFFICE,
        ny(2026, 6, 1, 9, 30),
        "America/Los_Angeles",
        False,
    ),
    ("no-override-uses-org-zone", OFFICE, ny(2026, 6, 1, 9, 30), None, True),
]


@pytest.mark.parametrize(
    ("organization", "at", "zone", "expected"),
    [case[1:] for case in IS_OPEN_CASES],
    ids=[case[0] for case in IS_OPEN_CASES],
)
def test_is_open(organization: Organization, at: datetime, zone: str | None, expected: bool):
    assert is_open(at, organization, zone) is expected


def test_is_open_refuses_naive_instant():
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(datetime(2026, 6, 1, 10), OFFICE)


# --- next_open -----------------------------------------------------------------------------------

THANKSGIVING = closed(ny(2026, 11, 26), ny(2026, 11, 27, 23, 59, 59, 999000))
LONG_CLOSURE = closed(ny(2026, 6, 1), ny(2026, 7, 1))  # 30 days
HORIZON_START = ny(2026, 6, 1, 12)

NEXT_OPEN_CASES = [
    # (id, organisation, from instant, zone override, horizon, expected instant or None)
    ("saturday-to-monday-0900", OFFICE, ny(2026, 6, 6, 10), None, None, ny(2026, 6, 8, 9)),
    ("before-opening-same-day", OFFICE, ny(2026, 6, 1, 7, 15), None, None, ny(2026, 6, 1, 9)),
    ("after-closing-next-day", OFFICE, ny(2026, 6, 1, 17, 1), None, None, ny(2026, 6, 2, 9)),
    ("friday-evening-to-monday", OFFICE, ny(2026, 6, 5, 18), None, None, ny(2026, 6, 8, 9)),
    (
        "thanksgiving-then-weekend-then-monday",
        org(weekdays(), [THANKSGIVING]),
        ny(2026, 11, 26, 10),
        None,
        None,
        ny(2026, 11, 30, 9),  # 14:00 UTC, EST
    ),
    (
        "closure-ends-inside-block",
        org(weekdays(), [MON_CLOSURE]),
        ny(2026, 6, 1, 10, 30),
        None,
        None,
        ny(2026, 6, 1, 12) + MS,
    ),
    (
        # docs/semantics.md §5.3: 48 h closure, no blocks → end of the range
        "closure-without-blocks-ends",
        org(closures=[closed(ny(2026, 6, 1, 8), ny(2026, 6, 3, 8))]),
        ny(2026, 6, 1, 9),
        None,
        None,
        ny(2026, 6, 3, 8) + MS,
    ),
    (
        "block-start-inside-chained-closures",
        org(
            weekdays(),
            [
                closed(ny(2026, 6, 8, 8), ny(2026, 6, 8, 10)),
                closed(ny(2026, 6, 8, 9, 30), ny(2026, 6, 8, 11)),
            ],
        ),
        ny(2026, 6, 6, 10),
        None,
        None,
        ny(2026, 6, 8, 11) + MS,
    ),
    (
        # `to` is the second 01:30 (EST, 06:30 UTC); adding 1 ms to its wall clock would give
        # 01:30:00.001 EDT, an hour *earlier*, so the addition must happen in UTC.
        "closure-ending-in-repeated-hour",
        org(closures=[closed(ny(2026, 11, 1), ny(2026, 11, 1, 1, 30, fold=1))]),
        utc(2026, 11, 1, 5),
        None,
        None,
        utc(2026, 11, 1, 6, 30) + MS,
    ),
    (
        "closure-ends-after-hours-waits-for-block",
        org(weekdays(), [closed(ny(2026, 6, 1, 8), ny(2026, 6, 1, 18))]),
        ny(2026, 6, 1, 9),
        None,
        None,
        ny(2026, 6, 2, 9),
    ),
    (
        "whole-day-closure-skips-to-tomorrow",
        org(weekdays(), [closed(ny(2026, 6, 1), ny(2026, 6, 1, 23, 59, 59, 999000))]),
        ny(2026, 6, 1, 9),
        None,
        None,
        ny(2026, 6, 2, 9),
    ),
    (
        "active-from-mid-window",
        org([block(MON, 540, 1020, from_=ny(2026, 6, 1, 12))]),
        ny(2026, 6, 1, 10),
        None,
        None,
        ny(2026, 6, 1, 12),
    ),
    (
        "active-from-next-week",
        org([block(MON, 540, 1020, from_=ny(2026, 6, 8))]),
        ny(2026, 6, 1, 10),
        None,
        None,
        ny(2026, 6, 8, 9),
    ),
    (
        "spring-forward-block-at-0230-opens-at-0300-edt",
        org([block(SUN, 150, 300)]),
        ny(2026, 3, 8),
        None,
        None,
        utc(2026, 3, 8, 7),
    ),
    (
        "spring-forward-skipped-block-opens-next-week",  # 02:00-02:59 never happens on the 8th
        org([block(SUN, 120, 179)]),
        ny(2026, 3, 8),
        None,
        None,
        utc(2026, 3, 15, 6),  # 02:00 EDT
    ),
    (
        "spring-forward-weekend-monday-in-edt",
        OFFICE,
        ny(2026, 3, 7, 12),
        None,
        None,
        utc(2026, 3, 9, 13),  # 09:00 EDT
    ),
    (
        "fall-back-first-occurrence",
        org([block(SUN, 90, 105)]),
        ny(2026, 11, 1),
        None,
        None,
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT
    ),
    (
        "fall-back-second-occurrence",
        org([block(SUN, 90, 105)]),
        utc(2026, 11, 1, 5, 50),  # 01:50 EDT, block over
        None,
        None,
        utc(2026, 11, 1, 6, 30),  # 01:30 EST
    ),
    (
        "fall-back-clock-returns-into-block",  # block 00:00-01:15; at 02:00 EDT clocks read 01:00
        org([block(SUN, 0, 75)]),
        utc(2026, 11, 1, 5, 20),
        None,
        None,
        utc(2026, 11, 1, 6),
    ),
    (
        "fall-back-weekend-monday-in-est",
        OFFICE,
        ny(2026, 10, 31, 12),
        None,
        None,
        utc(2026, 11, 2, 14),  # 09:00 EST
    ),
    (
        "block-ending-1440-continues-past-midnight",
        org([block(SAT, 1080, 1440), block(SUN, 0, 600)]),
        ny(2026, 6, 6, 17),
        None,
        None,
        ny(2026, 6, 6, 18),
    ),
    (
        "all-day-friday-from-saturday",
        org([block(FRI, 0, 1440)]),
        ny(2026, 6, 6),
        None,
        None,
        ny(2026, 6, 12),
    ),
    (
        "london-friday-evening-to-monday",
        org(weekdays(), tz="Europe/London"),
        utc(2026, 1, 9, 17, 30),
        None,
        None,
        utc(2026, 1, 12, 9),
    ),
    (
        "london-spring-forward-monday-in-bst",  # UK clocks change on 2026-03-29
        org(weekdays(), tz="Europe/London"),
        utc(2026, 3, 27, 18),
        None,
        None,
        utc(2026, 3, 30, 8),  # 09:00 BST
    ),
    (
        "sydney-friday-evening-to-monday",
        org(weekdays(), tz="Australia/Sydney"),
        utc(2026, 1, 9, 7),  # Fri 18:00 AEDT
        None,
        None,
        utc(2026, 1, 11, 22),  # Mon 09:00 AEDT
    ),
    (
        "sydney-dst-ends-over-weekend",  # Sydney leaves DST on 2026-04-05
        org(weekdays(), tz="Australia/Sydney"),
        utc(2026, 4, 3, 7),  # Fri 18:00 AEDT
        None,
        None,
        utc(2026, 4, 5, 23),  # Mon 09:00 AEST
    ),
    (
        "enduser-zone-los-angeles",
        OFFICE,
        utc(2026, 6, 1, 13, 30),  # 09:30 New York, 06:30 Los Angeles
        "America/Los_Angeles",
        None,
        utc(2026, 6, 1, 16),  # 09:00 PDT
    ),
    (
        "horizon-exhausted-returns-none",
        org(closures=[LONG_CLOSURE]),
        HORIZON_START,
        None,
        None,
        None,
    ),
    (
        "longer-horizon-finds-closure-end",
        org(closures=[LONG_CLOSURE]),
        HORIZON_START,
        None,
        timedelta(days=40),
        ny(2026, 7, 1) + MS,
    ),
    (
        "horizon-end-inclusive",
        org(closures=[closed(HORIZON_START, HORIZON_START + timedelta(days=14) - MS)]),
        HORIZON_START,
        None,
        None,
        HORIZON_START + timedelta(days=14),
    ),
    (
        "just-past-horizon-is-none",
        org(closures=[closed(HORIZON_START, HORIZON_START + timedelta(days=14))]),
        HORIZON_START,
        None,
        None,
        None,
    ),
    (
        "short-horizon-misses-monday",
        OFFICE,
        ny(2026, 6, 6, 10),
        None,
        timedelta(days=1),
        None,
    ),
    (
        "only-expired-blocks-never-open",
        org([block(MON, 540, 1020, to=utc(2021, 1, 1))]),
        ny(2026, 6, 1, 10),
        None,
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("organization", "at", "zone", "horizon", "expected"),
    [case[1:] for case in NEXT_OPEN_CASES],
    ids=[case[0] for case in NEXT_OPEN_CASES],
)
def test_next_open(
    organization: Organization,
    at: datetime,
    zone: str | None,
    horizon: timedelta | None,
    expected: datetime | None,
):
    kwargs = {"horizon": horizon} if horizon else {}
    result = next_open(at, organization, zone, **kwargs)
    if expected is None:
        assert result is None
    else:
        assert result is not None
        # Compare in UTC so a wrong offset cannot hide behind equal-looking wall times.
        assert result.astimezone(UTC) == expected.astimezone(UTC)


def test_next_open_returns_at_itself_when_open():
    at = ny(2026, 6, 1, 10, 17, 33, 123456)
    assert next_open(at, OFFICE) is at


def test_next_open_keeps_callers_zone():
    result = next_open(ny(2026, 6, 6, 10), OFFICE)
    assert result is not None
    assert result.tzinfo is NY
    assert (result.hour, result.minute, result.utcoffset()) == (9, 0, timedelta(hours=-4))


def test_next_open_refuses_naive_instant():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_open(datetime(2026, 6, 6, 10), OFFICE)


# Cross-check the analytic search against a brute-force scan: the answer must be open, the
# millisecond before it closed, and no whole minute between the start and the answer open.
SCAN_CASES = [
    ("weekdays-with-thanksgiving", org(weekdays(), [THANKSGIVING]), ny(2026, 11, 25, 17, 30)),
    (
        "spring-forward-sunday-block",
        org([block(SUN, 150, 300), block(MON, 60, 90)]),
        ny(2026, 3, 7),
    ),
    (
        "fall-back-sunday-blocks",
        org([block(SUN, 0, 75), block(SUN, 90, 105)]),
        utc(2026, 11, 1, 5, 16),
    ),
    (
        "closure-ending-at-fall-back",
        org([block(SUN, 0, 1440)], [closed(ny(2026, 11, 1), ny(2026, 11, 1, 1, 59, 59, 999000))]),
        ny(2026, 10, 31, 23),
    ),
    (
        "sydney-with-closure",
        org(
            weekdays(480, 720),
            [closed(utc(2026, 4, 5, 22), utc(2026, 4, 6, 1))],
            "Australia/Sydney",
        ),
        utc(2026, 4, 3, 3),
    ),
]


@pytest.mark.parametrize(
    ("organization", "start"), [c[1:] for c in SCAN_CASES], ids=[c[0] for c in SCAN_CASES]
)
def test_next_open_matches_minute_scan(organization: Organization, start: datetime):
    result = next_open(start, organization)
    assert result is not None and result > start
    # Step in UTC: `-`/`+` on a New York datetime would move its wall clock, not the instant.
    result = result.astimezone(UTC)
    assert is_open(result, organization)
    assert not is_open(result - MS, organization)
    probe = start.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    while probe < result:
        assert not is_open(probe, organization), probe.isoformat()
        probe += timedelta(minutes=1)


# --- zone_for_enduser ----------------------------------------------------------------------------

FALLBACK = "America/New_York"

ENDUSER_ZONE_CASES = [
    ("timezone-field-wins", {"timezone": "Europe/Paris", "state": "CA"}, "Europe/Paris"),
    ("timezone-field-trimmed", {"timezone": " America/Denver "}, "America/Denver"),
    (
        "invalid-timezone-falls-to-state",
        {"timezone": "Mars/Olympus", "state": "TX"},
        "America/Chicago",
    ),
    ("empty-timezone-falls-to-state", {"timezone": "", "state": "CA"}, "America/Los_Angeles"),
    ("non-string-timezone-ignored", {"timezone": 5, "state": "WA"}, "America/Los_Angeles"),
    ("machine-localtime-refused", {"timezone": "localtime"}, FALLBACK),
    ("path-like-timezone-refused", {"timezone": "../etc/passwd", "state": "AZ"}, "America/Phoenix"),
    ("state-code", {"state": "HI"}, "Pacific/Honolulu"),
    ("state-code-lower-case", {"state": "ny"}, "America/New_York"),
    ("state-name", {"state": "Colorado"}, "America/Denver"),
    ("state-name-odd-spacing-and-case", {"state": "  north   DAKOTA "}, "America/Chicago"),
    ("washington-state", {"state": "Washington"}, "America/Los_Angeles"),
    ("district-of-columbia", {"state": "District of Columbia"}, "America/New_York"),
    ("washington-dc-with-dots", {"state": "Washington D.C."}, "America/New_York"),
    ("dc-with-dots", {"state": "D.C."}, "America/New_York"),
    ("indiana", {"state": "IN"}, "America/Indiana/Indianapolis"),
    ("territory-puerto-rico", {"state": "PR"}, "America/Puerto_Rico"),
    ("territory-guam-by-name", {"state": "Guam"}, "Pacific/Guam"),
    ("unknown-state-code", {"state": "ZZ"}, FALLBACK),
    ("non-us-region", {"state": "Ontario"}, FALLBACK),
    ("no-fields", {}, FALLBACK),
    ("null-fields", {"timezone": None, "state": None}, FALLBACK),
]


@pytest.mark.parametrize(
    ("enduser", "expected"),
    [c[1:] for c in ENDUSER_ZONE_CASES],
    ids=[c[0] for c in ENDUSER_ZONE_CASES],
)
def test_zone_for_enduser(enduser: dict[str, Any], expected: str):
    assert zone_for_enduser(enduser, FALLBACK) == expected


def test_zone_for_enduser_uses_given_fallback():
    assert zone_for_enduser({"state": "nowhere"}, "Europe/London") == "Europe/London"


US_CODES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM"
    " NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR VI GU MP AS"
).split()


def test_state_table_covers_states_dc_and_territories():
    assert len(US_CODES) == 56
    assert set(US_CODES) <= set(STATE_ZONES)


@pytest.mark.parametrize("code", sorted(STATE_ZONES))
def test_state_zones_are_loadable(code: str):
    assert is_valid_zone(STATE_ZONES[code])


def test_every_state_name_maps_to_a_known_code():
    assert set(STATE_CODES_BY_NAME.values()) <= set(STATE_ZONES)
    assert set(STATE_ZONES) <= set(STATE_CODES_BY_NAME.values())
