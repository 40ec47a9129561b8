"""Organisation settings every journey is compiled with: time zone, office hours, closures.

Tellescope keeps office hours as `availability_blocks` with `entity = "organization"` and closures
as `organization.outOfOfficeHours` (docs/semantics.md §5.3); we keep both in one
`organization.yaml`, in the same field names, and compile them into each plan so a running
enrollment never needs I/O to schedule.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator, model_validator

from models.base import TellescopeModel, check_time_zone
from models.message_policy import MessagePolicy

# Tellescope's default (docs/semantics.md §5.3, docs/decisions.md D4)
DEFAULT_TIMEZONE = "America/New_York"
MINUTES_PER_DAY = 1440


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-11-26T00:00:00-05:00")
    return value


class DateRange(TellescopeModel):
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None

    _aware_from = field_validator("from_", "to")(lambda v: v if v is None else _aware(v))


class OfficeHourBlock(TellescopeModel):
    """One weekly opening window (Tellescope `WeeklyAvailability`), in the organisation's zone."""

    dayOfWeekStartingSundayIndexedByZero: int = Field(ge=0, le=6)
    startTimeInMinutes: int = Field(ge=0, le=MINUTES_PER_DAY)
    endTimeInMinutes: int = Field(ge=0, le=MINUTES_PER_DAY)
    active: DateRange | None = None

    @model_validator(mode="after")
    def _start_before_end(self) -> OfficeHourBlock:
        if self.startTimeInMinutes > self.endTimeInMinutes:
            raise ValueError(
                f"startTimeInMinutes ({self.startTimeInMinutes}) is after endTimeInMinutes"
                f" ({self.endTimeInMinutes})"
            )
        return self


class OutOfOfficeBlock(TellescopeModel):
    """A closure (holiday, training day): out of office from `from` to `to`, both inclusive."""

    from_: datetime = Field(alias="from")
    to: datetime
    autoreplyText: str = ""

    _aware = field_validator("from_", "to")(_aware)

    @model_validator(mode="after")
    def _from_before_to(self) -> OutOfOfficeBlock:
        if self.from_ > self.to:
            raise ValueError(f"from ({self.from_.isoformat()}) is after to ({self.to.isoformat()})")
        return self


class Organization(TellescopeModel):
    name: str = ""
    timezone: str = DEFAULT_TIMEZONE
    officeHours: list[OfficeHourBlock] = Field(default_factory=list)
    outOfOfficeHours: list[OutOfOfficeBlock] = Field(default_factory=list)
    # Quiet hours and frequency caps for every journey (docs/message-policy.md)
    messagePolicy: MessagePolicy | None = None

    _zone = field_validator("timezone")(check_time_zone)
