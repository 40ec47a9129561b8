"""Write-time checks with Tellescope's error texts: required fields, field shapes, uniqueness and
foreign keys. Resource-specific constraints live with their behaviour in `sandbox.behaviour`."""

from __future__ import annotations

import re
from typing import Any

from sandbox.clock import parse_when
from sandbox.db import Store
from sandbox.errors import (
    invalid_field,
    missing_field,
    related_not_found,
    uniqueness_violation,
)
from sandbox.ids import is_object_id
from sandbox.resources import FieldKind, ModelSpec

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_required(spec: ModelSpec, record: dict[str, Any]) -> None:
    for name in spec.required:
        if record.get(name) is None:
            raise missing_field(name)
        if record[name] == "" and spec.kinds.get(name) in ("string", "id", None):
            raise invalid_field(name, "Expecting non-empty string but got ")


def check_kinds(spec: ModelSpec, values: dict[str, Any], *, allow_empty: bool = True) -> None:
    """Validate the shapes of the given fields, in place (coerces "true"/"false" and numbers as
    Tellescope's validators do)."""
    for name, value in list(values.items()):
        kind = spec.kinds.get(name)
        if kind is None or value is None:
            continue
        values[name] = _checked(name, kind, value)
    fields = values.get("fields")
    if isinstance(fields, dict) and any(str(k).startswith("_") for k in fields):
        raise invalid_field("fields", "Fields that start with '_' are not allowed")


def _checked(name: str, kind: FieldKind, value: Any) -> Any:
    if kind == "id":
        if not isinstance(value, str):
            raise invalid_field(name, "Expecting string id")
        if value == "":
            return value
        if not is_object_id(value):
            raise invalid_field(name, "Invalid id")
        return value
    if kind == "ids":
        if not isinstance(value, list):
            raise invalid_field(name, f"Expecting a list of values but got {value}")
        for item in value:
            if not is_object_id(item):
                raise invalid_field(name, "Invalid id")
        return value
    if kind == "email":
        if not isinstance(value, str):
            raise invalid_field(name, "Expecting string value")
        if value and not _EMAIL.match(value):
            raise invalid_field(name, f"Invalid email: {value}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise invalid_field(name, "Expecting string value")
        return value
    if kind == "bool":
        if value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            raise invalid_field(name, "Invalid boolean")
        return value
    if kind == "number":
        if isinstance(value, bool):
            raise invalid_field(name, "Not a valid number")
        if isinstance(value, int | float):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise invalid_field(name, "Not a valid number") from None
        return int(number) if number.is_integer() else number
    if kind == "list":
        if not isinstance(value, list):
            raise invalid_field(name, f"Expecting a list of values but got {value}")
        return value
    if kind == "object":
        if not isinstance(value, dict):
            raise invalid_field(name, f"Expecting an object but got {value}")
        return value
    if kind == "date":
        if value == "" or parse_when(value) is not None:
            return value
        raise invalid_field(name, "Invalid date")
    return value


def check_unique(
    store: Store,
    spec: ModelSpec,
    record: dict[str, Any],
    *,
    pending: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> None:
    """Uniqueness across stored records (other than `record` itself) and records created earlier
    in the same request."""
    others = [r for r in (*store.scan(spec.name), *pending) if r["id"] != record.get("id")]
    for name in spec.unique:
        value = record.get(name)
        if value in (None, ""):
            continue
        for other in others:
            if other.get(name) == value:
                raise uniqueness_violation({name: value}, other)
    for names in spec.unique_together:
        values = {name: record.get(name) for name in names}
        if any(v in (None, "") for v in values.values()):
            continue
        for other in others:
            if all(other.get(name) == value for name, value in values.items()):
                raise uniqueness_violation(values, other)


def check_foreign_keys(store: Store, spec: ModelSpec, values: dict[str, Any]) -> None:
    for name, key in spec.foreign_keys.items():
        value = values.get(name)
        if not key.checked or value in (None, ""):
            continue
        if not store.exists(key.model, value):
            raise related_not_found()
