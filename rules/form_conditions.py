"""Tellescope's form-response condition language and its string comparison
(docs/semantics.md §10.2, §10.3).

A Form Submitted trigger fires only when the submitted answers satisfy its `conditions` (or the
form's entry in `conditionsByFormId`); a Medication Added trigger filters titles with
`titleCondition`. Both run inside Temporal workflows, so these functions are pure: `now` is a
parameter and anything Tellescope would look up (date of birth, form score, ...) is passed in.

Unlike the enduser evaluator, this one is permissive: an operator or answer type it does not
understand makes the leaf *true*. A missing answer makes it false.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from rules.conditions import (
    UNDEFINED,
    age_in_years,
    evaluate_compound_filter,
    is_number,
    js_new_date,
    js_parse_int,
    js_strict_equals,
    js_to_string,
    js_truthy,
)
from rules.dates import epoch_ms, parse_any_date

__all__ = [
    "CALCULATED_AGE",
    "CALCULATED_BMI",
    "CALCULATED_SCORE",
    "GENDER_KEY",
    "STATE_KEY",
    "URL_LOGIC_PARAMETER",
    "JsEvaluator",
    "form_response_matches",
    "medication_title_matches",
    "string_matches",
]

CALCULATED_BMI: Final = "Calculated: BMI"
CALCULATED_AGE: Final = "Calculated: Age"
CALCULATED_SCORE: Final = "Calculated: Score"
GENDER_KEY: Final = "Gender"
STATE_KEY: Final = "State"
URL_LOGIC_PARAMETER: Final = "URL Logic Parameter"

JsEvaluator = Callable[[str, Mapping[str, Any]], object]
"""Runs a `$JS(<body>)` bound: (function body, answer) -> the bound. Tellescope evaluates the body
as JavaScript with `answer` in scope; we never eval it, a caller may supply a sandboxed runner."""

Answer = Mapping[str, Any]


def _number_answer(value: float) -> Answer:
    return {"type": "number", "value": value}


def _string_answer(value: object) -> Answer:
    return {"type": "string", "value": value if js_truthy(value) else ""}


def _answer_of(response: object) -> Answer | None:
    if not isinstance(response, Mapping):
        return None
    answer = response.get("answer")
    return answer if isinstance(answer, Mapping) else None


def _find_answer(
    responses: Sequence[Mapping[str, Any]],
    answer_types: tuple[str, ...],
    computed_value_key: str,
    *,
    needs_value: bool = True,
) -> Answer | None:
    """The first answer of one of `answer_types` tagged with `computedValueKey` (and, by
    default, with a truthy value)."""
    for response in responses:
        answer = _answer_of(response)
        if (
            answer is not None
            and answer.get("type") in answer_types
            and response.get("computedValueKey") == computed_value_key
            and (not needs_value or js_truthy(answer.get("value")))
        ):
            return answer
    return None


def _height_inches(responses: Sequence[Mapping[str, Any]]) -> float | None:
    # A number answer tagged Height wins over a Height (feet/inches) answer tagged Height.
    answer = _find_answer(responses, ("number",), "Height") or _find_answer(
        responses, ("Height",), "Height"
    )
    if answer is None:
        return None
    value = answer.get("value")
    if answer.get("type") == "number":
        return value if is_number(value) else None
    if not isinstance(value, Mapping):
        return None
    feet, inches = value.get("feet"), value.get("inches")
    if not is_number(feet):
        return None
    return feet * 12 + (inches if is_number(inches) else 0)


def _bmi_answer(responses: Sequence[Mapping[str, Any]]) -> Answer | None:
    height = _height_inches(responses)
    weight_answer = _find_answer(responses, ("number",), "Weight")
    weight = weight_answer.get("value") if weight_answer is not None else None
    if not (height and is_number(weight) and weight):
        return None
    return _number_answer(703 * weight / (height * height))


def _age_answer(
    responses: Sequence[Mapping[str, Any]], date_of_birth: str | None, now: datetime
) -> Answer | None:
    # A supplied date of birth (the enduser's) wins over a Date of Birth answer.
    if not js_truthy(date_of_birth):
        answer = _find_answer(responses, ("dateString",), "Date of Birth")
        date_of_birth = js_to_string(answer.get("value")) if answer is not None else None
    if not date_of_birth:
        return None
    age = age_in_years(date_of_birth, now.date())
    return _number_answer(age) if age is not None else None


def _gender_answer(responses: Sequence[Mapping[str, Any]], gender: str | None) -> Answer:
    # The answer wins over the supplied gender, since a form may be changing it.
    answer = _find_answer(responses, ("Dropdown", "multiple_choice"), "Gender", needs_value=False)
    chosen = answer.get("value") if answer is not None else None
    first_choice = chosen[0] if isinstance(chosen, list) and chosen else None
    return _string_answer(first_choice if js_truthy(first_choice) else gender)


def _state_answer(responses: Sequence[Mapping[str, Any]], state: str | None) -> Answer:
    answer = _find_answer(responses, ("Address",), "State", needs_value=False)
    address = answer.get("value") if answer is not None else None
    answered_state = address.get("state") if isinstance(address, Mapping) else None
    return _string_answer(answered_state if js_truthy(answered_state) else state)


def _answer_for_key(
    responses: Sequence[Mapping[str, Any]],
    key: str | None,
    *,
    now: datetime,
    date_of_birth: str | None,
    gender: str | None,
    state: str | None,
    url_logic_value: str | None,
    score: float | None,
) -> Answer | None:
    """The answer a condition key refers to: a calculated value or the answer to field `key`.
    Gender, State and the URL parameter always exist (as "" when unknown)."""
    if key == CALCULATED_BMI:
        return _bmi_answer(responses)
    if key == CALCULATED_AGE:
        return _age_answer(responses, date_of_birth, now)
    if key == CALCULATED_SCORE:
        # Tellescope scores the form itself (first scoring's total); we take that value as input.
        return _number_answer(score) if score is not None else None
    if key == GENDER_KEY:
        return _gender_answer(responses, gender)
    if key == STATE_KEY:
        return _state_answer(responses, state)
    if key == URL_LOGIC_PARAMETER:
        return _string_answer(url_logic_value)
    if key is None:
        return None  # an empty `condition` names no field
    for response in responses:
        if isinstance(response, Mapping) and response.get("fieldId") == key:
            return _answer_of(response)
    return None


def _answer_equals(answer: Answer, comparison: object) -> bool:
    """Tellescope's `evaluate_response_equals` (string operands and `$ne`)."""
    answer_type = answer.get("type")
    value = answer.get("value", UNDEFINED)
    if answer_type == "Database Select" and isinstance(value, list) and value:
        option_texts = (o.get("text", UNDEFINED) for o in value if isinstance(o, Mapping))
        return any(js_strict_equals(text, comparison) for text in option_texts)
    if answer_type == "Insurance":
        payer_name = value.get("payerName", UNDEFINED) if isinstance(value, Mapping) else UNDEFINED
        return js_strict_equals(payer_name, comparison)
    if answer_type == "Address":
        address = value if isinstance(value, Mapping) else {}
        return any(
            js_strict_equals(comparison, address.get(part, UNDEFINED))
            for part in ("state", "zipCode", "city")
        )
    if answer_type == "number" and isinstance(comparison, str):
        # "5" matches 5 through the number's string form (so "5.0" does not).
        return value is not None and value is not UNDEFINED and comparison == js_to_string(value)
    if isinstance(value, list):
        return any(js_strict_equals(element, comparison) for element in value)
    return js_strict_equals(value, comparison)


