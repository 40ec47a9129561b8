"""rules.dates: the converters between aware datetimes and the edges' epoch ms and ISO strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from rules.dates import (
    as_aware,
    epoch_ms,
    from_epoch_ms,
    iso_ms,
    iso_utc,
    parse_iso,
    require_aware,
)

PARIS_SUMMER = timezone(timedelta(hours=2))


def test_epoch_ms_is_exact_and_drops_sub_milliseconds_like_javascript():
    moment = datetime(2026, 3, 1, 12, 0, 0, 123_999, tzinfo=UTC)
    assert epoch_ms(moment) == 1_772_366_400_123
    assert epoch_ms(moment.astimezone(PARIS_SUMMER)) == 1_772_366_400_123
    assert epoch_ms(datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=UTC)) == -1
    for ms in (1_700_000_000_123, 1_700_000_000_001, 1_234_567_890_999):
        assert epoch_ms(from_epoch_ms(ms)) == ms


def test_from_epoch_ms_is_aware_utc():
    assert from_epoch_ms(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert from_epoch_ms(1_772_366_400_123).tzinfo is UTC
    assert from_epoch_ms(1.5) == datetime(1970, 1, 1, 0, 0, 0, 1500, tzinfo=UTC)
    with pytest.raises(OverflowError):
        from_epoch_ms(1e30)


def test_iso_ms_writes_what_date_to_iso_string_writes():
    moment = datetime(2026, 3, 1, 14, 0, 0, 123_999, tzinfo=PARIS_SUMMER)
    assert iso_ms(moment) == "2026-03-01T12:00:00.123Z"
    assert iso_ms(datetime(2026, 3, 1)) == "2026-03-01T00:00:00.000Z"  # naive: UTC
    assert parse_iso(iso_ms(moment)) == datetime(2026, 3, 1, 12, 0, 0, 123_000, tzinfo=UTC)


def test_iso_utc_keeps_microseconds_and_the_offset():
    moment = datetime(2026, 3, 1, 14, 0, 0, 123_999, tzinfo=PARIS_SUMMER)
    assert iso_utc(moment) == "2026-03-01T12:00:00.123999+00:00"
    assert parse_iso(iso_utc(moment)) == moment


def test_aware_helpers():
    naive = datetime(2026, 3, 1, 12)
    assert as_aware(naive) == datetime(2026, 3, 1, 12, tzinfo=UTC)
    aware = naive.replace(tzinfo=PARIS_SUMMER)
    assert as_aware(aware) is aware
    require_aware(aware, "at")
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        require_aware(naive, "at")
