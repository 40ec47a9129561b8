"""The hooks a resource may add to generic CRUD. Every hook is optional."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService


Record = dict[str, Any]


class Behaviour:
    model: str = ""

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        """Fill defaults (Tellescope's field initializers) before constraints are checked."""

    def check_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        """Raise a TellescopeError when a relationship constraint fails."""

    def after_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        """Side effects once the record is stored."""

    def check_update(
        self,
        records: RecordService,
        caller: Caller,
        before: dict[str, Any],
        updates: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        """Raise a TellescopeError when the updated record would break a constraint."""

    def after_update(
        self,
        records: RecordService,
        caller: Caller,
        before: dict[str, Any],
        updates: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        """Side effects once the update is stored."""

    def after_delete(self, records: RecordService, caller: Caller, record: Record) -> None:
        """Side effects once the record is gone."""
