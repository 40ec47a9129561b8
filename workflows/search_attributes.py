"""Custom search attributes of enrollments: opaque ids and dates only, never PHI (they are stored
unencrypted in Temporal's visibility store)."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

JOURNEY_ID = SearchAttributeKey.for_keyword("JourneyId")
JOURNEY_VERSION = SearchAttributeKey.for_keyword("JourneyVersion")
ENDUSER_ID = SearchAttributeKey.for_keyword("EnduserId")
JOURNEY_STATE = SearchAttributeKey.for_keyword("JourneyState")
NEXT_ACTION_AT = SearchAttributeKey.for_datetime("NextActionAt")
# Step ids (from the YAML, never PHI): where the enrollment waits now, and which steps failed.
WAITING_AT = SearchAttributeKey.for_keyword_list("JourneyWaitingAt")
FAILED_STEPS = SearchAttributeKey.for_keyword_list("JourneyFailedSteps")
# "paused" while the enrollment is paused (docs/decisions.md D28); unset otherwise.
# JourneyState is the journey state a step sets (setEnduserStatus), so pausing has its own.
ENROLLMENT_STATUS = SearchAttributeKey.for_keyword("EnrollmentStatus")

ALL = (
    JOURNEY_ID,
    JOURNEY_VERSION,
    ENDUSER_ID,
    JOURNEY_STATE,
    NEXT_ACTION_AT,
    WAITING_AT,
    FAILED_STEPS,
    ENROLLMENT_STATUS,
)


def cli_type(key: SearchAttributeKey[Any]) -> str:
    """The type name the Temporal CLI takes (`temporal operator search-attribute create`)."""
    return {"KEYWORD_LIST": "KeywordList"}.get(
        key.indexed_value_type.name, key.indexed_value_type.name.title()
    )
