"""Reading lists the way Tellescope's API does.

The SDK serialises GET parameters like axios 0.21: every top-level key becomes one query parameter;
objects (e.g. `filter`) are JSON-encoded, dates become ISO strings, numbers and booleans their text,
and arrays repeat the key with a `[]` suffix (`ids[]=a&ids[]=b`). Filters match by equality on
(possibly dotted) fields, an array field matching when it contains the value, plus the operators
`_exists _gt _gte _lt _lte _in _nin _ne _all` (types-models `FilterType`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams

from sandbox.clock import parse_when
from sandbox.errors import TellescopeError, invalid_field

_MISSING = object()


def decode_query(params: QueryParams) -> dict[str, Any]:
    """Undo the SDK's parameter encoding: `{"filter": {...}, "limit": 10, "ids": [...]}`."""
    decoded: dict[str, Any] = {}
    for key, raw in params.multi_items():
        if key.endswith("[]"):
            decoded.setdefault(key[:-2], []).append(_decode_value(raw))
        else:
            decoded[key] = _decode_value(raw)
    return decoded


def _decode_value(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw


@dataclass
class ListQuery:
    """The read-many parameters of Tellescope's API docs and the SDK's `LoadFunctionArguments`."""

    limit: int
    last_id: str | None = None
    newest_first: bool = True
    sort_by: str | None = None
    filter: dict[str, Any] = field(default_factory=dict)
    created_from: datetime | None = None
    created_to: datetime | None = None
    range_field: str = "createdAt"
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    ids: list[str] | None = None
    return_count: bool = False

    @classmethod
    def parse(cls, args: dict[str, Any], *, default_limit: int, max_limit: int) -> ListQuery:
        limit = _int_arg(args, "limit", default_limit)
        if limit < 1:
            raise invalid_field("limit", "Not a valid number")
        sort = args.get("sort", "newFirst")
        if sort not in ("newFirst", "oldFirst"):
            raise invalid_field("sort", f"Value does not match any of the expected options: {sort}")
        query = cls(
            limit=min(limit, max_limit),
            last_id=args.get("lastId") or None,
            newest_first=sort == "newFirst",
            sort_by=args.get("sortBy") or None,
            filter=_object_arg(args, "filter"),
            created_from=_date_arg(args, "from"),
            created_to=_date_arg(args, "to"),
            range_field=args.get("fromToField") or "createdAt",
            updated_from=_date_arg(args, "fromUpdated"),
            updated_to=_date_arg(args, "toUpdated"),
            return_count=str(args.get("returnCount", "")).lower() == "true",
        )
        mdb_filter = _object_arg(args, "mdbFilter")
        query.filter.update(mdb_filter)
        ids = args.get("ids")
        if isinstance(ids, str):
            ids = [i for i in ids.split(",") if i]
        query.ids = ids
        return query

    def select(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Matching records in page order, before `lastId`/`limit` are applied."""
        selected = [r for r in records if self._matches(r)]
        if self.sort_by:
            selected.sort(key=lambda r: (_sort_key(r.get(self.sort_by)), r["id"]))
        if self.newest_first:
            selected.reverse()
        return selected

    def page(self, selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
        start = 0
        if self.last_id:
            positions = {r["id"]: i for i, r in enumerate(selected)}
            if self.last_id in positions:
                start = positions[self.last_id] + 1
            elif not self.sort_by:
                # The last record of the previous page may have been deleted since: ids sort by
                # creation time, so continue after where it would have been.
                start = next(
                    (
                        i
                        for i, r in enumerate(selected)
                        if (r["id"] < self.last_id if self.newest_first else r["id"] > self.last_id)
                    ),
                    len(selected),
                )
        return selected[start : start + self.limit]

    def _matches(self, record: dict[str, Any]) -> bool:
        if self.ids is not None and record["id"] not in self.ids:
            return False
        if not _in_range(record.get(self.range_field), self.created_from, self.created_to):
            return False
        if not _in_range(record.get("updatedAt"), self.updated_from, self.updated_to):
            return False
        return matches_filter(record, self.filter)


def matches_filter(record: dict[str, Any], filter_: dict[str, Any]) -> bool:
    for path, expected in filter_.items():
        actual = lookup(record, "id" if path == "_id" else path)
        if isinstance(expected, dict) and expected and all(k[:1] in "_$" for k in expected):
            # `mdbFilter` carries MongoDB's spelling (`$in`) of the same operators.
            ops = {"_" + op[1:] if op.startswith("$") else op: v for op, v in expected.items()}
            if not all(_operator(op, actual, operand) for op, operand in ops.items()):
                return False
        elif not _equals(actual, expected):
            return False
    return True


def lookup(record: dict[str, Any], path: str) -> Any:
    """A (possibly dotted) field; through lists, collects the values of their items."""
    value: Any = record
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list):
            value = [item.get(part, _MISSING) for item in value if isinstance(item, dict)]
            value = [v for v in value if v is not _MISSING]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _equals(actual: Any, expected: Any) -> bool:
    if actual is _MISSING:
        return expected is None
    if isinstance(actual, list) and not isinstance(expected, list):
        return expected in actual
    return actual == expected


def _operator(op: str, actual: Any, operand: Any) -> bool:
    present = actual is not _MISSING and actual is not None
    if op == "_exists":
        return present == bool(operand)
    if op == "_ne":
        return not _equals(actual, operand)
    if op == "_in":
        operand = operand if isinstance(operand, list) else [operand]
        return any(_equals(actual, candidate) for candidate in operand)
    if op == "_nin":
        operand = operand if isinstance(operand, list) else [operand]
        return not any(_equals(actual, candidate) for candidate in operand)
    if op == "_all":
        return isinstance(actual, list) and all(item in actual for item in operand)
    if op in ("_gt", "_gte", "_lt", "_lte"):
        if not present:
            return False
        try:
            left, right = _comparable(actual), _comparable(operand)
            if op == "_gt":
                return left > right
            if op == "_gte":
                return left >= right
            if op == "_lt":
                return left < right
            return left <= right
        except TypeError:
            return False
    raise TellescopeError(400, f"Unknown filter value {json.dumps({op: operand})}")


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        when = parse_when(value) if not value.lstrip("-").isdigit() else None
        return when.timestamp() * 1000 if when else value
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    when = parse_when(value) if isinstance(value, str) else None
    if when is not None:
        return (1, when.timestamp() * 1000)
    return (2, str(value))


def _in_range(value: Any, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    when = parse_when(value)
    if when is None:
        return False
    return (start is None or when >= start) and (end is None or when <= end)


def _int_arg(args: dict[str, Any], name: str, default: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(float(raw))
    except (TypeError, ValueError):
        raise invalid_field(name, "Not a valid number") from None


def _object_arg(args: dict[str, Any], name: str) -> dict[str, Any]:
    raw = args.get(name)
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise invalid_field(name, f"Expecting an object but got {raw}")
    return dict(raw)


def _date_arg(args: dict[str, Any], name: str) -> datetime | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    when = parse_when(raw)
    if when is None:
        raise invalid_field(name, "Invalid date")
    return when
