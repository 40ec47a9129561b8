"""Times, deterministically and without I/O: the one module that converts them.

Inside the engine an instant is an aware `datetime`. Epoch milliseconds and ISO strings exist
only at the edges: Tellescope (`...InMS` fields, `toISOString()` timestamps, webhook timestamps),
the ledger (`process_after` ms) and the JSON payloads workflows exchange (ISO strings); they are
converted here, on the way in and on the way out.

Tellescope keeps dates of birth and many custom fields as `MM-DD-YYYY` strings, timestamps as ISO
8601. Two readers exist because Tellescope itself has two: the condition evaluator treats *any*
10-character string containing "-" as MM-DD-YYYY (so `2024-01-15` is unreadable there, a quirk we
keep), while setters and date-relative delays accept ISO dates as well.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)

# --- aware datetimes ------------------------------------------------------------------------------


def require_aware(value: datetime, name: str) -> None:
    """Raise ValueError unless `value` carries a UTC offset (rules never guess a zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")


def as_aware(value: datetime) -> datetime:
    """`value` with a zone: a naive one is read as UTC (Tellescope's servers run in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- epoch milliseconds ---------------------------------------------------------------------------


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, as JavaScript's `Date.getTime()`: exact, sub-millisecond
    digits dropped (floor). A naive `moment` is read as UTC."""
    return (as_aware(moment) - EPOCH) // _ONE_MS


def from_epoch_ms(ms: float) -> datetime:
    """An aware UTC datetime from epoch milliseconds (exact; OverflowError out of range)."""
    return EPOCH + timedelta(milliseconds=ms)


# --- ISO 8601 strings -----------------------------------------------------------------------------


def iso_ms(moment: datetime) -> str:
    """An instant as JavaScript's `Date.toISOString()` writes it (Tellescope's timestamps): UTC,
    milliseconds, `Z`. A naive `moment` is read as UTC."""
    utc = as_aware(moment).astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_utc(moment: datetime) -> str:
    """An instant as Python writes it in UTC (`...T10:00:00.123456+00:00`): the form the engine's
    own payloads carry (`workflow.now().isoformat()`)."""
    return as_aware(moment).astimezone(UTC).isoformat()


_MDY = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")


# --- reading Tellescope's date strings -----------------------------------------------------------


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
    return as_aware(parsed)


def parse_condition_date(value: object) -> datetime | None:
    """A value as the enduser condition evaluator reads it (docs/semantics.md §10.1): a
    datetime as-is; a 10-character string with a dash as MM-DD-YYYY (UTC midnight); other
    strings as ISO."""
    if isinstance(value, datetime):
        return as_aware(value)
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
        return as_aware(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    mdy = parse_mdy(text)
    if mdy:
        return datetime(mdy.year, mdy.month, mdy.day, tzinfo=UTC)
    return parse_iso(text)
