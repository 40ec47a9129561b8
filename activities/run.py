"""What every action handler needs about the one action it performs: the request, the client, the
enduser (read once), the action's fixed clock, its idempotency keys and merge-field rendering."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models.runtime import ActionRequest
from rules.dates import epoch_ms as epoch_ms  # re-exported for the action handlers
from rules.dates import iso_ms as iso_ms
from rules.dates import parse_iso
from tellescope.client import Record, TellescopeClient
from tellescope.errors import cannot_perform
from tellescope.idempotency import action_key

# The enduser as Tellescope answered this attempt's own membership write, made just before the
# action in the same attempt (activities/join_first.py, docs/decisions.md D41): as current as a
# read, so the action's first read of that enduser takes it instead of a GET.
answered_enduser: ContextVar[Record | None] = ContextVar("answered_enduser", default=None)


def compact(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without its None values (Tellescope validates present keys; absent is absent)."""
    return {k: v for k, v in body.items() if v is not None}


@dataclass
class ActionRun:
    client: TellescopeClient
    request: ActionRequest
    _enduser: Record | None = field(default=None, repr=False)
    _just_read: bool = field(default=False, repr=False)  # _enduser came from this attempt

    def __post_init__(self) -> None:
        answered = answered_enduser.get()
        if answered is not None and answered.get("id") == self.request.enduserId:
            self._enduser, self._just_read = answered, True

    @property
    def info(self) -> Any:
        return self.request.action.info

    @property
    def action_type(self) -> str:
        return self.request.action.type

    @property
    def enduser_id(self) -> str:
        return self.request.enduserId

    @property
    def now(self) -> datetime:
        """The workflow's clock when the action ran: identical on every attempt, so values derived
        from it (timestamps, due dates) are too."""
        parsed = parse_iso(self.request.now)
        if parsed is None:
            raise cannot_perform(f"ActionRequest.now is not an ISO instant: {self.request.now!r}")
        return parsed

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.request.organizationTimezone)

    @property
    def created_since(self) -> datetime:
        """Lower bound for `createdAt` of records this action made (allows for clock skew)."""
        return self.now - timedelta(seconds=self.client.settings.lookup_skew_seconds)

    def key(self, part: str | None = None) -> str:
        return action_key(self.request.automatedActionId, part)

    def journey_context(self) -> dict[str, Any]:
        return self.request.journeyContext.model_dump(mode="json", exclude_none=True)

    async def enduser(self, *, refresh: bool = False) -> Record:
        """The enduser, read once; `refresh`: read again, unless it was answered by this
        attempt's membership write just now (`answered_enduser`)."""
        if self._enduser is None or (refresh and not self._just_read):
            self._enduser = await self.client.get("endusers", self.enduser_id)
        self._just_read = False
        return self._enduser

    def remember_enduser(self, enduser: Record) -> None:
        """Keep the enduser as an update returned it, so later steps of one action see it."""
        self._enduser = enduser

    async def render(self, text: str, *, user_id: str | None = None) -> str:
        """`text` with merge fields replaced by Tellescope (`POST /v1/templated-message`), with the
        journey context, so `{{form_response.*}}` and `{{calendar_event.*}}` resolve. Text without
        merge fields is returned as is, without a call."""
        if "{{" not in text:
            return text
        rendered = await self.client.templated_message(
            message=text,
            user_id=user_id or await self.client.automation_user_id(),
            enduser_id=self.enduser_id,
            journey_context=self.journey_context() or None,
        )
        return rendered.get("plaintext", text)
