"""Tellescope's update semantics (Tellescope's API docs, "Updating Records").

By default an update appends to array fields and merges object fields key by key, leaving other
keys alone; `options.replaceObjectFields: true` replaces arrays and objects wholesale. Scalars are
always replaced.
"""

from __future__ import annotations

import copy
from typing import Any


def apply_updates(
    original: dict[str, Any],
    updates: dict[str, Any],
    *,
    replace_object_fields: bool = False,
    unique_items: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The record after `updates`; `original` is left untouched."""
    merged = copy.deepcopy(original)
    for key, value in updates.items():
        current = merged.get(key)
        if replace_object_fields:
            merged[key] = copy.deepcopy(value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = _append(current, value, unique=key in unique_items)
        elif isinstance(current, dict) and isinstance(value, dict):
            merged[key] = {**current, **copy.deepcopy(value)}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _append(current: list[Any], added: list[Any], *, unique: bool) -> list[Any]:
    result = list(current)
    for item in added:
        if unique and item in result:
            continue
        result.append(copy.deepcopy(item))
    return result


def dedupe(items: list[Any]) -> list[Any]:
    """Order-preserving de-duplication, for list fields Tellescope validates as unique."""
    result: list[Any] = []
    for item in items:
        if item not in result:
            result.append(item)
    return result
