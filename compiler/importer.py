"""Tellescope export (JSON from its API) -> our journey YAML with readable ids.

Input files may hold `{"journey": {...}, "steps": [...], "triggers": [...]}`, a single record, or a
list of records (as `GET /v1/automation-steps` returns them); records are told apart by shape and
grouped by journey. ObjectIds of steps, triggers and journeys in the import become readable,
unique slugs everywhere they are referenced; ids of records outside the import are kept as-is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

Json = dict[str, Any]  # a record of the export, as Tellescope wrote it
READ_ONLY_FIELDS = (
    "businessId",
    "createdAt",
    "updatedAt",
    "creator",
    "organizationIds",
    "sharedWithOrganizations",
)


class ImportError_(ValueError):
    """An export that cannot be imported; the message names the file and the record."""


def slug(text: str, fallback: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text or "")
    out = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
    return out[:48].strip("-") or fallback


def _kind(record: dict[str, Any]) -> str | None:
    if "events" in record and "action" in record:
        return "step"
    if "event" in record and "action" in record:
        return "trigger"
    if "title" in record and ("states" in record or "defaultState" in record):
        return "journey"
    return None


def read_export(paths: Iterable[Path]) -> tuple[list[Json], list[Json], list[Json]]:
    journeys: list[Json] = []
    steps: list[Json] = []
    triggers: list[Json] = []
    buckets = {"journey": journeys, "step": steps, "trigger": triggers}
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ImportError_(
                f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
            ) from None
        if isinstance(data, dict) and any(k in data for k in ("journey", "steps", "triggers")):
            records = [data["journey"]] if data.get("journey") else []
            records += list(data.get("steps") or []) + list(data.get("triggers") or [])
        else:
            records = data if isinstance(data, list) else [data]
        for index, record in enumerate(records):
            kind = _kind(record) if isinstance(record, dict) else None
            if kind is None:
                raise ImportError_(
                    f"{path}: record [{index}] is not a journey, automation step or trigger"
                )
            buckets[kind].append(record)
    return journeys, steps, triggers


class _Names:
    """Readable, unique ids for imported records."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.by_object_id: dict[str, str] = {}

    def name(self, object_id: str | None, wanted: str) -> str:
        candidate, n = wanted, 2
        while candidate in self.taken:
            candidate, n = f"{wanted}-{n}", n + 1
        self.taken.add(candidate)
        if object_id:
            self.by_object_id[object_id] = candidate
        return candidate

    def of(self, object_id: object) -> str | None:
        """The id given to the record with this ObjectId, if any."""
        return self.by_object_id.get(object_id) if isinstance(object_id, str) else None


def _step_name(step: dict[str, Any]) -> str:
    action = step.get("action") or {}
    info = action.get("info") or {}
    kind = slug(str(action.get("type", "")), "step")
    for key in ("status", "title", "message"):
        if isinstance(info.get(key), str) and info[key].strip():
            return f"{kind}-{slug(info[key], '')}".strip("-")[:60].strip("-")
    return kind


def _strip(record: dict[str, Any], *extra: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in READ_ONLY_FIELDS + extra}


def convert(journeys: list[Json], steps: list[Json], triggers: list[Json]) -> dict[str, Json]:
    """Return {journey slug: YAML document (journey, steps, triggers)}."""
    journey_names, step_names, trigger_names = _Names(), _Names(), _Names()
    for journey in journeys:
        journey_names.name(journey.get("id"), slug(journey.get("title", ""), "journey"))
    for step in steps:
        step_names.name(step.get("id"), _step_name(step))
    for trigger in triggers:
        trigger_names.name(trigger.get("id"), slug(trigger.get("title", ""), "trigger"))

    def journey_ref(value: Any) -> Any:  # an ObjectId: the journey's readable id
        return journey_names.by_object_id.get(value, value)

    documents: dict[str, Json] = {}
    for journey in journeys:
        name = journey_names.of(journey.get("id")) or slug(journey["title"], "j")
        body = {"id": name, **_strip(journey, "id")}
        documents[name] = {"journey": body, "steps": [], "triggers": []}
    for step in steps:
        owner = journey_ref(step.get("journeyId"))
        if owner not in documents:
            raise ImportError_(
                f"automation step {step.get('id')} belongs to journey {step.get('journeyId')},"
                " which is not in the import"
            )
        converted = _strip(step, "id", "journeyId")
        converted = {"id": step_names.by_object_id[step["id"]], **converted}
        converted = _remap(
            converted, step_names.by_object_id, trigger_names.by_object_id, journey_ref
        )
        documents[owner]["steps"].append(converted)
    for trigger in triggers:
        scoped = journey_ref(trigger.get("journeyId")) if trigger.get("journeyId") else None
        target = scoped or journey_ref(
            (trigger.get("action", {}).get("info") or {}).get("journeyId")
        )
        home = target if target in documents else next(iter(documents), None)
        if home is None:
            raise ImportError_(f"trigger {trigger.get('id')} has no journey to live with")
        converted = {"id": trigger_names.by_object_id[trigger["id"]], **_strip(trigger, "id")}
        converted = _remap(
            converted, step_names.by_object_id, trigger_names.by_object_id, journey_ref
        )
        documents[home]["triggers"].append(converted)
    for document in documents.values():
        if not document["triggers"]:
            del document["triggers"]
    return documents


def _remap(
    node: Any, steps: dict[str, str], triggers: dict[str, str], journey_ref: Callable[[Any], Any]
) -> Any:
    """Replace ObjectId references (automationStepId, triggerId, journeyId) with readable ids."""
    if isinstance(node, list):
        return [_remap(v, steps, triggers, journey_ref) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "automationStepId" and isinstance(value, str):
            out[key] = steps.get(value, value)
        elif key == "triggerId" and isinstance(value, str):
            out[key] = triggers.get(value, value)
        elif key == "journeyId" and isinstance(value, str):
            out[key] = journey_ref(value)
        else:
            out[key] = _remap(value, steps, triggers, journey_ref)
    return out


def dump_yaml(document: Json) -> str:
    body = yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)
    return "# Imported from a Tellescope export by `journeys import`.\n" + body


def import_files(paths: Iterable[Path], output: Path) -> list[Path]:
    documents = convert(*read_export(paths))
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents.items():
        target = output / f"{name}.yaml"
        target.write_text(dump_yaml(document), encoding="utf-8")
        written.append(target)
    return written
