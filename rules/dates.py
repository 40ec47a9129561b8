"""Reading the date strings Tellescope stores, deterministically and without I/O.

Tellescope keeps dates of birth and many custom fields as `MM-DD-YYYY` strings, timestamps as ISO
8601. Two readers exist because Tellescope itself has two: the condition evaluator treats *any*
10-character string containing "-" as MM-DD-YYYY (so `2024-01-15` is unreadable there, a quirk we
keep), while setters and date-relative delays accept ISO dates as well.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_MDY = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")


def parse_mdy(text: str) -> date | None:
    """`01-31-2024` -> date(2024, 1, 31); anything else (or an impossible date) -> None."""
    match = _MDY.match(text)
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_iso(text: str) -> datetime | None:
    """ISO 8601 with or without time; `Z` accepted; naive values are read as UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_condition_date(value: object) -> datetime | None:
    """A value as the enduser condition evaluator reads it (docs/semantics.md §10.1): a
    datetime as-is; a 10-character string with a dash as MM-DD-YYYY (UTC midnight); other
    strings as ISO."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    if len(value) == 10 and "-" in value:
        day = parse_mdy(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
    return parse_iso(value)


def parse_any_date(value: object) -> datetime | None:
    """A literal date as setters and date-relative delays accept it: ISO with or without time,
    `YYYY-MM-DD` or `MM-DD-YYYY` (date-only values are UTC midnight)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    mdy = parse_mdy(text)
    if mdy:
        return datetime(mdy.year, mdy.month, mdy.day, tzinfo=UTC)
    return parse_iso(text)
