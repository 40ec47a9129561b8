"""Shared base for models that mirror Tellescope's JSON.

Field names are Tellescope's own (camelCase), so a record fetched from Tellescope's API validates
as-is and `model_dump(exclude_unset=True)` gives the same JSON back. Unknown fields are refused:
in hand-written YAML they are nearly always typos, and the compiler turns them into a precise error.
"""

from __future__ import annotations

import difflib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

# A compound filter in Tellescope's condition language (docs/semantics.md §10): `{"$and": [...]}`,
# `{"$or": [...]}`, `{"condition": {KEY: OPERAND}}`. Kept as plain JSON because key order carries
# meaning (the first key decides) and the evaluator in `rules.conditions` reads it directly.
CompoundFilter = dict[str, Any]


def _given_fields(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True, by_alias=True)


# Annotate a field holding compiled Tellescope models (a plan, a step's action) with this to send
# it to Temporal as the fields given in the YAML only (`Annotated[JourneyPlan, GivenFieldsInJson]`),
# not a `null` for each of the many optional fields Tellescope's models have: the form the plan's
# version hashes and the plan store keeps, so it reads back equal. Most of a history's bytes were
# those nulls (docs/decisions.md D39). Python-mode dumps are unchanged.
GivenFieldsInJson = PlainSerializer(_given_fields, when_used="json")


class TellescopeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """Tellescope-shaped JSON: only the fields that were given, in Tellescope's names."""
        return _given_fields(self)


class OmitNoneInJson(BaseModel):
    """JSON without the fields that are None. For models whose every None field defaults to None
    (so the JSON reads back equal) and that Temporal shows as workflow input: the UI then lists
    the one or two context ids given instead of twenty `null`s. Python-mode dumps (the workflow's
    own state, the ledger) keep every field."""

    @model_serializer(mode="wrap")
    def _omit_none(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if info.mode_is_json() and isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class TellescopeRecord(TellescopeModel):
    """A stored Tellescope record: carries the read-only fields every record has
    (Tellescope's API docs, "Common fields"), so records fetched from Tellescope load unchanged."""

    id: str | None = None
    businessId: str | None = None
    creator: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None
    organizationIds: list[str] | None = None
    sharedWithOrganizations: list[list[str]] | None = None


def check_time_zone(name: str) -> str:
    """Validate an IANA zone name (`America/New_York`), suggesting the closest known one."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        guess = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
        hint = f'did you mean "{guess[0]}"?' if guess else "expected an IANA name"
        raise ValueError(f'unknown time zone "{name}" ({hint})') from None
    return name
