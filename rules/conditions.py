"""Tellescope's enduser condition language (docs/semantics.md §10.1), as a pure function
of its inputs.

Step `enduserConditions` and trigger `enduserCondition` are evaluated inside Temporal workflows,
so everything here is deterministic: no I/O, no wall clock (`now` is always passed in), no
randomness. Tellescope's evaluator is JavaScript and some of its behaviour only follows from JS
semantics (`parseInt`, truthiness, `===`, `new Date`); the small `js_*` helpers below reproduce
just enough of that for results to agree, and the form evaluator (rules/form_conditions.py)
shares them.

Tellescope reads a missing property as `undefined` and a stored null as `null`; a few rules tell
the two apart, so values looked up here are `UNDEFINED` when absent and `None` when null.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from typing_extensions import TypeIs

from rules.dates import as_aware, epoch_ms, from_epoch_ms, parse_any_date, parse_condition_date

__all__ = [
    "INVERSE_RELATIONSHIP_TYPES",
    "UNDEFINED",
    "UPCOMING_EVENTS_KEY",
    "age_in_years",
    "builtin_enduser_value",
    "enduser_value",
    "evaluate_compound_filter",
    "inverse_relationship_type",
    "js_new_date",
    "js_parse_int",
    "js_strict_equals",
    "js_to_string",
    "js_truthy",
    "matches",
]


class _Undefined:
    """JavaScript's `undefined`: a property that is absent, as opposed to one stored as null."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()

UPCOMING_EVENTS_KEY: Final = "__upcomingEvents__"

# Tellescope's `get_inverse_relationship_type` (packages/constants). Any other type, including
# "Caretaker" and "Relates To" themselves, has the inverse "Relates To".
INVERSE_RELATIONSHIP_TYPES: Final[Mapping[str, str]] = {
    "Child": "Parent",
    "Parent": "Child",
    "Sibling": "Sibling",
    "Spouse": "Spouse",
    "Partner": "Partner",
    "Care Recipient": "Caregiver",
    "Caregiver": "Care Recipient",
    "Grandparent": "Grandchild",
    "Grandchild": "Grandparent",
    "Power of Attorney": "Power of Attorney For",
    "Power of Attorney For": "Power of Attorney",
    "Emergency Contact": "Emergency Contact For",
    "Emergency Contact For": "Emergency Contact",
    "Referring Provider": "Referred Patient",
    "Referred Patient": "Referring Provider",
    "Care Partner": "Care Partner",
}
_DEFAULT_INVERSE_RELATIONSHIP: Final = "Relates To"

_INSURANCE_POLICIES: Final = ("insurance", "insuranceSecondary")
_INSURANCE_SUBFIELDS: Final = frozenset(
    {
        "payerName",
        "memberId",
        "payerId",
        "groupNumber",
        "planName",
        "relationship",
        "eligibility",
        "status",
        "payerType",
        "startDate",
    }
)
_QUANTITY_FIELDS: Final = ("height", "weight")
_QUANTITY_SUBFIELDS: Final = frozenset({"value", "unit"})
_HEALTHIE: Final = "Healthie"
_OBJECT_ID: Final = re.compile(r"^[0-9a-fA-F]{24}$")

# ---------------------------------------------------------------------------------------------
# JavaScript semantics the reference evaluators depend on
# ---------------------------------------------------------------------------------------------


def is_number(value: object) -> TypeIs[int | float]:
    """`typeof value === 'number'` (Python's bool is an int; JS's boolean is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _js_number_to_string(number: float) -> str:
    """`String(number)`: integers without a fraction, exponent form outside 1e-7 .. 1e21."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    # Shortest round-tripping digits (Python's repr and JS agree on these), then JS's layout.
    mantissa, _, exponent_text = repr(abs(float(number))).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    point = len(whole) + int(exponent_text or 0)
    leading_zeros = len(all_digits) - len(all_digits.lstrip("0"))
    digits = all_digits[leading_zeros:].rstrip("0")
    point -= leading_zeros
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    exponent_sign = "+" if exponent >= 0 else "-"
    body = digits if count == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{body}e{exponent_sign}{abs(exponent)}"


