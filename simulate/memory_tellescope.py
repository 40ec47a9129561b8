"""An in-memory Tellescope for the production enduser handlers, so a simulation writes what
production would write (the same field setters, tag rules, journey-state writes and merge-field
rendering) instead of raw values.

It implements the part of `tellescope.client.TellescopeClient` those handlers use:
records by id (`get`, `get_many`, `update` with Tellescope's update semantics as the sandbox
emulates them: arrays appended, objects merged, unless `replace_object_fields`), lists (`list`,
`find_all`: no users or other records exist in a simulation), and `templated_message`, rendered
with the sandbox's emulation of Tellescope's merge fields (enduser fields resolve; records a
simulation lacks stay as written).
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.merge_fields import MergeContext, render
from sandbox.updates import apply_updates
from tellescope.errors import TellescopeRejected


class MemoryTellescope:
    def __init__(self, endusers: Mapping[str, dict[str, Any]]) -> None:
        # the recorder's own records (by id): updates here are what the simulation shows
        self.records: dict[str, dict[str, dict[str, Any]]] = {"endusers": dict(endusers)}

    def _record(self, model: str, record_id: str) -> dict[str, Any]:
        found = self.records.get(model, {}).get(record_id)
        if found is None:
            path = f"/v1/{model}/{record_id}"
            raise TellescopeRejected(
                f"Could not find a record for the given id ({model} {record_id})",
                status=404,
                method="GET",
                path=path,
                body=None,
            )
        return found

    async def get(self, model: str, record_id: str) -> dict[str, Any]:
        return copy.deepcopy(self._record(model, record_id))

    async def get_many(self, model: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        known = self.records.get(model, {})
        return [copy.deepcopy(known[i]) for i in dict.fromkeys(ids) if i in known]

    async def update(
        self,
        model: str,
        record_id: str,
        updates: Mapping[str, Any],
        *,
        replace_object_fields: bool = False,
    ) -> dict[str, Any]:
        record = self._record(model, record_id)
        merged = apply_updates(record, dict(updates), replace_object_fields=replace_object_fields)
        record.clear()  # in place: the recorder's own dict is the record
        record.update(merged)
        return copy.deepcopy(record)

    async def list(self, model: str, *args: Any, **kwargs: Any) -> builtins.list[dict[str, Any]]:
        return []

    async def find_all(
        self, model: str, *args: Any, **kwargs: Any
    ) -> builtins.list[dict[str, Any]]:
        return []

    async def automation_user_id(self) -> str:
        return "simulated-user"

    async def templated_message(
        self, *, message: str, enduser_id: str, **kwargs: Any
    ) -> dict[str, Any]:
        enduser = self.records["endusers"].get(enduser_id)
        return {"plaintext": render(message, MergeContext(enduser=enduser))}
