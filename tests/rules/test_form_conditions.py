"""The form-response condition language (docs/semantics.md §10.2) and string comparison
(docs/semantics.md §10.3).

One row per rule and per quirk, ids citing the section of docs/semantics.md; each rule has true
and false rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rules.form_conditions import form_response_matches, medication_title_matches, string_matches

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def response(field_id: str, answer_type: str, *value: Any, tag: str | None = None):
    """A FormResponseValue; no value argument = unanswered (no `value` key)."""
    answer: dict[str, Any] = {"type": answer_type}
    if value:
        answer["value"] = value[0]
    item: dict[str, Any] = {"fieldId": field_id, "fieldTitle": field_id, "answer": answer}
    if tag:
        item["computedValueKey"] = tag
    return item


RESPONSES = [
    response("text", "string", "Hello World"),
    response("num", "number", 5),
    response("choices", "multiple_choice", ["Red", "Green"]),
    response("db", "Database Select", [{"text": "Option A", "databaseId": "d", "recordId": "r"}]),
    response("insurance", "Insurance", {"payerName": "Aetna", "memberId": "M-1"}),
    response(
        "address",
        "Address",
        {"addressLineOne": "1 Main St", "city": "Austin", "state": "TX", "zipCode": "78701"},
    ),
    response("past-date", "date", "2025-06-01T09:00:00.000Z"),
    response("future-date", "date", "2025-07-01T09:00:00.000Z"),
    response("today", "dateString", "06-15-2025"),
    response("yesterday", "dateString", "06-14-2025"),
    response("empty", "string", ""),
    response("empty-list", "multiple_choice", []),
    response("unanswered", "string"),
    response("rating", "rating", 4),
    response("signature", "signature", {"fullName": "Ada", "signed": True}),
    response("height", "number", 70, tag="Height"),
    response("weight", "number", 175, tag="Weight"),  # BMI 25.1
    response("dob", "dateString", "06-16-1990", tag="Date of Birth"),  # 34 on NOW
    response("gender", "Dropdown", ["Female"], tag="Gender"),
    response("home", "Address", {"state": "NM", "city": "Taos", "zipCode": "87571"}, tag="State"),
]


def leaf(key: str, operand: Any) -> dict[str, Any]:
    return {"condition": {key: operand}}


def row(condition: Any, expected: bool, rule: str, responses=None, **options: Any):
    return pytest.param(
        RESPONSES if responses is None else responses, condition, options, expected, id=rule
    )


COMPOUND_FILTER = [
    row({"$and": [leaf("text", "Hello World"), leaf("num", "5")]}, True, "10-and-true"),
    row({"$and": [leaf("text", "Hello World"), leaf("num", "6")]}, False, "10-and-false"),
    row({"$or": [leaf("num", "6"), leaf("num", "5")]}, True, "10-or-true"),
    row({"$or": []}, False, "10-or-empty-false"),
    row({"$and": []}, True, "10-and-empty-true"),
    row({}, True, "10-empty-object-true"),
    row({"condition": {}}, False, "10-empty-condition-names-no-field"),
    row({"condition": {"num": "6", "text": "Hello World"}}, False, "10-condition-first-key-only"),
    row(None, True, "10-no-condition-true"),
]

EQUALITY = [
    row(leaf("text", "Hello World"), True, "10.2-equals-string"),
    row(leaf("text", "hello world"), False, "10.2-equals-case-sensitive"),
    row(leaf("missing", "x"), False, "10.2-no-answer-is-false"),
    row(leaf("num", "5"), True, "10.2-equals-number-via-string-form"),
    row(leaf("num", "5.0"), False, "10.2-equals-number-string-form-exact"),
    row(leaf("choices", "Red"), True, "10.2-equals-array-contains"),
    row(leaf("choices", "Blue"), False, "10.2-equals-array-lacks"),
    row(leaf("db", "Option A"), True, "10.2-equals-database-select-option-text"),
    row(leaf("db", "Option"), False, "10.2-equals-database-select-whole-text"),
    row(leaf("insurance", "Aetna"), True, "10.2-equals-insurance-payer-name"),
    row(leaf("insurance", "M-1"), False, "10.2-equals-insurance-only-payer-name"),
    row(leaf("address", "TX"), True, "10.2-equals-address-state"),
    row(leaf("address", "78701"), True, "10.2-equals-address-zip"),
    row(leaf("address", "Austin"), True, "10.2-equals-address-city"),
    row(leaf("address", "1 Main St"), False, "10.2-equals-address-line-not-compared"),
    row(leaf("rating", "4"), False, "10.2-equals-non-number-type-is-strict"),
]

NOT_EQUAL = [
    row(leaf("text", {"$ne": "Other"}), True, "10.2-ne-different"),
    row(leaf("text", {"$ne": "Hello World"}), False, "10.2-ne-equal"),
    row(leaf("num", {"$ne": "5"}), False, "10.2-ne-number-string-form"),
    row(leaf("num", {"$ne": 5}), False, "10.2-ne-number-operand-strict"),
    row(leaf("choices", {"$ne": "Blue"}), True, "10.2-ne-array-lacks"),
    row(leaf("missing", {"$ne": "x"}), False, "10.2-ne-no-answer-is-false"),
]

ORDERING = [
    row(leaf("num", {"$gt": "4"}), True, "10.2-gt-number"),
    row(leaf("num", {"$gt": 5}), False, "10.2-gt-strict"),
    row(leaf("num", {"$lt": "6"}), True, "10.2-lt-number"),
    row(leaf("num", {"$lt": "5.9"}), False, "10.2-lt-operand-int-parsed"),
    row(leaf("num", {"$gt": "abc"}), False, "10.2-gt-nan-operand"),
    row(leaf("text", {"$gt": "1"}), False, "10.2-gt-non-numeric-answer"),
    row(leaf("past-date", {"$lt": "$now"}), True, "10.2-lt-now-date"),
    row(leaf("past-date", {"$gt": "$now"}), False, "10.2-gt-now-date-false"),
    row(leaf("future-date", {"$gt": "$now"}), True, "10.2-gt-now-future-date"),
    row(leaf("yesterday", {"$lt": "$now"}), True, "10.2-lt-now-dateString"),
    row(leaf("today", {"$lt": "$now"}), False, "10.2-lt-now-dateString-day-granularity"),
    row(leaf("today", {"$gt": "$now"}), False, "10.2-gt-now-dateString-day-granularity"),
    row(leaf("num", {"$lt": "$now"}), False, "10.2-now-on-number-is-nan"),
    row(leaf("past-date", {"$gt": "1000"}), True, "10.2-gt-date-as-epoch-ms"),
    row(leaf("today", {"$lt": "1000"}), False, "10.2-lt-dateString-as-epoch-ms"),
    row(leaf("num", {"$gt": "$JS(return 4)"}), False, "10.2-js-bound-unsupported-is-false"),
    row(leaf("num", {"$lt": "$JS(return 4)"}), False, "10.2-js-bound-unsupported-lt-too"),
    row(
        leaf("num", {"$gt": "$JS(return 4)"}),
        True,
        "10.2-js-bound-via-evaluator",
        evaluate_js=lambda body, answer: 4,
    ),
    row(
        leaf("num", {"$gt": "$JS(return 'x')"}),
        False,
        "10.2-js-bound-non-number-result",
        evaluate_js=lambda body, answer: "x",
    ),
]

EXISTS = [
    row(leaf("text", {"$exists": True}), True, "10.2-exists-true-answered"),
    row(leaf("text", {"$exists": False}), False, "10.2-exists-false-answered"),
    row(leaf("empty", {"$exists": True}), False, "10.2-exists-empty-string"),
    row(leaf("empty", {"$exists": False}), True, "10.2-not-exists-empty-string"),
    row(leaf("empty-list", {"$exists": False}), True, "10.2-not-exists-empty-list"),
    row(leaf("unanswered", {"$exists": False}), True, "10.2-not-exists-no-value"),
    row(leaf("num", {"$exists": "true"}), False, "10.2-exists-non-boolean-operand"),
]

CONTAINS = [
    row(leaf("text", {"$contains": "World"}), True, "10.2-contains-substring"),
    row(leaf("text", {"$contains": "world"}), False, "10.2-contains-case-sensitive"),
    row(leaf("text", {"$doesNotContain": "World"}), False, "10.2-doesNotContain-false"),
    row(leaf("text", {"$doesNotContain": "xyz"}), True, "10.2-doesNotContain-true"),
    row(leaf("empty", {"$contains": ""}), False, "10.2-contains-empty-answer"),
    row(leaf("empty", {"$doesNotContain": "x"}), True, "10.2-doesNotContain-empty-answer"),
    row(leaf("unanswered", {"$contains": "x"}), False, "10.2-contains-unanswered"),
    row(leaf("choices", {"$contains": "Gre"}), True, "10.2-contains-array-element-substring"),
    row(leaf("choices", {"$contains": "Blue"}), False, "10.2-contains-array-false"),
    row(leaf("empty-list", {"$doesNotContain": "x"}), True, "10.2-doesNotContain-empty-list"),
    row(leaf("db", {"$contains": "Option"}), True, "10.2-contains-database-select-text"),
    row(leaf("db", {"$doesNotContain": "Option"}), False, "10.2-doesNotContain-database-select"),
    row(leaf("num", {"$contains": "9"}), True, "10.2-contains-unsupported-answer-type-true"),
    row(leaf("signature", {"$doesNotContain": "Ada"}), True, "10.2-contains-object-answer-true"),
]

UNKNOWN = [
    row(leaf("num", {"$range": [1, 2]}), True, "10.2-range-unknown-true"),
    row(leaf("num", {"$gte": 100}), True, "10.2-unknown-operator-true"),
    row(leaf("num", {}), True, "10.2-operand-without-operator-true"),
    row(leaf("num", 5), True, "10.2-number-operand-no-operator-true"),
    row(leaf("num", None), False, "10.2-null-operand-false"),
    row(leaf("missing", {"$range": [1, 2]}), False, "10.2-unknown-operator-needs-answer"),
]

CALCULATED = [
    row(leaf("Calculated: BMI", {"$gt": 25}), True, "10.2-calculated-bmi-gt"),
    row(leaf("Calculated: BMI", {"$gt": 26}), False, "10.2-calculated-bmi-gt-false"),
    row(
        leaf("Calculated: BMI", {"$gt": 25}),
        True,
        "10.2-calculated-bmi-from-height-answer",
        responses=[
            response("h", "Height", {"feet": 5, "inches": 10}, tag="Height"),
            response("w", "number", 175, tag="Weight"),
        ],
    ),
    row(
        leaf("Calculated: BMI", {"$lt": 25}),
        True,
        "10.2-calculated-bmi-number-height-wins",
        responses=[
            response("h", "Height", {"feet": 5, "inches": 10}, tag="Height"),
            response("h2", "number", 80, tag="Height"),  # BMI 19.2
            response("w", "number", 175, tag="Weight"),
        ],
    ),
    row(
        leaf("Calculated: BMI", {"$gt": 1}),
        False,
        "10.2-calculated-bmi-needs-weight",
        responses=[response("h", "number", 70, tag="Height")],
    ),
    row(
        leaf("Calculated: BMI", {"$gt": 1}),
        False,
        "10.2-calculated-bmi-needs-tags",
        responses=[response("h", "number", 70), response("w", "number", 175)],
    ),
    row(leaf("Calculated: Age", {"$gt": 33}), True, "10.2-calculated-age-from-dob-answer"),
    row(leaf("Calculated: Age", {"$gt": 34}), False, "10.2-calculated-age-birthday-tomorrow"),
    row(
        leaf("Calculated: Age", {"$gt": 34}),
        True,
        "10.2-calculated-age-supplied-dob-wins",
        date_of_birth="06-15-1990",
    ),
    row(leaf("Calculated: Age", {"$gt": 1}), False, "10.2-calculated-age-no-dob", responses=[]),
    row(leaf("Calculated: Age", "34"), True, "10.2-calculated-age-equality"),
    row(leaf("Calculated: Score", {"$gt": 10}), True, "10.2-calculated-score", score=12),
    row(leaf("Calculated: Score", {"$gt": 12}), False, "10.2-calculated-score-false", score=12),
    row(leaf("Calculated: Score", {"$gt": 0}), False, "10.2-calculated-score-not-supplied"),
    row(leaf("Gender", "Female"), True, "10.2-gender-from-answer"),
    row(leaf("Gender", "Female"), True, "10.2-gender-answer-wins", gender="Male"),
    row(leaf("Gender", "Male"), True, "10.2-gender-supplied", responses=[], gender="Male"),
    row(leaf("Gender", "Male"), False, "10.2-gender-other"),
    row(leaf("Gender", {"$exists": False}), True, "10.2-gender-unknown-is-empty", responses=[]),
    row(leaf("State", "NM"), True, "10.2-state-from-tagged-address"),
    row(leaf("State", "TX"), False, "10.2-state-untagged-address-ignored"),
    row(leaf("State", "CA"), True, "10.2-state-supplied", responses=[], state="CA"),
    row(
        leaf("URL Logic Parameter", "promo"),
        True,
        "10.2-url-logic-parameter",
        url_logic_value="promo",
    ),
    row(leaf("URL Logic Parameter", "promo"), False, "10.2-url-logic-parameter-missing"),
]


@pytest.mark.parametrize(
    ("responses", "condition", "options", "expected"),
    COMPOUND_FILTER + EQUALITY + NOT_EQUAL + ORDERING + EXISTS + CONTAINS + UNKNOWN + CALCULATED,
)
def test_form_response_condition(responses, condition, options, expected):
    assert form_response_matches(responses, condition, now=NOW, **options) is expected


@pytest.mark.parametrize(
    ("value", "condition", "expected"),
    [
        pytest.param("Metformin", "Metformin", True, id="10.3-equal"),
        pytest.param("Metformin", "metformin", False, id="10.3-equal-case-sensitive"),
        pytest.param(None, "", True, id="10.3-undefined-reads-as-empty"),
        pytest.param(None, "x", False, id="10.3-undefined-not-equal"),
        pytest.param(None, None, True, id="10.3-null-is-not-set-missing"),
        pytest.param("", None, True, id="10.3-null-is-not-set-empty"),
        pytest.param("x", None, False, id="10.3-null-is-not-set-false"),
        pytest.param("x", {"$exists": True}, True, id="10.3-exists-true"),
        pytest.param(None, {"$exists": True}, False, id="10.3-exists-true-missing"),
        pytest.param(None, {"$exists": False}, True, id="10.3-exists-false-missing"),
        pytest.param("x", {"$exists": False}, False, id="10.3-exists-false-set"),
        pytest.param("a", {"$ne": "b"}, True, id="10.3-ne-different"),
        pytest.param("a", {"$ne": "a"}, False, id="10.3-ne-equal"),
        pytest.param(None, {"$ne": ""}, False, id="10.3-ne-undefined-is-empty"),
        pytest.param("Metformin ER", {"$contains": "ER"}, True, id="10.3-contains"),
        pytest.param("Metformin ER", {"$contains": "er"}, False, id="10.3-contains-case"),
        pytest.param("anything", {"$contains": ""}, True, id="10.3-contains-empty-true"),
        pytest.param(None, {"$contains": "x"}, False, id="10.3-contains-missing"),
        pytest.param("Metformin", {"$doesNotContain": "ER"}, True, id="10.3-doesNotContain"),
        pytest.param("Metformin ER", {"$doesNotContain": "ER"}, False, id="10.3-doesNotContain-f"),
        pytest.param("abc", {"$contains": "zz", "$exists": True}, True, id="10.3-exists-priority"),
        pytest.param("abc", {"$gt": "a"}, True, id="10.3-unknown-operator-true"),
    ],
)
def test_string_matches(value, condition, expected):
    assert string_matches(value, condition) is expected


@pytest.mark.parametrize(
    ("title", "condition", "expected"),
    [
        pytest.param("Metformin", {"condition": {"title": "Metformin"}}, True, id="10.3-title"),
        pytest.param("Insulin", {"condition": {"title": "Metformin"}}, False, id="10.3-title-f"),
        pytest.param(
            "Insulin",
            {"$or": [{"condition": {"title": "Metformin"}}, {"condition": {"title": "Insulin"}}]},
            True,
            id="10.3-title-or",
        ),
        pytest.param("Insulin", {"condition": {"dose": "x"}}, True, id="10.3-other-key-true"),
        pytest.param("Insulin", None, True, id="10.3-no-condition"),
    ],
)
def test_medication_title_matches(title, condition, expected):
    assert medication_title_matches(title, condition) is expected