def js_to_string(value: object) -> str:
    """`String(value)` for the JSON-like values conditions hold."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) < 10**21:
        return str(value)
    if isinstance(value, int | float):
        return _js_number_to_string(float(value))
    if isinstance(value, list | tuple):
        return ",".join("" if e is None or e is UNDEFINED else js_to_string(e) for e in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _is_js_whitespace(char: str) -> bool:
    # str.isspace() also accepts the separators U+001C..U+001F, which JS does not trim.
    return char == "\ufeff" or (char.isspace() and not "\x1c" <= char <= "\x1f")


def js_parse_int(value: object) -> int | None:
    """`parseInt(value)` without a radix; None stands for NaN.

    JS converts the value to a string, skips leading whitespace, reads an optional sign and then
    as many digits as it can, ignoring the rest: "1abc" -> 1, " -7px" -> -7, "abc" -> NaN,
    12.9 -> 12, 1e21 -> 1 (its string form is "1e+21"). A "0x" prefix reads hexadecimal.
    """
    text = js_to_string(value)
    start = 0
    while start < len(text) and _is_js_whitespace(text[start]):
        start += 1
    text = text[start:]
    sign = -1 if text.startswith("-") else 1
    if text and text[0] in "+-":
        text = text[1:]
    if text[:2].lower() == "0x":
        hex_digits = re.match(r"[0-9a-fA-F]+", text[2:])
        return sign * int(hex_digits.group(), 16) if hex_digits else None
    digits = re.match(r"[0-9]+", text)
    return sign * int(digits.group()) if digits else None


def js_truthy(value: object) -> bool:
    """`!!value`: unlike Python, empty lists and objects are truthy in JS."""
    if value is None or value is UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if is_number(value):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, str):
        return value != ""
    return True


def js_strict_equals(left: object, right: object) -> bool:
    """`left === right`: no coercion; objects and arrays are equal only to themselves."""
    if left is UNDEFINED or right is UNDEFINED:
        return left is right
    if left is None or right is None:
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if is_number(left) and is_number(right):
        return left == right
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    if isinstance(left, str | int | float) or isinstance(right, str | int | float):
        return False
    return left is right


def js_new_date(value: object) -> datetime | None:
    """`new Date(value)`; None stands for an Invalid Date.

    Strings are read as ISO 8601 or MM-DD-YYYY (V8 reads the latter as a local date; Tellescope's
    servers run in UTC). Numbers are epoch milliseconds, and, as in JS, `null` is epoch 0.
    """
    if isinstance(value, datetime):
        return as_aware(value)
    if isinstance(value, str):
        return parse_any_date(value)
    if value is None or isinstance(value, bool) or is_number(value):
        try:
            return from_epoch_ms(0 if value is None else float(value))
        except (OverflowError, ValueError):
            return None
    return None


def _js_get(container: object, key: str) -> Any:
    """`container?.[key]`: UNDEFINED unless the container is an object that has the key."""
    if isinstance(container, Mapping) and key in container:
        return container[key]
    return UNDEFINED


def _is_js_object(value: object) -> bool:
    """`typeof value === 'object'`, which in JS is also true of null and of arrays."""
    return value is None or isinstance(value, Mapping | list | tuple)


# ---------------------------------------------------------------------------------------------
# Compound filter (docs/semantics.md §10)
# ---------------------------------------------------------------------------------------------

LeafEvaluator = Callable[[str | None, Any], bool]


def evaluate_compound_filter(compound: object, evaluate_leaf: LeafEvaluator) -> bool:
    """Tellescope's `{$and | $or | condition}` filter; only the *first* key of an object counts.

    `$and: []` is true and `$or: []` false; a non-list body counts as empty (JS would throw). A
    `condition` uses only its first key and hands (key, operand) to `evaluate_leaf`; an empty or
    non-object `condition` hands over `(None, UNDEFINED)`, which each language answers as JS
    does for `evaluate(undefined, undefined)`. `{}`, other keys and non-objects are true.
    """
    if not isinstance(compound, Mapping) or not compound:
        return True
    first_key = next(iter(compound))
    body = compound[first_key]
    if first_key == "$and":
        parts = body if isinstance(body, list | tuple) else ()
        return all(evaluate_compound_filter(part, evaluate_leaf) for part in parts)
    if first_key == "$or":
        parts = body if isinstance(body, list | tuple) else ()
        return any(evaluate_compound_filter(part, evaluate_leaf) for part in parts)
    if first_key == "condition":
        if isinstance(body, Mapping) and body:
            leaf_key = next(iter(body))
            return evaluate_leaf(leaf_key, body[leaf_key])
        return evaluate_leaf(None, UNDEFINED)
    return True


# ---------------------------------------------------------------------------------------------
# Value lookup V(KEY) (docs/semantics.md §10.1)
# ---------------------------------------------------------------------------------------------


def _created_at_from_object_id(record_id: object) -> str | None:
    """An ObjectId's first 4 bytes are its creation time in unix seconds; JS's toISOString."""
    if not isinstance(record_id, str) or not _OBJECT_ID.match(record_id):
        return None
    created = datetime.fromtimestamp(int(record_id[:8], 16), tz=UTC)
    return created.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def builtin_enduser_value(enduser: Mapping[str, Any], key: str) -> Any:
    """The built-in value Tellescope reads for KEY when the enduser has no custom field KEY."""
    policy_name, dot, subfield = key.partition(".")
    if dot and policy_name in _INSURANCE_POLICIES:
        policy = enduser.get(policy_name)
        if subfield in _INSURANCE_SUBFIELDS:
            return _js_get(policy, subfield)
        if subfield == "relationshipDetails":
            # Compared as text: JSON.stringify(details ?? {}), so a missing policy reads "{}".
            details = _js_get(policy, "relationshipDetails")
            if details is None or details is UNDEFINED:
                details = {}
            return json.dumps(details, separators=(",", ":"), ensure_ascii=False, default=str)
    if dot and policy_name in _QUANTITY_FIELDS and subfield in _QUANTITY_SUBFIELDS:
        return _js_get(enduser.get(policy_name), subfield)
    if key == "createdAt":
        created = _created_at_from_object_id(enduser.get("_id") or enduser.get("id"))
        if created is not None:
            return created
    if key == "id" and js_truthy(enduser.get("_id")):
        return js_to_string(enduser["_id"])
    if key == "Healthie ID":
        external_id = enduser.get("externalId")
        if enduser.get("source") == _HEALTHIE and js_truthy(external_id):
            return external_id
        references = enduser.get("references")
        for reference in references if isinstance(references, list) else ():
            if isinstance(reference, Mapping) and reference.get("type") == _HEALTHIE:
                return _js_get(reference, "id")
        return UNDEFINED
    return enduser.get(key, UNDEFINED)


def _custom_field(enduser: Mapping[str, Any], key: str) -> Any:
    fields = enduser.get("fields")
    return _js_get(fields, key)


def enduser_value(enduser: Mapping[str, Any], key: str) -> Any:
    """V(KEY) = `enduser.fields[KEY] ?? built-in`: a custom field shadows a built-in of that name,
    unless it is null (`??` falls through on null as well as on undefined)."""
    custom = _custom_field(enduser, key)
    if custom is not None and custom is not UNDEFINED:
        return custom
    return builtin_enduser_value(enduser, key)


# ---------------------------------------------------------------------------------------------
# Leaf rules (docs/semantics.md §10.1, in Tellescope's order)
# ---------------------------------------------------------------------------------------------


def age_in_years(date_of_birth: object, today: date) -> int | None:
    """Tellescope's `age_for_dob_mmddyyyy`: whole years on `today`; None if unreadable.

    Like the reference it splits on "-" and int-parses the first three parts as month, day and
    year without validating them, so only a missing or non-numeric part makes it unreadable.
    """
    if not isinstance(date_of_birth, str):
        return None
    parts = date_of_birth.split("-")
    month, day, year = (js_parse_int(parts[i]) if i < len(parts) else None for i in range(3))
    if month is None or day is None or year is None:
        return None
    birthday_passed = month < today.month or (month == today.month and day <= today.day)
    return today.year - year - (0 if birthday_passed else 1)


def _compare_lt_else_gt(number: float, operand: object) -> bool:
    """`$lt` (if present, even as null) wins over `$gt`; bounds are int-parsed; neither: false."""
    upper = _js_get(operand, "$lt")
    if upper is not UNDEFINED:
        bound = js_parse_int(upper)
        return bound is not None and number < bound
    lower = _js_get(operand, "$gt")
    if lower is not UNDEFINED:
        bound = js_parse_int(lower)
        return bound is not None and number > bound
    return False


def _age_matches(enduser: Mapping[str, Any], operand: object, now: datetime) -> bool:
    # The reference uses the server's local calendar date; we use `now`'s own date, so a caller
    # wanting a zone's birthdays passes `now.astimezone(zone)`.
    date_of_birth = enduser.get("dateOfBirth")
    if not js_truthy(date_of_birth):
        return False
    age = age_in_years(date_of_birth, now.date())
    return age is not None and _compare_lt_else_gt(age, operand)


def _upcoming_events_match(
    operand: object, now: datetime, upcoming_events: Sequence[Mapping[str, Any]]
) -> bool:
    template_ids = _js_get(operand, "$templateIds")
    if not isinstance(template_ids, list | tuple):
        template_ids = ()  # `?? []`; we also ignore a non-list filter rather than JS-index it
    # Offsets only count as numbers (JS would string-concatenate anything else onto Date.now()).
    from_offset = _js_get(operand, "$fromOffset")
    from_offset_ms = from_offset if is_number(from_offset) and js_truthy(from_offset) else 0
    to_offset = _js_get(operand, "$toOffset")
    to_offset_ms = to_offset if is_number(to_offset) and js_truthy(to_offset) else None
    now_ms = epoch_ms(now)

    def counts(event: Mapping[str, Any]) -> bool:
        if template_ids and not any(
            js_strict_equals(template_id, _js_get(event, "templateId"))
            for template_id in template_ids
        ):
            return False
        start = _js_get(event, "startTimeInMS")
        if not is_number(start) or not start >= now_ms + from_offset_ms:
            return False  # with the default offset 0, past events are excluded
        return to_offset_ms is None or start <= now_ms + to_offset_ms

    count = sum(1 for event in upcoming_events if isinstance(event, Mapping) and counts(event))
    return _compare_lt_else_gt(count, operand)


def _quantity_as_int(quantity: object) -> int:
    """`parseInt(quantity?.value?.toString() || '0')`, NaN read as 0 (both fail the BMI check)."""
    value = _js_get(quantity, "value")
    if value is None or value is UNDEFINED:
        return 0
    return js_parse_int(js_to_string(value) or "0") or 0


def _bmi_matches(enduser: Mapping[str, Any], operand: object) -> bool:
    height_inches = _quantity_as_int(enduser.get("height"))
    weight_pounds = _quantity_as_int(enduser.get("weight"))
    if not (height_inches and weight_pounds):
        return False
    bmi = 703 * weight_pounds / (height_inches * height_inches)
    return _compare_lt_else_gt(bmi, operand)


def inverse_relationship_type(relationship_type: str) -> str:
    return INVERSE_RELATIONSHIP_TYPES.get(relationship_type, _DEFAULT_INVERSE_RELATIONSHIP)


def _relationship_matches(enduser: Mapping[str, Any], relationship_type: str) -> bool:
    wanted = inverse_relationship_type(relationship_type)
    relationships = enduser.get("relationships")
    return any(
        isinstance(relationship, Mapping) and relationship.get("type") == wanted
        for relationship in (relationships if isinstance(relationships, list) else ())
    )


def _custom_type_matches(enduser: Mapping[str, Any], operand: object) -> bool:
    # "", null and undefined all mean the default type (Patient), on either side.
    enduser_type = enduser.get("customTypeId", UNDEFINED)

    def is_default(type_id: object) -> bool:
        return not js_truthy(type_id)

    if isinstance(operand, str):
        if is_default(operand):
            return is_default(enduser_type)
        return js_strict_equals(enduser_type, operand)
    if isinstance(operand, Mapping):
        if not operand:
            return False
        operator, operator_value = next(iter(operand.items()))
        if operator == "$ne":
            if is_default(operator_value):
                return not is_default(enduser_type)
            return not js_strict_equals(enduser_type, operator_value)
        return False  # other operators ($in, ...) are not supported by Tellescope
    if operand is None or operand is UNDEFINED:
        return is_default(enduser_type)
    return False


def _contains(enduser_val: object, needle: object) -> bool:
    # String.prototype.includes converts its argument to a string.
    needle_text = js_to_string(needle)
    if isinstance(enduser_val, list | tuple):
        return any(isinstance(element, str) and needle_text in element for element in enduser_val)
    if isinstance(enduser_val, str):
        return needle_text in enduser_val
    return js_strict_equals(enduser_val, needle)


def _is_set(enduser_val: object) -> bool:
    if isinstance(enduser_val, list | tuple):
        return len(enduser_val) > 0
    return js_truthy(enduser_val)


def _array_includes(array: object, needle: object) -> bool:
    return isinstance(array, list | tuple) and any(js_strict_equals(e, needle) for e in array)


def _enduser_date(value: object) -> datetime | None:
    """The enduser side of $before/$after: a Date, or a string (10 chars with "-" = MM-DD-YYYY)."""
    if not js_truthy(value) or not isinstance(value, datetime | str):
        return None
    return parse_condition_date(value)


def _date_comparison_matches(
    enduser: Mapping[str, Any], key: str, operand: Mapping[str, Any], now: datetime
) -> bool | None:
    """$before / $after found *anywhere* in the operand (so `$offsetMs` may come first); None
    when the operand has neither."""
    date_operator = next((k for k in operand if k in ("$before", "$after")), None)
    if date_operator is None:
        return None
    raw_bound = operand[date_operator]
    bound = as_aware(now) if raw_bound == "$now" else js_new_date(raw_bound)
    if bound is None:
        return False
    offset_ms = operand.get("$offsetMs")
    if is_number(offset_ms):
        if not math.isfinite(offset_ms):
            return False  # JS: the bound becomes an Invalid Date and every comparison is false
        try:
            bound += timedelta(milliseconds=offset_ms)
        except OverflowError:
            return False
    enduser_date = _enduser_date(enduser_value(enduser, key))
    if enduser_date is None:
        return False
    if date_operator == "$before":
        return enduser_date < bound
    return enduser_date > bound


def _object_operand_matches(
    enduser: Mapping[str, Any], key: str, operand: Mapping[str, Any], now: datetime
) -> bool:
    """Rule 6: the operator is the operand's first key, its value the first value."""
    operator, operator_value = next(iter(operand.items()), (UNDEFINED, UNDEFINED))

    if key == "Journeys" and operator in ("$in", "$nin"):
        # Membership = the journey id is a key of `journeys`, whatever its state (even "").
        journeys = enduser.get("journeys")
        in_journey = isinstance(journeys, Mapping) and js_to_string(operator_value) in journeys
        return in_journey if operator == "$in" else not in_journey

    if operator in ("$lt", "$gt"):
        # Only custom fields, and only when stored as numbers: "5" in a field never compares.
        field_value = _custom_field(enduser, key)
        if not is_number(field_value):
            return False
        bound = operator_value if is_number(operator_value) else js_parse_int(operator_value)
        if bound is None:
            return False
        return field_value < bound if operator == "$lt" else field_value > bound

    if operator in ("$contains", "$doesNotContain"):
        contains = _contains(enduser_value(enduser, key), operator_value)
        return contains if operator == "$contains" else not contains

    if operator in ("$isSet", "$isNotSet"):
        is_set = _is_set(enduser_value(enduser, key))
        return is_set if operator == "$isSet" else not is_set

    if operator == "$ne":
        value = enduser_value(enduser, key)
        equal = js_strict_equals(value, operator_value)
        return not (equal or _array_includes(value, operator_value))

    date_result = _date_comparison_matches(enduser, key, operand, now)
    if date_result is not None:
        return date_result

    return False  # $exists, $in outside Journeys, $gte, ... are unknown to this evaluator


