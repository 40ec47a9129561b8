"""The enduser condition language, one table row per rule and per quirk of
docs/semantics.md §10 / §10.1.

Row ids name the rule and its section of docs/semantics.md (`10.1.2` = docs/semantics.md §10.1, rule
2); every rule has rows that must be true and rows that must be false, so a broken rule cannot pass
by returning a constant.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rules.conditions import (
    UNDEFINED,
    age_in_years,
    enduser_value,
    inverse_relationship_type,
    js_parse_int,
    js_strict_equals,
    js_to_string,
    js_truthy,
    matches,
)

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# ObjectId whose first 4 bytes are 0x6553f100 = 1700000000 s = 2023-11-14T22:13:20Z.
OBJECT_ID = "6553f1000000000000000001"

ENDUSER: dict[str, Any] = {
    "id": OBJECT_ID,
    "fname": "Ada",
    "lname": "Lovelace",
    "state": "CA",
    "dateOfBirth": "06-15-1990",  # 35 today (birthday on NOW's date)
    "tags": ["vip", "diabetes"],
    "assignedTo": ["user-1"],
    "healthScore": 9,  # a numeric *built-in* (top-level) property
    "insurance": {"payerName": "Aetna", "memberId": "M-1", "relationshipDetails": {"fname": "Bob"}},
    "insuranceSecondary": {"memberId": "S-2"},
    "height": {"value": 70, "unit": "in"},
    "weight": {"value": "175", "unit": "lbs"},  # BMI = 703 * 175 / 70^2 = 25.1
    "journeys": {"journey-a": "", "journey-b": "Active"},
    "relationships": [{"type": "Child", "id": "enduser-2"}],
    "source": "Healthie",
    "externalId": "h-123",
    "fields": {
        "Score": 7,
        "ScoreText": "7",
        "Zero": 0,
        "Checked": True,
        "Plan": "Gold",
        "Colors": ["red", "green"],
        "Empty": "",
        "EmptyList": [],
        "EmptyObject": {},
        "Nothing": None,
        "VisitDate": "01-15-2025",  # MM-DD-YYYY
        "IsoVisitDate": "2025-01-15",  # 10 chars with "-": read as MM-DD-YYYY, hence invalid
        "VisitAt": "2025-06-01T09:00:00Z",
    },
}


def enduser_with(**changes: Any) -> dict[str, Any]:
    """ENDUSER with top-level keys replaced (a value of UNDEFINED deletes the key)."""
    record = copy.deepcopy(ENDUSER)
    for key, value in changes.items():
        if value is UNDEFINED:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def with_fields(**fields: Any) -> dict[str, Any]:
    return enduser_with(fields={**ENDUSER["fields"], **fields})


def leaf(key: str, operand: Any) -> dict[str, Any]:
    return {"condition": {key: operand}}


TRUE = leaf("fname", "Ada")
FALSE = leaf("fname", "Bob")


def row(condition: Any, expected: bool, rule: str, enduser: dict[str, Any] | None = None):
    return pytest.param(enduser or ENDUSER, condition, expected, id=rule)


COMPOUND_FILTER = [
    row({"$and": [TRUE, TRUE]}, True, "10-and-all-true"),
    row({"$and": [TRUE, FALSE]}, False, "10-and-one-false"),
    row({"$and": []}, True, "10-and-empty-is-true"),
    row({"$or": [FALSE, TRUE]}, True, "10-or-one-true"),
    row({"$or": [FALSE, FALSE]}, False, "10-or-all-false"),
    row({"$or": []}, False, "10-or-empty-is-false"),
    row({}, True, "10-empty-object-is-true"),
    row({"$not": FALSE}, True, "10-unknown-key-is-true"),
    row({"$or": [], "$and": []}, False, "10-first-key-only-or-first"),
    row({"$and": [], "$or": []}, True, "10-first-key-only-and-first"),
    row({"condition": {"fname": "Ada", "lname": "Nope"}}, True, "10-condition-first-key-only-true"),
    row(
        {"condition": {"lname": "Nope", "fname": "Ada"}}, False, "10-condition-first-key-only-false"
    ),
    row({"condition": {}}, False, "10-empty-condition-is-false-for-endusers"),
    row({"$and": [{"$or": [FALSE, TRUE]}, {"$and": [TRUE]}]}, True, "10-nested-true"),
    row({"$and": [{"$or": [FALSE]}, TRUE]}, False, "10-nested-false"),
    row(None, True, "10-no-condition-is-true"),
]

VALUE_LOOKUP = [
    row(leaf("state", "NY"), True, "10.1-V-custom-field-shadows-builtin", with_fields(state="NY")),
    row(leaf("state", "CA"), False, "10.1-V-shadowed-builtin-unseen", with_fields(state="NY")),
    row(leaf("state", "CA"), True, "10.1-V-null-field-falls-to-builtin", with_fields(state=None)),
    row(leaf("insurance.payerName", "Aetna"), True, "10.1-V-insurance-payerName"),
    row(leaf("insurance.payerName", "Cigna"), False, "10.1-V-insurance-payerName-other"),
    row(
        leaf("insurance.payerName", "Aetna"),
        False,
        "10.1-V-insurance-missing",
        enduser_with(insurance=UNDEFINED),
    ),
    row(leaf("insuranceSecondary.memberId", "S-2"), True, "10.1-V-insuranceSecondary-memberId"),
    row(leaf("insuranceSecondary.memberId", "M-1"), False, "10.1-V-insuranceSecondary-not-primary"),
    row(
        leaf("insurance.relationshipDetails", '{"fname":"Bob"}'),
        True,
        "10.1-V-relationshipDetails-is-compact-json",
    ),
    row(
        leaf("insurance.relationshipDetails", '{"fname": "Bob"}'),
        False,
        "10.1-V-relationshipDetails-json-has-no-spaces",
    ),
    row(
        leaf("insuranceSecondary.relationshipDetails", "{}"),
        True,
        "10.1-V-relationshipDetails-missing-is-empty-json",
    ),
    row(leaf("insurance.cardFront", "x"), False, "10.1-V-insurance-unlisted-subfield-is-unset"),
    row(leaf("height.value", "70"), True, "10.1-V-height-value-int-parse-equality"),
    row(leaf("height.unit", "in"), True, "10.1-V-height-unit"),
    row(leaf("weight.value", "175"), True, "10.1-V-weight-value"),
    row(leaf("weight.unit", "kg"), False, "10.1-V-weight-unit-other"),
    row(leaf("createdAt", "2023-11-14T22:13:20.000Z"), True, "10.1-V-createdAt-from-object-id"),
    row(
        leaf("createdAt", "2020-01-01T00:00:00.000Z"),
        False,
        "10.1-V-createdAt-from-id-beats-field",
        enduser_with(createdAt="2020-01-01T00:00:00.000Z"),
    ),
    row(
        leaf("createdAt", "2020-01-01T00:00:00.000Z"),
        True,
        "10.1-V-createdAt-field-when-id-not-object-id",
        enduser_with(id="enduser-1", createdAt="2020-01-01T00:00:00.000Z"),
    ),
    row(
        leaf("createdAt", {"$before": "2024-01-01T00:00:00Z"}),
        True,
        "10.1-V-createdAt-as-date",
    ),
    row(leaf("id", OBJECT_ID), True, "10.1-V-id"),
    row(leaf("id", "other"), False, "10.1-V-id-other"),
    row(leaf("Healthie ID", "h-123"), True, "10.1-V-healthie-id-from-source"),
    row(
        leaf("Healthie ID", "h-9"),
        True,
        "10.1-V-healthie-id-from-references",
        enduser_with(source="Canvas", references=[{"type": "Healthie", "id": "h-9"}]),
    ),
    row(
        leaf("Healthie ID", "h-123"),
        False,
        "10.1-V-healthie-id-needs-healthie-source",
        enduser_with(source="Canvas"),
    ),
    row(leaf("lname", "Lovelace"), True, "10.1-V-top-level-property"),
]

AGE = [
    row(leaf("Age", {"$gt": "34"}), True, "10.1.1-age-gt-birthday-today-counts"),
    row(leaf("Age", {"$gt": 35}), False, "10.1.1-age-gt-false"),
    row(leaf("Age", {"$lt": 36}), True, "10.1.1-age-lt-true"),
    row(leaf("Age", {"$lt": "35"}), False, "10.1.1-age-lt-false"),
    row(leaf("Age", {"$gt": 100, "$lt": 36}), True, "10.1.1-age-lt-wins-over-gt-true"),
    row(leaf("Age", {"$gt": 10, "$lt": 30}), False, "10.1.1-age-lt-wins-over-gt-false"),
    row(leaf("Age", {"$gte": 10}), False, "10.1.1-age-neither-lt-nor-gt"),
    row(leaf("Age", {"$lt": "36 years"}), True, "10.1.1-age-operand-int-parsed"),
    row(leaf("Age", {"$lt": "abc"}), False, "10.1.1-age-operand-nan"),
    row(
        leaf("Age", {"$gt": 34}),
        False,
        "10.1.1-age-birthday-tomorrow-not-yet",
        enduser_with(dateOfBirth="06-16-1990"),
    ),
    row(
        leaf("Age", {"$lt": 35}),
        True,
        "10.1.1-age-birthday-tomorrow-lt",
        enduser_with(dateOfBirth="06-16-1990"),
    ),
    row(leaf("Age", {"$lt": 200}), False, "10.1.1-age-no-dob", enduser_with(dateOfBirth=UNDEFINED)),
    row(
        leaf("Age", {"$lt": 200}), False, "10.1.1-age-unreadable-dob", enduser_with(dateOfBirth="x")
    ),
    row(leaf("Age", "35"), False, "10.1.1-age-string-operand-is-plain-equality"),
    row(leaf("Age", "35"), True, "10.1.1-age-string-operand-reads-field", with_fields(Age=35)),
]

BMI = [
    row(leaf("BMI", {"$gt": 25}), True, "10.1.3-bmi-gt-true"),
    row(leaf("BMI", {"$gt": 26}), False, "10.1.3-bmi-gt-false"),
    row(leaf("BMI", {"$lt": "26"}), True, "10.1.3-bmi-lt-true"),
    row(leaf("BMI", {"$lt": 25}), False, "10.1.3-bmi-lt-false"),
    row(
        leaf("BMI", {"$gt": 25}),
        True,
        "10.1.3-bmi-height-int-parsed",
        enduser_with(height={"value": "70.9", "unit": "in"}),
    ),
    row(leaf("BMI", {"$gt": 1}), False, "10.1.3-bmi-no-weight", enduser_with(weight=UNDEFINED)),
    row(
        leaf("BMI", {"$gt": 1}),
        False,
        "10.1.3-bmi-unreadable-height",
        enduser_with(height={"value": "tall"}),
    ),
    row(leaf("BMI", {"$gte": 1}), False, "10.1.3-bmi-neither-lt-nor-gt"),
]

RELATIONSHIPS = [
    row(leaf("relationships", "Parent"), True, "10.1.4-relationship-inverse-parent-child"),
    row(leaf("relationships", "Child"), False, "10.1.4-relationship-same-type-does-not-match"),
    row(
        leaf("relationships", "Caregiver"),
        True,
        "10.1.4-relationship-inverse-caregiver",
        enduser_with(relationships=[{"type": "Care Recipient", "id": "e"}]),
    ),
    row(
        leaf("relationships", "Friend"),
        True,
        "10.1.4-relationship-unknown-type-inverse-is-relates-to",
        enduser_with(relationships=[{"type": "Relates To", "id": "e"}]),
    ),
    row(
        leaf("relationships", "Parent"),
        False,
        "10.1.4-relationship-none",
        enduser_with(relationships=UNDEFINED),
    ),
    row(leaf("relationships", {"$isSet": True}), True, "10.1.4-relationship-object-is-generic"),
]

CUSTOM_TYPE = [
    row(leaf("customTypeId", ""), True, "10.1.5-customType-default-matches-missing"),
    row(
        leaf("customTypeId", ""),
        True,
        "10.1.5-customType-default-matches-null",
        enduser_with(customTypeId=None),
    ),
    row(leaf("customTypeId", "type-a"), False, "10.1.5-customType-id-vs-default"),
    row(
        leaf("customTypeId", "type-a"),
        True,
        "10.1.5-customType-equal",
        enduser_with(customTypeId="type-a"),
    ),
    row(
        leaf("customTypeId", ""),
        False,
        "10.1.5-customType-default-vs-id",
        enduser_with(customTypeId="type-a"),
    ),
    row(
        leaf("customTypeId", {"$ne": ""}),
        True,
        "10.1.5-customType-ne-default-true",
        enduser_with(customTypeId="type-a"),
    ),
    row(leaf("customTypeId", {"$ne": None}), False, "10.1.5-customType-ne-default-false"),
    row(
        leaf("customTypeId", {"$ne": "type-a"}),
        True,
        "10.1.5-customType-ne-id-true",
        enduser_with(customTypeId="type-b"),
    ),
    row(
        leaf("customTypeId", {"$ne": "type-a"}),
        False,
        "10.1.5-customType-ne-id-false",
        enduser_with(customTypeId="type-a"),
    ),
    row(leaf("customTypeId", None), True, "10.1.5-customType-null-operand-is-default"),
    row(
        leaf("customTypeId", None),
        False,
        "10.1.5-customType-null-operand-vs-id",
        enduser_with(customTypeId="type-a"),
    ),
    row(
        leaf("customTypeId", {"$in": ["type-a"]}),
        False,
        "10.1.5-customType-other-operator-false",
        enduser_with(customTypeId="type-a"),
    ),
    row(leaf("customTypeId", 0), False, "10.1.5-customType-number-operand-false"),
]

JOURNEYS = [
    row(leaf("Journeys", {"$in": "journey-a"}), True, "10.1.6-journeys-in-empty-state-counts"),
    row(leaf("Journeys", {"$in": "journey-x"}), False, "10.1.6-journeys-in-false"),
    row(leaf("Journeys", {"$nin": "journey-x"}), True, "10.1.6-journeys-nin-true"),
    row(leaf("Journeys", {"$nin": "journey-b"}), False, "10.1.6-journeys-nin-false"),
    row(leaf("state", {"$in": ["CA"]}), False, "10.1.6-in-outside-journeys-is-false"),
]

LT_GT = [
    row(leaf("Score", {"$gt": 5}), True, "10.1.6-gt-number-field"),
    row(leaf("Score", {"$gt": 7}), False, "10.1.6-gt-strict"),
    row(leaf("Score", {"$lt": "10"}), True, "10.1.6-lt-numeric-string-operand"),
    row(leaf("Score", {"$lt": "abc"}), False, "10.1.6-lt-nan-operand"),
    row(leaf("Score", {"$gt": 6.5}), True, "10.1.6-gt-number-operand-not-truncated"),
    row(leaf("Score", {"$gt": "6.9"}), True, "10.1.6-gt-string-operand-int-parsed-true"),
    row(leaf("Score", {"$lt": "7.9"}), False, "10.1.6-lt-string-operand-int-parsed-false"),
    row(leaf("ScoreText", {"$gt": 1}), False, "10.1.6-gt-string-field-not-coerced"),
    row(leaf("Checked", {"$gt": 0}), False, "10.1.6-gt-boolean-field-not-a-number"),
    row(leaf("healthScore", {"$gt": 1}), False, "10.1.6-gt-builtin-number-not-read"),
    row(leaf("Missing", {"$lt": 1}), False, "10.1.6-lt-missing-field"),
]

CONTAINS = [
    row(leaf("tags", {"$contains": "vi"}), True, "10.1.6-contains-array-element-substring"),
    row(leaf("tags", {"$contains": "VIP"}), False, "10.1.6-contains-case-sensitive"),
    row(leaf("fname", {"$contains": "Ad"}), True, "10.1.6-contains-string-substring"),
    row(leaf("fname", {"$contains": "x"}), False, "10.1.6-contains-string-false"),
    row(leaf("fname", {"$doesNotContain": "x"}), True, "10.1.6-doesNotContain-true"),
    row(leaf("fname", {"$doesNotContain": "Ad"}), False, "10.1.6-doesNotContain-false"),
    row(leaf("Score", {"$contains": 7}), True, "10.1.6-contains-other-type-strict-equality"),
    row(leaf("Score", {"$contains": "7"}), False, "10.1.6-contains-other-type-no-coercion"),
    row(leaf("Missing", {"$contains": "x"}), False, "10.1.6-contains-missing"),
    row(leaf("Missing", {"$doesNotContain": "x"}), True, "10.1.6-doesNotContain-missing"),
]

IS_SET = [
    row(leaf("fname", {"$isSet": True}), True, "10.1.6-isSet-string"),
    row(leaf("Empty", {"$isSet": True}), False, "10.1.6-isSet-empty-string"),
    row(leaf("EmptyList", {"$isSet": True}), False, "10.1.6-isSet-empty-array"),
    row(leaf("tags", {"$isSet": True}), True, "10.1.6-isSet-array"),
    row(leaf("Zero", {"$isSet": True}), False, "10.1.6-isSet-zero-is-falsy"),
    row(leaf("EmptyObject", {"$isSet": True}), True, "10.1.6-isSet-empty-object-is-truthy-in-js"),
    row(leaf("Missing", {"$isNotSet": True}), True, "10.1.6-isNotSet-missing"),
    row(leaf("Nothing", {"$isNotSet": True}), True, "10.1.6-isNotSet-null"),
    row(leaf("fname", {"$isNotSet": True}), False, "10.1.6-isNotSet-set"),
]

NOT_EQUAL = [
    row(leaf("fname", {"$ne": "Bob"}), True, "10.1.6-ne-different"),
    row(leaf("fname", {"$ne": "Ada"}), False, "10.1.6-ne-equal"),
    row(leaf("tags", {"$ne": "vip"}), False, "10.1.6-ne-array-contains"),
    row(leaf("tags", {"$ne": "gold"}), True, "10.1.6-ne-array-lacks"),
    row(leaf("Score", {"$ne": "7"}), True, "10.1.6-ne-no-numeric-coercion"),
    row(leaf("Score", {"$ne": 7}), False, "10.1.6-ne-number-equal"),
]

DATES = [
    row(leaf("VisitDate", {"$before": "2025-02-01T00:00:00Z"}), True, "10.1.6-before-mmddyyyy"),
    row(leaf("VisitDate", {"$after": "2025-02-01T00:00:00Z"}), False, "10.1.6-after-mmddyyyy"),
    row(leaf("VisitDate", {"$after": "01-14-2025"}), True, "10.1.6-after-mmddyyyy-bound"),
    row(
        leaf("IsoVisitDate", {"$before": "2030-01-01T00:00:00Z"}),
        False,
        "10.1.6-before-10-char-iso-is-read-as-mmddyyyy-invalid",
    ),
    row(
        leaf("IsoVisitDate", {"$after": "2000-01-01T00:00:00Z"}),
        False,
        "10.1.6-after-10-char-iso-is-read-as-mmddyyyy-invalid",
    ),
    row(leaf("VisitAt", {"$before": "$now"}), True, "10.1.6-before-now"),
    row(leaf("VisitAt", {"$after": "$now"}), False, "10.1.6-after-now"),
    row(
        leaf("VisitAt", {"$offsetMs": -7 * DAY_MS, "$before": "$now"}),
        True,
        "10.1.6-offset-first-key-still-applies-true",
    ),
    row(
        leaf("VisitAt", {"$offsetMs": -30 * DAY_MS, "$before": "$now"}),
        False,
        "10.1.6-offset-applies-false",
    ),
    row(
        leaf("VisitAt", {"$before": "$now", "$offsetMs": str(-30 * DAY_MS)}),
        True,
        "10.1.6-offset-non-number-ignored",
    ),
    row(
        leaf("VisitAt", {"$before": "2025-06-01T09:00:00Z"}),
        False,
        "10.1.6-before-strict",
    ),
    row(leaf("VisitAt", {"$after": "2025-06-01T09:00:00Z"}), False, "10.1.6-after-strict"),
    row(leaf("VisitAt", {"$after": 0}), True, "10.1.6-after-epoch-ms-number-bound"),
    row(leaf("VisitAt", {"$before": "not a date"}), False, "10.1.6-before-invalid-bound"),
    row(leaf("Missing", {"$before": "$now"}), False, "10.1.6-before-missing-value"),
    row(leaf("Score", {"$before": "$now"}), False, "10.1.6-before-number-value"),
    row(leaf("dateOfBirth", {"$before": "2000-01-01"}), True, "10.1.6-before-builtin-dob"),
    row(
        leaf("VisitAt", {"$isNotSet": True, "$before": "$now"}),
        False,
        "10.1.6-earlier-operator-wins-over-date-search",
    ),
]

OTHER_OPERATORS = [
    row(leaf("fname", {"$exists": True}), False, "10.1.6-exists-is-false"),
    row(leaf("Score", {"$gte": 1}), False, "10.1.6-gte-is-false"),
    row(leaf("fname", {}), False, "10.1.6-empty-operand-is-false"),
]

STRING_OPERAND = [
    row(leaf("fname", "Ada"), True, "10.1.7-string-equal"),
    row(leaf("fname", "ada"), False, "10.1.7-string-case-sensitive"),
    row(leaf("Score", "7"), True, "10.1.7-int-parse-matches-number"),
    row(leaf("Score", "7abc"), True, "10.1.7-int-parse-quirk-trailing-garbage"),
    row(leaf("Score", " +7"), True, "10.1.7-int-parse-whitespace-and-sign"),
    row(leaf("Score", "abc7"), False, "10.1.7-int-parse-needs-leading-digits"),
    row(leaf("Score", "8"), False, "10.1.7-int-parse-different-number"),
    row(leaf("ScoreText", "7"), True, "10.1.7-string-field-equal"),
    row(leaf("ScoreText", "7abc"), False, "10.1.7-string-field-no-parse"),
    row(leaf("Checked", "true"), False, "10.1.7-boolean-field-never-equal"),
    row(leaf("Colors", "red"), True, "10.1.7-custom-array-membership"),
    row(leaf("Colors", "blue"), False, "10.1.7-custom-array-non-member"),
    row(leaf("tags", "vip"), True, "10.1.7-tags-membership"),
    row(leaf("tags", "gold"), False, "10.1.7-tags-non-member"),
    row(leaf("assignedTo", "user-1"), True, "10.1.7-care-team-membership"),
    row(leaf("assignedTo", "user-2"), False, "10.1.7-care-team-non-member"),
    row(
        leaf("tags", "vip"),
        True,
        "10.1.7-builtin-array-checked-even-if-custom-array-shadows",
        with_fields(tags=["other"]),
    ),
    row(leaf("Missing", "x"), False, "10.1.7-missing-value"),
]

OTHER_OPERAND_TYPES = [
    row(leaf("Score", 7), False, "10.1.8-number-operand-false"),
    row(leaf("Checked", True), False, "10.1.8-boolean-operand-false"),
    row(leaf("fname", None), False, "10.1.8-null-operand-false"),
    row(leaf("tags", ["vip"]), False, "10.1.8-array-operand-false"),
]


@pytest.mark.parametrize(
    ("enduser", "condition", "expected"),
    COMPOUND_FILTER
    + VALUE_LOOKUP
    + AGE
    + BMI
    + RELATIONSHIPS
    + CUSTOM_TYPE
    + JOURNEYS
    + LT_GT
    + CONTAINS
    + IS_SET
    + NOT_EQUAL
    + DATES
    + OTHER_OPERATORS
    + STRING_OPERAND
    + OTHER_OPERAND_TYPES,
)
def test_enduser_condition(enduser, condition, expected):
    assert matches(enduser, condition, now=NOW) is expected


UPCOMING_EVENTS = [
    {"startTimeInMS": NOW_MS + HOUR_MS, "templateId": "t1"},
    {"startTimeInMS": NOW_MS + 3 * DAY_MS, "templateId": "t2"},
    {"startTimeInMS": NOW_MS - HOUR_MS, "templateId": "t1"},  # already past
]


def upcoming(operand: dict[str, Any]) -> dict[str, Any]:
    return leaf("__upcomingEvents__", operand)


@pytest.mark.parametrize(
    ("condition", "events", "expected"),
    [
        pytest.param(upcoming({"$gt": 1}), UPCOMING_EVENTS, True, id="10.1.2-gt-past-excluded"),
        pytest.param(upcoming({"$gt": 2}), UPCOMING_EVENTS, False, id="10.1.2-gt-false"),
        pytest.param(upcoming({"$lt": "3"}), UPCOMING_EVENTS, True, id="10.1.2-lt-int-parsed"),
        pytest.param(upcoming({"$lt": 1}), UPCOMING_EVENTS, False, id="10.1.2-lt-false"),
        pytest.param(upcoming({"$lt": 1}), None, True, id="10.1.2-no-events-count-zero"),
        pytest.param(
            upcoming({"$templateIds": ["t1"], "$gt": 0}),
            UPCOMING_EVENTS,
            True,
            id="10.1.2-template-filter-match",
        ),
        pytest.param(
            upcoming({"$templateIds": ["t1"], "$gt": 1}),
            UPCOMING_EVENTS,
            False,
            id="10.1.2-template-filter-counts-only-future-t1",
        ),
        pytest.param(
            upcoming({"$templateIds": [], "$gt": 1}),
            UPCOMING_EVENTS,
            True,
            id="10.1.2-empty-template-filter-is-all",
        ),
        pytest.param(
            upcoming({"$fromOffset": -2 * HOUR_MS, "$gt": 2}),
            UPCOMING_EVENTS,
            True,
            id="10.1.2-from-offset-includes-recent-past",
        ),
        pytest.param(
            upcoming({"$toOffset": DAY_MS, "$lt": 2}),
            UPCOMING_EVENTS,
            True,
            id="10.1.2-to-offset-bounds-window",
        ),
        pytest.param(
            upcoming({"$toOffset": DAY_MS, "$gt": 1}),
            UPCOMING_EVENTS,
            False,
            id="10.1.2-to-offset-excludes-later",
        ),
        pytest.param(
            upcoming({"$toOffset": 0, "$gt": 1}),
            UPCOMING_EVENTS,
            True,
            id="10.1.2-zero-to-offset-means-unbounded",
        ),
        pytest.param(
            upcoming({"$gt": 100, "$lt": 3}),
            UPCOMING_EVENTS,
            True,
            id="10.1.2-lt-wins-over-gt",
        ),
        pytest.param(upcoming({"$gte": 0}), UPCOMING_EVENTS, False, id="10.1.2-neither-lt-nor-gt"),
    ],
)
def test_upcoming_events_condition(condition, events, expected):
    assert matches(ENDUSER, condition, now=NOW, upcoming_events=events) is expected


@pytest.mark.parametrize(
    ("ignore", "expected"),
    [
        pytest.param(True, True, id="10.1.2-opt-out-counts-as-true"),
        pytest.param(False, False, id="10.1.2-without-opt-out-evaluated"),
    ],
)
def test_upcoming_events_opt_out(ignore, expected):
    condition = upcoming({"$gt": 100})
    result = matches(
        ENDUSER, condition, now=NOW, upcoming_events=UPCOMING_EVENTS, ignore_upcoming_events=ignore
    )
    assert result is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(NOW, True, id="10.1.1-age-on-birthday"),
        pytest.param(NOW - timedelta(days=1), False, id="10.1.1-age-day-before-birthday"),
    ],
)
def test_age_is_computed_as_of_now_parameter(now, expected):
    assert matches(ENDUSER, leaf("Age", {"$gt": 34}), now=now) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(datetime(2025, 5, 31), True, id="10.1.6-before-now-uses-now-parameter"),
        pytest.param(datetime(2025, 6, 2), False, id="10.1.6-before-now-naive-is-utc"),
    ],
)
def test_now_bound_comes_from_parameter(now, expected):
    assert matches(ENDUSER, leaf("VisitAt", {"$after": "$now"}), now=now) is expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("Plan", "Gold", id="10.1-V-custom"),
        pytest.param("insurance.memberId", "M-1", id="10.1-V-insurance"),
        pytest.param("insurance.groupNumber", UNDEFINED, id="10.1-V-insurance-absent-subfield"),
        pytest.param("createdAt", "2023-11-14T22:13:20.000Z", id="10.1-V-createdAt"),
        pytest.param("Nothing", UNDEFINED, id="10.1-V-null-field-no-builtin"),
        pytest.param("Missing", UNDEFINED, id="10.1-V-missing"),
    ],
)
def test_enduser_value(key, expected):
    assert enduser_value(ENDUSER, key) == expected


@pytest.mark.parametrize(
    ("relationship_type", "inverse"),
    [
        ("Parent", "Child"),
        ("Child", "Parent"),
        ("Sibling", "Sibling"),
        ("Spouse", "Spouse"),
        ("Partner", "Partner"),
        ("Caregiver", "Care Recipient"),
        ("Care Recipient", "Caregiver"),
        ("Grandparent", "Grandchild"),
        ("Grandchild", "Grandparent"),
        ("Power of Attorney", "Power of Attorney For"),
        ("Power of Attorney For", "Power of Attorney"),
        ("Emergency Contact", "Emergency Contact For"),
        ("Emergency Contact For", "Emergency Contact"),
        ("Referring Provider", "Referred Patient"),
        ("Referred Patient", "Referring Provider"),
        ("Care Partner", "Care Partner"),
        ("Caretaker", "Relates To"),
        ("Relates To", "Relates To"),
    ],
)
def test_inverse_relationship_table(relationship_type, inverse):
    """10.1.4: Tellescope's get_inverse_relationship_type."""
    assert inverse_relationship_type(relationship_type) == inverse


