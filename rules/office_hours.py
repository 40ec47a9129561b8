"""Office hours: is the organisation open at an instant, and when does it next open
(docs/semantics.md §5.3, docs/decisions.md D4).

A Temporal workflow defers `officeHoursOnly` actions with these functions, so they are pure and
deterministic: every instant is a parameter (never the wall clock), the only data source is the
`Organization` passed in, and time zones come from `zoneinfo`. `next_open` is analytic rather
than a minute-by-minute scan: the earliest open instant is always one of a few candidate instants
(end of a closure, start of a weekly block, start of a block's `active` range, a UTC-offset
change), so we test just those, in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.organization import OfficeHourBlock, Organization
from rules.dates import require_aware

DEFAULT_HORIZON = timedelta(days=14)  # docs/decisions.md D4: search at most 14 days ahead

# Closures are inclusive at both ends, so the organisation is still closed *at* `to`; the first
# open instant is "just after" it. Tellescope stores instants as epoch milliseconds and Temporal
# timers have millisecond resolution, so "just after" is `to + 1 ms`.
AFTER_CLOSURE = timedelta(milliseconds=1)

# How often `_offset_changes` samples a zone's UTC offset. Real zones change offset a few times a
# year at most and never twice within six hours, so no change can hide between two samples.
_OFFSET_SAMPLE = timedelta(hours=6)

# Names zoneinfo can load that are not real places: `localtime` (the machine's own zone, so not
# deterministic), `posixrules` (a template) and `Factory` (the "-00" placeholder).
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


def _sunday_zero(day: date) -> int:
    """Tellescope's weekday numbering (`dayOfWeekStartingSundayIndexedByZero`): Sunday 0 …
    Saturday 6. ISO numbers Monday 1 … Sunday 7, so Sunday's 7 wraps to 0."""
    return day.isoweekday() % 7


def _in_closure(at: datetime, org: Organization) -> bool:
    return any(block.from_ <= at <= block.to for block in org.outOfOfficeHours)


def _block_active(block: OfficeHourBlock, at: datetime) -> bool:
    # Deviation from Tellescope (docs/semantics.md §5.3 step 3): its code skips a block whose
    # `active` range excludes the *current wall clock*; we test the instant being asked about
    # instead. The wall clock is not available in a deterministic workflow, and `next_open` must
    # be able to ask about future instants (a block that becomes active next week opens next week).
    active = block.active
    if active is None:
        return True
    if active.from_ is not None and at < active.from_:
        return False
    return not (active.to is not None and at > active.to)


def is_open(at: datetime, org: Organization, zone: str | None = None) -> bool:
    """Whether the organisation is in office at `at` (docs/semantics.md §5.3's predicate, negated).

    1. Inside any out-of-office range (both ends inclusive) → closed; closures beat blocks.
    2. No weekly blocks configured → open (no configuration means always open). Blocks that are
       configured but all outside their `active` range do *not* count as "no blocks": closed.
    3. Otherwise, in `zone` (default the organisation's), open iff a block on that weekday whose
       `active` range contains `at` has `start <= m <= end`, m being the wall-clock minute of the
       day (0…1439, so `end = 1440` reaches midnight and 17:00:59 is inside a block ending at
       1020). On DST days m is the wall-clock reading, not minutes elapsed since midnight.
    """
    require_aware(at, "at")
    at = at.astimezone(UTC)
    if _in_closure(at, org):
        return False
    if not org.officeHours:
        return True
    local = at.astimezone(ZoneInfo(zone or org.timezone))
    weekday = _sunday_zero(local.date())
    minute = local.hour * 60 + local.minute
    return any(
        block.dayOfWeekStartingSundayIndexedByZero == weekday
        and block.startTimeInMinutes <= minute <= block.endTimeInMinutes
        and _block_active(block, at)
        for block in org.officeHours
    )