def _string_operand_matches(enduser: Mapping[str, Any], key: str, operand: str) -> bool:
    """Rule 7: equality, int-parse equality ("1" and "1abc" match 1), or array membership."""
    value = enduser_value(enduser, key)
    if js_strict_equals(value, operand):
        return True
    parsed = js_parse_int(operand)
    if parsed is not None and is_number(value) and value == parsed:
        return True
    # {tags: "vip"} and {assignedTo: userId} test membership; custom and built-in arrays both count.
    if _array_includes(_custom_field(enduser, key), operand):
        return True
    return _array_includes(builtin_enduser_value(enduser, key), operand)


def _leaf_matches(
    enduser: Mapping[str, Any],
    key: str | None,
    operand: Any,
    *,
    now: datetime,
    upcoming_events: Sequence[Mapping[str, Any]],
    ignore_upcoming_events: bool,
) -> bool:
    if key is None:
        return False  # empty `condition`: JS evaluates (undefined, undefined) to false
    if key == "Age" and _is_js_object(operand):
        return _age_matches(enduser, operand, now)
    if key == UPCOMING_EVENTS_KEY and _is_js_object(operand):
        if ignore_upcoming_events:
            return True
        return _upcoming_events_match(operand, now, upcoming_events)
    if key == "BMI" and _is_js_object(operand):
        return _bmi_matches(enduser, operand)
    if key == "relationships" and isinstance(operand, str):
        return _relationship_matches(enduser, operand)
    if key == "customTypeId":
        return _custom_type_matches(enduser, operand)
    if isinstance(operand, Mapping):
        return _object_operand_matches(enduser, key, operand, now)
    if isinstance(operand, str):
        return _string_operand_matches(enduser, key, operand)
    # Numbers, booleans, arrays, and null (on which the reference code would throw).
    return False