def _epoch_ms(moment: datetime | None) -> float:
    """`date.getTime()`: NaN for an Invalid Date (None)."""
    return epoch_ms(moment) if moment is not None else math.nan


def _date_string_epoch_ms(text: object) -> float:
    """`new Date(MM_DD_YYYY_to_YYYY_MM_DD(text))`: UTC midnight of an MM-DD-YYYY answer."""
    parts = js_to_string(text).split("-")
    month, day, year = (parts[i] if i < len(parts) else "undefined" for i in range(3))
    return _epoch_ms(parse_any_date(f"{year}-{month}-{day}"))


def _answer_epoch_ms(answer: Answer) -> float | None:
    """The answer as a number for `$lt`/`$gt`: dates as epoch ms (NaN if unreadable), numbers as
    themselves, anything else None (not comparable)."""
    answer_type = answer.get("type")
    value = answer.get("value")
    if answer_type == "date" and js_truthy(value):
        return _epoch_ms(js_new_date(value))
    if answer_type == "dateString" and js_truthy(value):
        return _date_string_epoch_ms(value)
    return value if is_number(value) else None


def _compare(operator: str, left: float, right: float) -> bool:
    return left < right if operator == "$lt" else left > right


def _ordering_matches(
    answer: Answer,
    operator: str,
    bound: object,
    *,
    now: datetime,
    evaluate_js: JsEvaluator | None,
) -> bool:
    answer_type = answer.get("type")
    if bound == "$now" and js_truthy(answer.get("value")):
        now_utc = now if now.tzinfo else now.replace(tzinfo=UTC)
        if answer_type == "date":
            return _compare(operator, _epoch_ms(js_new_date(answer["value"])), _epoch_ms(now_utc))
        if answer_type == "dateString":
            # Day granularity: the answer's UTC midnight against today's (now's calendar date).
            today = datetime(now.year, now.month, now.day, tzinfo=UTC)
            return _compare(operator, _date_string_epoch_ms(answer["value"]), _epoch_ms(today))
    # "$now" against anything else falls through to parseInt("$now"), i.e. NaN: false.

    if isinstance(bound, str) and bound.startswith("$JS(") and bound.endswith(")"):
        if evaluate_js is None:
            return False  # unsupported: Tellescope would eval the body; we never do
        number: object = evaluate_js(bound[4:-1], answer)
        if not is_number(number):
            return False
    else:
        number = js_parse_int(bound)
        if number is None:
            return False
    answer_number = _answer_epoch_ms(answer)
    if answer_number is None:
        return False
    return _compare(operator, answer_number, number)