def _block_starts(
    blocks: Iterable[OfficeHourBlock], tz: ZoneInfo, start: datetime, end: datetime
) -> Iterator[datetime]:
    """Every instant whose local wall clock reads a block's start time on the block's weekday,
    for local dates around [start, end]. A repeated wall time (fall-back) yields both instants;
    a skipped one (spring-forward) yields two instants that are not really the start, which is
    harmless because every candidate is re-checked with `is_open` and the true opening (the
    offset change) is a candidate of its own."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    blocks = list(blocks)
    day = first
    while day <= last:
        weekday = _sunday_zero(day)
        for block in blocks:
            if block.dayOfWeekStartingSundayIndexedByZero != weekday:
                continue
            hour, minute = divmod(block.startTimeInMinutes, 60)
            if hour == 24:
                continue  # a block starting at 1440 can never match (m <= 1439)
            for fold in (0, 1):
                local = datetime.combine(day, time(hour, minute, fold=fold), tzinfo=tz)
                yield local.astimezone(UTC)
        day += timedelta(days=1)


def _offset(tz: ZoneInfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(tz).utcoffset()


def _offset_changes(tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """The instants from `start` to about `end` at which `tz` changes its UTC offset (DST).

    The local wall clock jumps there, possibly into a block (spring forward past a 02:30 start;
    fall back to 01:00 inside a block that ended at 01:15), so each is a candidate opening.
    Found by sampling the offset and bisecting to the second (tzdata transitions are on whole
    seconds)."""
    # Whole seconds from here on; dropping `start`'s fraction cannot skip a transition, which
    # lies on a whole second.
    sample = start.astimezone(UTC).replace(microsecond=0)
    end = end.astimezone(UTC)
    while sample < end:
        following = sample + _OFFSET_SAMPLE
        before = _offset(tz, sample)
        if _offset(tz, following) != before:
            # Smallest whole second s in (0, span] whose offset differs from `before`.
            low, high = 0, int((following - sample).total_seconds())
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(tz, sample + timedelta(seconds=middle)) == before:
                    low = middle
                else:
                    high = middle
            yield sample + timedelta(seconds=high)
        sample = following


def next_open(
    at: datetime,
    org: Organization,
    zone: str | None = None,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
) -> datetime | None:
    """The earliest instant >= `at` at which `is_open` holds (docs/decisions.md D4), or None
    when nothing opens within `at + horizon` (the caller then runs anyway, with a warning).

    Returns `at` itself when open. Otherwise the answer is one of these candidates, whichever is
    earliest and open: the end of a closure (`to + 1 ms`, see AFTER_CLOSURE), the local start of a
    weekly block, the start of a block's `active` range, or a UTC-offset change of the zone. This
    chains naturally: a block start that falls inside another closure is not open, so the search
    moves on to that closure's end, and so on. The result is expressed in `at`'s time zone.
    """
    require_aware(at, "at")
    if is_open(at, org, zone):
        return at
    tz = ZoneInfo(zone or org.timezone)
    start = at.astimezone(UTC)
    end = start + horizon

    # Arithmetic in UTC: `+` on a datetime with a ZoneInfo adds to the *wall clock*, which is
    # off by the DST jump when a closure ends next to a transition.
    candidates: set[datetime] = {
        block.to.astimezone(UTC) + AFTER_CLOSURE for block in org.outOfOfficeHours
    }
    candidates.update(
        block.active.from_
        for block in org.officeHours
        if block.active is not None and block.active.from_ is not None
    )
    candidates.update(_block_starts(org.officeHours, tz, start, end))
    candidates.update(_offset_changes(tz, start, end))

    # Normalise to UTC first: equality between aware datetimes in different zones has PEP 495
    # exceptions, and the set should hold each instant once.
    for candidate in sorted({c.astimezone(UTC) for c in candidates}):
        if start < candidate <= end and is_open(candidate, org, zone):
            return candidate.astimezone(at.tzinfo)
    return None


# --- Zone of an enduser (docs/decisions.md D4, `useEnduserTimezone`) ------------------------------

# USPS code → IANA zone. States spanning zones get the zone most of their residents live in:
# Idaho's south (Boise) is Mountain, Kentucky and Michigan are mostly Eastern, Tennessee, the
# Dakotas, Nebraska, Kansas and Texas mostly Central, Oregon mostly Pacific, Florida mostly Eastern.
# Includes DC, the five inhabited territories and the three freely associated states USPS codes.
STATE_ZONES: dict[str, str] = {
    "AL": "America/Chicago",
    "AK": "America/Anchorage",
    "AZ": "America/Phoenix",
    "AR": "America/Chicago",
    "CA": "America/Los_Angeles",
    "CO": "America/Denver",
    "CT": "America/New_York",
    "DE": "America/New_York",
    "DC": "America/New_York",
    "FL": "America/New_York",
    "GA": "America/New_York",
    "HI": "Pacific/Honolulu",
    "ID": "America/Boise",
    "IL": "America/Chicago",
    "IN": "America/Indiana/Indianapolis",
    "IA": "America/Chicago",
    "KS": "America/Chicago",
    "KY": "America/New_York",
    "LA": "America/Chicago",
    "ME": "America/New_York",
    "MD": "America/New_York",
    "MA": "America/New_York",
    "MI": "America/Detroit",
    "MN": "America/Chicago",
    "MS": "America/Chicago",
    "MO": "America/Chicago",
    "MT": "America/Denver",
    "NE": "America/Chicago",
    "NV": "America/Los_Angeles",
    "NH": "America/New_York",
    "NJ": "America/New_York",
    "NM": "America/Denver",
    "NY": "America/New_York",
    "NC": "America/New_York",
    "ND": "America/Chicago",
    "OH": "America/New_York",
    "OK": "America/Chicago",
    "OR": "America/Los_Angeles",
    "PA": "America/New_York",
    "RI": "America/New_York",
    "SC": "America/New_York",
    "SD": "America/Chicago",
    "TN": "America/Chicago",
    "TX": "America/Chicago",
    "UT": "America/Denver",
    "VT": "America/New_York",
    "VA": "America/New_York",
    "WA": "America/Los_Angeles",
    "WV": "America/New_York",
    "WI": "America/Chicago",
    "WY": "America/Denver",
    # Territories
    "PR": "America/Puerto_Rico",
    "VI": "America/St_Thomas",
    "GU": "Pacific/Guam",
    "MP": "Pacific/Saipan",
    "AS": "Pacific/Pago_Pago",
    # Freely associated states (they have USPS codes and appear in US address data)
    "FM": "Pacific/Pohnpei",
    "MH": "Pacific/Majuro",
    "PW": "Pacific/Palau",
}

# Full names (lower case, single spaces, no dots) → USPS code.
STATE_CODES_BY_NAME: dict[str, str] = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "district of columbia": "DC",
    "washington dc": "DC",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "new hampshire": "NH",
    "new jersey": "NJ",
    "new mexico": "NM",
    "new york": "NY",
    "north carolina": "NC",
    "north dakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhode island": "RI",
    "south carolina": "SC",
    "south dakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington": "WA",
    "west virginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
    "puerto rico": "PR",
    "us virgin islands": "VI",
    "united states virgin islands": "VI",
    "virgin islands": "VI",
    "guam": "GU",
    "northern mariana islands": "MP",
    "american samoa": "AS",
    "federated states of micronesia": "FM",
    "micronesia": "FM",
    "marshall islands": "MH",
    "palau": "PW",
}


def is_valid_zone(name: str) -> bool:
    """An IANA zone name zoneinfo can load (`America/New_York`, `UTC`); machine-specific or
    placeholder names (`localtime`, `posixrules`, `Factory`) are refused."""
    if not name or name in _NOT_PLACES:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_for_state(state: str) -> str | None:
    """IANA zone for a US state given as USPS code (`tx`, `TX`) or full name (`New York`,
    `District of Columbia`, `Washington D.C.`), else None."""
    text = " ".join(re.sub(r"[.,]", "", state).split())
    if len(text) == 2:
        return STATE_ZONES.get(text.upper())
    code = STATE_CODES_BY_NAME.get(text.casefold())
    return STATE_ZONES[code] if code else None


def zone_for_enduser(enduser: Mapping[str, Any], fallback_zone: str) -> str:
    """The zone to use with `useEnduserTimezone` (docs/decisions.md D4): the enduser's
    `timezone` when it is a valid IANA zone, else the predominant zone of their US `state`, else
    `fallback_zone` (the organisation's). Tellescope's `timezone_for_enduser` takes `timezone`
    unchecked; we skip an invalid one rather than fail, because a typo in a patient record must not
    stop a journey."""
    timezone = enduser.get("timezone")
    if isinstance(timezone, str) and is_valid_zone(timezone.strip()):
        return timezone.strip()
    state = enduser.get("state")
    if isinstance(state, str):
        zone = zone_for_state(state)
        if zone:
            return zone
    return fallback_zone