def matches(
    enduser: Mapping[str, Any],
    condition: Mapping[str, Any] | None,
    *,
    now: datetime,
    upcoming_events: Sequence[Mapping[str, Any]] | None = None,
    ignore_upcoming_events: bool = False,
) -> bool:
    """Whether `enduser` (a Tellescope enduser record, JSON-shaped) satisfies `condition`.

    `condition` is a compound filter (docs/semantics.md §10) whose leaves follow
    docs/semantics.md §10.1; None means "no condition" and is true. `now` is the evaluation instant
    (naive = UTC); ages use its calendar date. `upcoming_events` are the enduser's appointments as
    `{startTimeInMS, templateId}` (Tellescope's `_upcomingEvents`); with `ignore_upcoming_events`
    every `__upcomingEvents__` leaf counts as true, as Tellescope's callers that cannot
    supply them do.
    """
    if condition is None:
        return True
    events = upcoming_events if upcoming_events is not None else ()
    return evaluate_compound_filter(
        condition,
        lambda key, operand: _leaf_matches(
            enduser,
            key,
            operand,
            now=now,
            upcoming_events=events,
            ignore_upcoming_events=ignore_upcoming_events,
        ),
    )


def uses_upcoming_events(condition: object) -> bool:
    """Whether a compound filter has a `__upcomingEvents__` leaf (anywhere): evaluating it then
    needs the enduser's upcoming appointments (one read per evaluation)."""
    return UPCOMING_EVENTS_KEY in condition_keys(condition)


