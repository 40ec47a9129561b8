"""The values `setEnduserFields` writes (docs/semantics.md §8.4), computed without I/O.

Everything takes the action's `now` as a parameter, so a retried action writes the same values.
`date_difference` follows Tellescope's shared utility (`calculate_date_difference_for_set_fields`
in packages/utilities): resolve each side ("$now", a truthy custom field, else a literal), parse it
as ISO (UTC when no offset) or MM-DD-YYYY, truncate both to the start of their UTC day, and take
the absolute difference in whole days; any failure gives "".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.dates import iso_ms, parse_iso, parse_mdy

NOW = "$now"

# Enduser properties a setter writes at the top level rather than into `fields`
# (docs/semantics.md §8.4: "if `name` is a built-in enduser field the top-level field is set").
# Tellescope itself refuses custom fields named like its core properties.
BUILT_IN_ENDUSER_FIELDS = frozenset(
    {
        "email",
        "phone",
        "landline",
        "fname",
        "mname",
        "lname",
        "suffix",
        "displayName",
        "dateOfBirth",
        "gender",
        "genderIdentity",
        "pronouns",
        "addressLineOne",
        "addressLineTwo",
        "city",
        "state",
        "zipCode",
        "zipPlusFour",
        "timezone",
        "language",
        "humanReadableId",
        "source",
        "note",
        "preference",
        "externalId",
        "defaultFromPhone",
        "defaultFromEmail",
        "healthieId",
        "salesforceId",
    }
)


def is_built_in(name: str) -> bool:
    return name in BUILT_IN_ENDUSER_FIELDS


def current_timestamp(now: datetime, increment_ms: float | None) -> str:
    """`now` (+ `increment` ms) as an ISO instant, as JavaScript writes it."""
    return iso_ms(now + timedelta(milliseconds=increment_ms or 0))


def current_date(now: datetime, increment_ms: float | None, zone: ZoneInfo) -> str:
    """The calendar date of `now` (+ `increment` ms) in the organisation's zone, `MM-DD-YYYY`
    (the format Tellescope uses for dates such as `dateOfBirth`)."""
    when = (now + timedelta(milliseconds=increment_ms or 0)).astimezone(zone)
    return when.strftime("%m-%d-%Y")


def _as_number(value: Any) -> float | int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return 0
        if math.isfinite(number):
            return int(number) if number.is_integer() else number
    return 0


def incremented(current: Any, increment: float | None) -> int | float:
    """`current + increment`: a missing or non-numeric value counts as 0, the increment
    defaults to 1; whole results stay integers."""
    step = 1 if increment is None else increment
    total = _as_number(current) + step
    return int(total) if isinstance(total, float) and total.is_integer() else total


def _js_string(value: Any) -> str:
    """`value.toString()` as JavaScript writes it for the values custom fields hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join(_js_string(v) for v in value)
    return str(value)


def _resolve(reference: str, fields: dict[str, Any]) -> str:
    if reference == NOW:
        return NOW
    value = fields.get(reference)
    if value:  # JavaScript truthiness: "", 0, false, null leave the reference a literal
        return _js_string(value)
    return reference


def _utc_day(text: str, now: datetime) -> datetime | None:
    if text == NOW:
        parsed: datetime | None = now
    else:
        # Luxon's fromISO wants a `T` between date and time; Python would also take a space.
        parsed = parse_iso(text) if text and text == text.strip() and " " not in text else None
        if parsed is None:
            day = parse_mdy(text)
            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    if parsed is None:
        return None
    utc = parsed.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


def date_difference(date1: str, date2: str, fields: dict[str, Any], now: datetime) -> int | str:
    """Whole days between the two dates (absolute, floored), or "" when either is unreadable."""
    first = _utc_day(_resolve(date1, fields), now)
    second = _utc_day(_resolve(date2, fields), now)
    if first is None or second is None:
        return ""
    return abs((second - first).days)
