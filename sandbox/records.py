"""Create, read, update and delete Tellescope records with Tellescope's semantics.

Every write goes through `RecordService`, whichever route it came from (generic CRUD, a custom
action, a patient helper), so constraints, resource behaviour and record webhooks apply uniformly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.behaviour.base import Behaviour
from sandbox.clock import now_iso
from sandbox.db import Store
from sandbox.errors import TellescopeError, invalid_field, missing_field, not_found
from sandbox.ids import new_id
from sandbox.query import ListQuery, matches_filter
from sandbox.resources import BUILT_IN_READONLY, SPECS, ModelSpec, spec_for
from sandbox.settings import SandboxSettings
from sandbox.updates import apply_updates, dedupe
from sandbox.validation import check_foreign_keys, check_kinds, check_required, check_unique

WebhookType = Literal["create", "update", "delete"]
WebhookSink = Callable[[str, WebhookType, list[dict[str, Any]], list[dict[str, Any]] | None], None]


@dataclass(frozen=True)
class Caller:
    """Who is making a request: the user an API key belongs to, in one organisation."""

    user_id: str
    business_id: str


class RecordService:
    def __init__(
        self,
        store: Store,
        settings: SandboxSettings,
        behaviours: dict[str, Behaviour],
        webhook_sink: WebhookSink | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.behaviours = behaviours
        self.webhook_sink = webhook_sink

    # --- reads -------------------------------------------------------------------------------

    def get(self, model: str, record_id: str) -> dict[str, Any]:
        record = self.store.get(model, record_id) if isinstance(record_id, str) else None
        if record is None:
            raise not_found()
        return record

    def _scan(self, model: str, filter_: dict[str, Any]) -> Iterable[dict[str, Any]]:
        """The records a filter can match, in creation order. A filter on `id` (a value or
        `_in`) narrows the scan with a set lookup before the full match runs: the engine looks
        endusers up by id on every enrollment, and matching every record of a large sandbox
        dominated its answer time."""
        records = self.store.scan(model)
        wanted = filter_.get("id")
        if isinstance(wanted, dict) and set(wanted) == {"_in"} and isinstance(wanted["_in"], list):
            ids = {i for i in wanted["_in"] if isinstance(i, str)}
        elif isinstance(wanted, str):
            ids = {wanted}
        else:
            return records
        return [r for r in records if r["id"] in ids]

    def find(self, model: str, filter_: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(r) for r in self._scan(model, filter_) if matches_filter(r, filter_)]

    def list(self, model: str, query: ListQuery) -> list[dict[str, Any]]:
        return [dict(r) for r in query.page(query.select(self._scan(model, query.filter)))]

    def count(self, model: str, query: ListQuery) -> int:
        return len(query.select(self._scan(model, query.filter)))

    def present(self, model: str, record: dict[str, Any]) -> dict[str, Any]:
        """A record as clients see it (hidden fields removed)."""
        hidden = spec_for(model).hidden if model in _SPEC_NAMES else ()
        return {k: v for k, v in record.items() if k not in hidden}

    # --- writes ------------------------------------------------------------------------------

    def create(
        self, caller: Caller, model: str, values: Any, *, webhook: bool = True
    ) -> dict[str, Any]:
        record = self._build(caller, spec_for(model), values, pending=[])
        self._insert(caller, model, [record], webhook=webhook)
        return record

    def create_many(
        self, caller: Caller, model: str, values: Any, *, webhook: bool = True
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Create what validates; report the rest as `{index, error}` (all failing → raise)."""
        if values is None:
            raise missing_field("create")
        if not isinstance(values, list):
            raise invalid_field("create", f"Expecting a list of values but got {values}")
        if not values:
            raise invalid_field("create", "Expecting a list of values but list is empty")
        if len(values) > 1000:
            raise invalid_field("create", "Arrays should not contain more than 1000 elements")
        spec = spec_for(model)
        created: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        first_error: TellescopeError | None = None
        for index, item in enumerate(values):
            try:
                created.append(self._build(caller, spec, item, pending=created))
            except TellescopeError as error:
                first_error = first_error or error
                errors.append({"index": index, "error": error.message, "code": error.status})
        if not created and first_error is not None:
            raise first_error
        self._insert(caller, model, created, webhook=webhook)
        return created, errors

    def update(
        self,
        caller: Caller,
        model: str,
        record_id: str,
        updates: Any,
        *,
        replace_object_fields: bool = False,
        webhook: bool = True,
        internal: bool = False,
    ) -> dict[str, Any]:
        """Apply `updates`. `internal` writes are the sandbox's own (server-managed fields such as
        a chat room's recent message), exempt from the read-only rules clients are held to."""
        spec = spec_for(model)
        if updates is None:
            raise missing_field("updates")
        if not isinstance(updates, dict):
            raise invalid_field("updates", f"Expecting an object but got {updates}")
        before = self.get(model, record_id)
        updates = dict(updates)
        if not internal:
            blocked = BUILT_IN_READONLY | set(spec.readonly) | set(spec.updates_disabled)
            for name in updates:
                if name in blocked:
                    raise invalid_field("updates", f"{name} is not valid for updates")
        check_kinds(spec, updates)
        check_foreign_keys(self.store, spec, updates)
        after = apply_updates(
            before,
            updates,
            replace_object_fields=replace_object_fields,
            unique_items=spec.unique_items,
        )
        behaviour = self.behaviours.get(model)
        if behaviour is not None:
            behaviour.check_update(self, caller, before, updates, after)
        if any(name in updates for name in spec.unique) or any(
            name in updates for names in spec.unique_together for name in names
        ):
            check_unique(self.store, spec, after)
        after["updatedAt"] = now_iso()
        self.store.save(model, after)
        if behaviour is not None:
            behaviour.after_update(self, caller, before, updates, after)
        if webhook:
            self._webhook(
                model, "update", [after], [{"recordBeforeUpdate": before, "update": updates}]
            )
        return after

    def delete(self, caller: Caller, model: str, record_id: str, *, webhook: bool = True) -> None:
        record = self.get(model, record_id)
        self.store.delete(model, record_id)
        self._cascade(caller, model, record_id)
        behaviour = self.behaviours.get(model)
        if behaviour is not None:
            behaviour.after_delete(self, caller, record)
        if webhook:
            self._webhook(model, "delete", [record], None)

    # --- internals ---------------------------------------------------------------------------

    def _build(
        self,
        caller: Caller,
        spec: ModelSpec,
        values: Any,
        *,
        pending: list[dict[str, Any]],
    ) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise TellescopeError(400, f"Expecting an object but got {values}")
        record = {
            k: v
            for k, v in values.items()
            if k not in BUILT_IN_READONLY and k not in spec.readonly and k != "apiKey"
        }
        check_required(spec, record)
        check_kinds(spec, record)
        for name in spec.unique_items:
            if isinstance(record.get(name), list):
                record[name] = dedupe(record[name])
        behaviour = self.behaviours.get(spec.name)
        if behaviour is not None:
            behaviour.prepare_create(self, caller, record)
        check_foreign_keys(self.store, spec, record)
        if behaviour is not None:
            behaviour.check_create(self, caller, record)
        now = now_iso()
        built = {
            "id": new_id(),
            **record,
            "businessId": caller.business_id,
            "creator": caller.user_id,
            "createdAt": now,
            "updatedAt": now,
        }
        check_unique(self.store, spec, built, pending=pending)
        return built

    def _insert(
        self, caller: Caller, model: str, records: list[dict[str, Any]], *, webhook: bool
    ) -> None:
        if not records:
            return
        self.store.insert(model, records)
        behaviour = self.behaviours.get(model)
        if behaviour is not None:
            for record in records:
                behaviour.after_create(self, caller, record)
        if webhook:
            self._webhook(model, "create", records, None)

    def _cascade(self, caller: Caller, model: str, record_id: str) -> None:
        """Tellescope's `onDependencyDelete: 'delete'`: dependents go with their parent."""
        for spec in SPECS:
            for field, key in spec.foreign_keys.items():
                if key.model != model or key.on_delete != "delete":
                    continue
                dependents = [
                    r["id"] for r in self.store.scan(spec.name) if r.get(field) == record_id
                ]
                for dependent in dependents:
                    if self.store.exists(spec.name, dependent):
                        self.delete(caller, spec.name, dependent, webhook=False)

    def _webhook(
        self,
        model: str,
        kind: WebhookType,
        records: list[dict[str, Any]],
        updates: list[dict[str, Any]] | None,
    ) -> None:
        if self.webhook_sink is None:
            return
        shown = [self.present(model, r) for r in records]
        if updates is not None:
            updates = [
                {**u, "recordBeforeUpdate": self.present(model, u["recordBeforeUpdate"])}
                for u in updates
            ]
        self.webhook_sink(model, kind, shown, updates)


_SPEC_NAMES = {spec.name for spec in SPECS}