def condition_keys(condition: object) -> list[str]:
    """The leaf keys of a compound filter, every branch, in order, once each: what an operator
    needs to see to know why a condition was false (docs/operator-view.md §2)."""
    keys: list[str] = []

    def leaf(key: str | None, operand: Any) -> bool:
        if key is not None and key not in keys:
            keys.append(key)
        return True

    def walk(compound: object) -> None:
        if not isinstance(compound, Mapping) or not compound:
            return
        first_key = next(iter(compound))
        body = compound[first_key]
        if first_key in ("$and", "$or") and isinstance(body, list | tuple):
            for part in body:
                walk(part)
        elif first_key == "condition":
            evaluate_compound_filter({"condition": body}, leaf)

    walk(condition)
    return keys


SEEN_TEXT_MAX = 200  # characters of one value kept in a decision record


def condition_values(
    enduser: Mapping[str, Any], condition: object, keys: Sequence[str] | None = None
) -> dict[str, Any]:
    """V(KEY) for each leaf key of `condition` as the evaluation saw it (docs/semantics.md §10.1):
    JSON values, `None` for undefined, long texts cut to SEEN_TEXT_MAX characters. `Age` shows
    the date of birth it is computed from; `__upcomingEvents__` is not an enduser field. `keys`:
    the condition's `condition_keys`, when the caller keeps them."""
    seen: dict[str, Any] = {}
    for key in condition_keys(condition) if keys is None else keys:
        if key == UPCOMING_EVENTS_KEY:
            continue
        value = enduser_value(enduser, "dateOfBirth" if key == "Age" else key)
        if value is UNDEFINED:
            value = None
        elif isinstance(value, str) and len(value) > SEEN_TEXT_MAX:
            value = value[:SEEN_TEXT_MAX] + "..."
        elif not isinstance(value, str | int | float | bool | list | dict) and value is not None:
            value = str(value)
        seen[key] = value
    return seen


def upcoming_event_view(event: Mapping[str, Any], now_ms: float) -> dict[str, Any] | None:
    """A calendar event as `__upcomingEvents__` sees it (`{startTimeInMS, templateId}`), or None
    when it does not count as upcoming (cancelled, or started before `now_ms`)."""
    start = event.get("startTimeInMS")
    if event.get("cancelledAt") or not isinstance(start, int | float) or isinstance(start, bool):
        return None
    if start < now_ms:
        return None
    return {"id": event.get("id"), "startTimeInMS": start, "templateId": event.get("templateId")}


def journey_state_matches(enduser: Mapping[str, Any], journey_id: str, state: str) -> bool:
    """The deprecated step condition `atJourneyState` (docs/semantics.md §4.1): the enduser's
    state in that journey (`enduser.journeys[journeyId]`, a Tellescope journey id) is exactly
    `state`; not being in the journey at all never matches."""
    journeys = enduser.get("journeys")
    return isinstance(journeys, Mapping) and journeys.get(journey_id, UNDEFINED) == state