@pytest.mark.parametrize(
    ("dob", "expected"),
    [
        pytest.param("06-15-1990", 35, id="birthday-today"),
        pytest.param("06-16-1990", 34, id="birthday-tomorrow"),
        pytest.param("05-31-1990", 35, id="birthday-last-month"),
        pytest.param("12-01-1990", 34, id="birthday-later-this-year"),
        pytest.param("6-5-1990", 35, id="unpadded-parts-are-read"),
        pytest.param("06-15", None, id="missing-year"),
        pytest.param("aa-15-1990", None, id="non-numeric-month"),
    ],
)
def test_age_in_years(dob, expected):
    """10.1.1: Tellescope's age_for_dob_mmddyyyy."""
    assert age_in_years(dob, NOW.date()) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1abc", 1, id="trailing-garbage"),
        pytest.param("  -12x", -12, id="whitespace-and-sign"),
        pytest.param("+3", 3, id="plus-sign"),
        pytest.param("\n5", 5, id="newline"),
        pytest.param("abc", None, id="nan"),
        pytest.param("", None, id="empty-nan"),
        pytest.param("-", None, id="sign-only-nan"),
        pytest.param(12.9, 12, id="float-truncates"),
        pytest.param(1e21, 1, id="float-exponent-form"),
        pytest.param(5e-7, 5, id="small-float-exponent-form"),
        pytest.param("0x1A", 26, id="hex-prefix"),
        pytest.param("0x", None, id="hex-prefix-without-digits"),
        pytest.param(True, None, id="boolean-nan"),
        pytest.param(None, None, id="null-nan"),
    ],
)
def test_js_parse_int(value, expected):
    assert js_parse_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (1.5, "1.5"),
        (-0.5, "-0.5"),
        (1e21, "1e+21"),
        (5e-7, "5e-7"),
        (0.000001, "0.000001"),
        (123456789012345680000.0, "123456789012345680000"),
        (None, "null"),
        (True, "true"),
        (["a", None, 1], "a,,1"),
    ],
)
def test_js_to_string(value, expected):
    assert js_to_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [({}, True), ([], True), (0, False), ("", False), ("0", True), (float("nan"), False)],
)
def test_js_truthy(value, expected):
    assert js_truthy(value) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (1, 1.0, True),
        (1, "1", False),
        (True, 1, False),
        (None, UNDEFINED, False),
        (None, None, True),
        ([1], [1], False),
    ],
)
def test_js_strict_equals(left, right, expected):
    assert js_strict_equals(left, right) is expected
