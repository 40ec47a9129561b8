"""Translate pydantic validation errors into `CompileError`s at the user's YAML positions.

Pydantic reports locations through models, including discriminated-union tags that do not exist in
the data (`events.0.afterAction.info.delayInMS`). We walk the user's data along that location
and keep only the parts that are really there, so the error points at the line the user wrote.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from compiler.errors import CompileError
from compiler.yaml_source import PathPart, YamlDocument

DisplayPath = Callable[[Sequence[PathPart]], str]

# What a `type` field means, by the key holding the tagged object (for "unknown X type" messages).
_TAG_KINDS = {
    "events": "event",
    "action": "action",
    "event": "trigger event",
    "cancelConditions": "cancel condition",
    "assignment": "sender assignment",
    "assignmentStrategy": "ticket assignment strategy",
}


@functools.cache
def known_field_names() -> tuple[str, ...]:
    """Every field name of every Tellescope model: the vocabulary for "did you mean" on typos."""
    import models  # local: models import is heavy and only needed when an error is reported

    names: set[str] = set()
    seen: set[type] = set()

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            for name, info in annotation.model_fields.items():
                names.add(info.alias or name)
                walk(info.annotation)
        for arg in get_args(annotation):
            walk(arg)

    for export in vars(models).values():
        walk(export)
    return tuple(sorted(names))


def closest(word: str, candidates: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not matches:  # case-only typos (`sendsms`) score low on ratio; compare folded
        folded = {c.lower(): c for c in candidates}
        return folded.get(word.lower())
    return matches[0]


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    guess = closest(word, candidates)
    return f' (did you mean "{guess}"?)' if guess else ""


def _kind_of(raw_path: Sequence[PathPart]) -> str:
    for part in reversed(raw_path):
        if isinstance(part, str) and part in _TAG_KINDS:
            kind = _TAG_KINDS[part]
            # a trigger's `action` holds trigger actions, a step's `action` holds step actions
            if part == "action" and raw_path and raw_path[0] == "triggers":
                return "trigger action"
            return kind
    return "type"


def translate(
    doc: YamlDocument,
    base: Sequence[PathPart],
    exc: ValidationError,
    display: DisplayPath,
) -> list[CompileError]:
    """Errors of validating the data at `base` (a path into `doc.data`)."""
    data: Any = doc.data
    for part in base:
        data = data[part]
    out: list[CompileError] = []
    for err in exc.errors():
        raw: list[PathPart] = list(base)
        node = data
        loc = err["loc"]
        missing: str | None = None
        for i, part in enumerate(loc):
            if isinstance(node, dict) and part in node:
                raw.append(part)
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                raw.append(part)
                node = node[part]
            elif err["type"] == "missing" and i == len(loc) - 1 and isinstance(part, str):
                missing = part
            # anything else is a union tag or validator name that the user never wrote
        message = _message(err, raw, node)
        if err["type"] == "union_tag_invalid" and isinstance(node, dict) and "type" in node:
            raw.append("type")  # point at the misspelt type name itself
        display_path = display(raw + ([missing] if missing else []))
        line, col = doc.position(raw)
        out.append(CompileError(doc.file, line, col, display_path, message))
    return out


def _message(err: Any, raw: Sequence[PathPart], node: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        field_name = err["loc"][-1]
        hint = " (or give delay and unit)" if field_name == "delayInMS" else ""
        return f'missing required field "{field_name}"{hint}'
    if kind == "extra_forbidden":
        field_name = str(err["loc"][-1])
        return f'unknown field "{field_name}"{did_you_mean(field_name, known_field_names())}'
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = str(ctx.get("tag", node))
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        return f'unknown {_kind_of(raw)} "{tag}"{did_you_mean(tag, expected)}'
    if kind == "union_tag_not_found":
        return 'missing required field "type"'
    if kind in ("value_error", "assertion_error"):
        # our own validators: drop pydantic's "Value error, " prefix, keep the sentence
        return str(err["msg"]).split(", ", 1)[-1]
    return str(err["msg"])