def _is_answered(value: object) -> bool:
    if value is None or value is UNDEFINED or value == "":
        return False
    return not (isinstance(value, list) and not value)


def _contains_matches(answer: Answer, operator: str, needle: object) -> bool:
    value = answer.get("value", UNDEFINED)
    if value is None or value is UNDEFINED or value == "":
        return operator == "$doesNotContain"  # an empty answer contains nothing
    needle_text = js_to_string(needle)  # String.prototype.includes stringifies its argument
    if answer.get("type") == "Database Select" and isinstance(value, list) and value:
        contains = any(
            isinstance(option, Mapping)
            and isinstance(option.get("text"), str)
            and needle_text in option["text"]
            for option in value
        )
    elif isinstance(value, list):
        contains = any(isinstance(element, str) and needle_text in element for element in value)
    elif isinstance(value, str):
        contains = needle_text in value
    else:
        return True  # numbers, objects, ...: unsupported answer type
    return contains if operator == "$contains" else not contains


def _leaf_matches(
    responses: Sequence[Mapping[str, Any]],
    key: str | None,
    comparison: Any,
    *,
    now: datetime,
    date_of_birth: str | None,
    gender: str | None,
    state: str | None,
    url_logic_value: str | None,
    score: float | None,
    evaluate_js: JsEvaluator | None,
) -> bool:
    answer = _answer_for_key(
        responses,
        key,
        now=now,
        date_of_birth=date_of_birth,
        gender=gender,
        state=state,
        url_logic_value=url_logic_value,
        score=score,
    )
    if answer is None:
        return False
    if isinstance(comparison, str):
        return _answer_equals(answer, comparison)
    if comparison is None:
        return False  # Tellescope would throw on Object.keys(null); read as "does not match"
    if not isinstance(comparison, Mapping) or not comparison:
        return True  # no operator at all: unknown, hence true

    operator, operand = next(iter(comparison.items()))
    if operator == "$ne":
        return not _answer_equals(answer, operand)
    if operator in ("$lt", "$gt"):
        return _ordering_matches(answer, operator, operand, now=now, evaluate_js=evaluate_js)
    if operator == "$exists":
        return isinstance(operand, bool) and _is_answered(answer.get("value", UNDEFINED)) == operand
    if operator in ("$contains", "$doesNotContain"):
        return _contains_matches(answer, operator, operand)
    return True  # $range and any other operator


