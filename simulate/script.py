"""Simulation scripts: what happens to the simulated patient, and when.

    simulation:
      start: 2026-12-01T10:00:00-05:00     # optional; --start overrides
      until: day 14                        # optional; how long to run (default 60 days)
      failing:                             # optional; these steps fail when they run
        notify-lab-system: lab system answered 503
      decisions:                           # optional; what aiDecision steps decide
        triage: urgent                     # (default: the step's first outcome)
      events:
        - at: day 2 14:00                  # day 0 = the start day, organisation time zone
          form_submitted: send-intake      # the next form that step sent
        - at: +3d                          # or a duration after the start, or an ISO instant
          ticket_closed: {step: follow-up-call, reason: No answer}
        - at: day 4 09:30
          incoming_message: SMS
        - at: day 5 12:00
          trigger: labs-received           # a journey-scoped Move To Step trigger fires
        - at: day 6 08:00
          enduser: {tags: [vip]}           # the patient's record changes
        - at: day 7 10:00                  # a call / AI conversation ends (docs/handlers.md)
          outcome: {step: follow-up-call, outcome: Voicemail}
        - at: day 9 08:00
          remove: true

AI and telephony steps run as if a handler were configured when their type has one
(ACTION_HANDLERS, entry points) or the script gives them a decision or an outcome.

Errors name the file, line and field like the compiler's.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from compiler.errors import CompileError, CompileFailed
from compiler.pydantic_errors import translate
from compiler.yaml_source import dotted, load_yaml

_DAY = re.compile(r"^day\s+(\d+)(?:\s+(\d{1,2}):(\d{2}))?$", re.IGNORECASE)
_DURATION = re.compile(r"^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


class TicketClose(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: str
    reason: str | None = None


class FormSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: str
    form: int | None = Field(default=None, ge=0)  # which of the step's forms; default: the next


class StepOutcomeEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: str
    outcome: str = Field(min_length=1)


KINDS = (
    "form_submitted",
    "ticket_closed",
    "incoming_message",
    "trigger",
    "enduser",
    "remove",
    "outcome",
)


class ScriptEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: str
    form_submitted: FormSubmission | None = None
    ticket_closed: TicketClose | None = None
    incoming_message: str | None = None
    trigger: str | None = None
    enduser: dict[str, Any] | None = None
    remove: bool | None = None
    outcome: StepOutcomeEvent | None = None  # a call's / AI conversation's outcome arrives

    @field_validator("form_submitted", mode="before")
    @classmethod
    def _step_name(cls, value: Any) -> Any:
        return {"step": value} if isinstance(value, str) else value

    @field_validator("ticket_closed", mode="before")
    @classmethod
    def _ticket_step_name(cls, value: Any) -> Any:
        return {"step": value} if isinstance(value, str) else value

    @field_validator("at")
    @classmethod
    def _when(cls, value: str) -> str:
        parse_when(value, datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")), "UTC")  # syntax check
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> ScriptEvent:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"each event needs exactly one of {', '.join(KINDS)} (got {given or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: datetime | None = None
    until: str | None = None
    # step id -> error message: that step's action fails when it runs, as a Tellescope
    # rejection would (to see onError branches and continueOnError)
    failing: dict[str, str] = Field(default_factory=dict)
    # step id -> outcome: what that aiDecision step decides (docs/handlers.md)
    decisions: dict[str, str] = Field(default_factory=dict)
    events: list[ScriptEvent] = Field(default_factory=list)


def parse_when(text: str, start: datetime, zone: str) -> datetime:
    """`day N [HH:MM]` (local, day 0 = the start day), `+1d2h30m`, or an ISO instant."""
    text = str(text).strip()
    day = _DAY.match(text)
    if day:
        days, hour, minute = int(day.group(1)), day.group(2), day.group(3)
        local_start = start.astimezone(ZoneInfo(zone))
        date = local_start.date() + timedelta(days=days)
        clock = time(int(hour), int(minute)) if hour is not None else local_start.time()
        if hour is not None and (int(hour) > 23 or int(minute) > 59):
            raise ValueError(f'"{text}": no such time of day')
        return datetime.combine(date, clock, tzinfo=ZoneInfo(zone))
    duration = _DURATION.match(text)
    if duration and any(duration.groups()):
        d, h, m = (int(g or 0) for g in duration.groups())
        return start + timedelta(days=d, hours=h, minutes=m)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f'"{text}" is not a time: use "day 2 14:00", "+36h" or an ISO instant with offset'
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f'"{text}" needs a UTC offset')
    return moment


def load_script(path: Path) -> Script:
    doc = load_yaml(path)
    data = doc.data
    if not isinstance(data, dict) or "simulation" not in data:
        raise CompileFailed([doc.error([], "expected a top-level `simulation:` key")])
    try:
        return Script.model_validate(data["simulation"] or {})
    except ValidationError as error:
        raise CompileFailed(translate(doc, ["simulation"], error, lambda p: dotted(p))) from None


def empty_script() -> Script:
    return Script()


__all__ = ["CompileError", "Script", "ScriptEvent", "load_script", "parse_when"]