def form_response_matches(
    responses: Sequence[Mapping[str, Any]],
    condition: Mapping[str, Any] | None,
    *,
    now: datetime,
    date_of_birth: str | None = None,
    gender: str | None = None,
    state: str | None = None,
    url_logic_value: str | None = None,
    score: float | None = None,
    evaluate_js: JsEvaluator | None = None,
) -> bool:
    """Whether a form response's `responses` satisfy `condition` (docs/semantics.md §10.2).

    `responses` are Tellescope's `FormResponseValue`s: `{fieldId, fieldTitle, answer: {type,
    value}, computedValueKey?, ...}`. Leaf keys are field ids or the calculated keys
    `Calculated: BMI` / `Calculated: Age` / `Calculated: Score`, `Gender`, `State` and
    `URL Logic Parameter`. `date_of_birth` (MM-DD-YYYY), `gender` and `state` are the enduser's
    values, used when no tagged answer supplies them; `score` is the form's computed score;
    `url_logic_value` the URL logic parameter. `now` (naive = UTC) dates `$now` and ages.

    A `$lt`/`$gt` bound written as `$JS(<body>)` is evaluated only through `evaluate_js`; without
    it the leaf is false (the bound is unknown, so no comparison can hold). None = no condition.
    """
    if condition is None:
        return True
    return evaluate_compound_filter(
        condition,
        lambda key, comparison: _leaf_matches(
            responses,
            key,
            comparison,
            now=now,
            date_of_birth=date_of_birth,
            gender=gender,
            state=state,
            url_logic_value=url_logic_value,
            score=score,
            evaluate_js=evaluate_js,
        ),
    )


def string_matches(value: str | None, condition: object) -> bool:
    """Tellescope's `evaluate_string_field_comparison` (docs/semantics.md §10.3), case-sensitive.

    A plain string is equality (a missing value reads as ""); null means "not set"; an operator
    object is checked for `$exists`, `$ne`, `$contains`, `$doesNotContain` in that priority,
    wherever the key sits; anything else is true.
    """
    text = value if value is not None else ""
    if isinstance(condition, str):
        return text == condition
    if condition is None or condition is UNDEFINED:
        return not value
    if not isinstance(condition, Mapping):
        return True
    if "$exists" in condition:
        return bool(value) if js_truthy(condition["$exists"]) else not value
    if "$ne" in condition:
        return not js_strict_equals(text, condition["$ne"])
    for operator in ("$contains", "$doesNotContain"):
        if operator in condition:
            needle = condition[operator]
            contains = js_to_string(needle if needle is not None else "") in text
            return contains if operator == "$contains" else not contains
    return True


def medication_title_matches(title: str, condition: Mapping[str, Any] | None) -> bool:
    """Medication Added `titleCondition`: a compound filter whose `title` leaves use
    `string_matches`; leaves on any other key are true. None = no condition."""
    if condition is None:
        return True
    return evaluate_compound_filter(
        condition,
        lambda key, comparison: string_matches(title, comparison) if key == "title" else True,
    )
