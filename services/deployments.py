"""Deployments: compile uploaded YAML, store new versions, make them current, keep the Tellescope
journey record in step, sync trigger schedules; list, diff and roll back versions.

Used by `POST /v1/deployments` and by `journeys deploy` alike. Nothing is written unless every
file compiles: compile errors come back all at once (file:line:col path: message). Uploaded files
are compiled together with the sources of the journeys already deployed (so references to them
resolve) and, when the upload has no organization file, with the organisation the current
versions were compiled with (so a one-file deploy keeps office hours and time zone).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from compiler import CompileError, CompileFailed, compile_texts
from models.plan import JourneyPlan
from services.errors import InvalidInput, NotFound
from services.tellescope_journeys import sync_journey_record
from settings import action_handler_references
from store.plans import PlanNotFound, PlanStore
from store.tables import JourneyVersionRow
from tellescope.client import TellescopeClient
from triggers.models import SyncReport
from triggers.schedules import sync_schedules as sync_trigger_schedules

UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._ -]{0,150}\.ya?ml$")
MAX_FILES = 200


@dataclass
class SourceFile:
    name: str  # as shown in errors and stored as the version's source path
    text: str


class CompileErrors(InvalidInput):
    """Every compile error of an upload at once; each names its `file:line:col path`."""

    def __init__(self, errors: list[CompileError]) -> None:
        self.errors = errors
        count = len(errors)
        first = str(errors[0]) if errors else "invalid journeys"
        super().__init__(
            f"{count} error{'s' if count != 1 else ''}: {first}",
            info={"errors": [dataclasses.asdict(e) | {"text": str(e)} for e in errors]},
        )


@dataclass
class DeployedJourney:
    journeyId: str
    version: str
    status: str  # created | current (an earlier version made current again) | unchanged
    previousVersion: str | None
    tellescopeJourneyId: str
    tellescope: str  # created | updated | adopted | recreated | skipped | unchanged
    source: str


@dataclass
class ScheduleSync:
    status: str  # synced | skipped | failed
    message: str = ""
    report: SyncReport | None = None


@dataclass
class DeployReport:
    journeys: list[DeployedJourney] = field(default_factory=list)
    schedules: ScheduleSync | None = None
    # Constructs that compile but would not run as Tellescope runs them (file:line:col path:
    # message); the deploy goes ahead.
    warnings: list[str] = field(default_factory=list)


@dataclass
class Compiled:
    """An upload compiled: its journeys with their files, and the compiler's warnings."""

    journeys: list[tuple[JourneyPlan, SourceFile]]
    warnings: list[str]


# --- compiling an upload ------------------------------------------------------------------------


def check_names(files: list[SourceFile]) -> None:
    if not files:
        raise InvalidInput("no files to deploy", path="files")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} files per deployment", path="files")
    seen: set[str] = set()
    for file in files:
        if not UPLOAD_NAME.match(file.name) or ".." in file.name:
            raise InvalidInput(
                f'Error parsing field files: invalid file name "{file.name}"'
                " (a plain name ending in .yaml or .yml)",
                path=f"files.{file.name}",
            )
        if file.name in seen:
            raise InvalidInput(f'duplicate file "{file.name}"', path="files")
        seen.add(file.name)


def compile_sources(
    files: list[SourceFile], plans: PlanStore, *, plain_names: bool = True
) -> Compiled:
    """Compile uploaded files in the context of what is deployed; the uploaded journeys' plans
    (with `source` = the file's name), their files and the warnings. Raises CompileErrors."""
    if plain_names:
        check_names(files)
    current = plans.current_rows()
    deployed: dict[str, tuple[str, str]] = {}  # id -> (name in errors, text)
    for row in current:
        if row.source.strip():
            name = f"{row.source_path or row.journey_id} (deployed {row.version})"
            deployed[row.journey_id] = (name, row.source)
    organization = JourneyPlan.model_validate(current[0].plan).organization if current else None
    try:
        result = compile_texts(
            [(file.name, file.text) for file in files],
            context=deployed,
            organization=organization,
            # warn only about AI and telephony types without a handler (docs/handlers.md §2)
            handled_actions=action_handler_references(),
        )
    except CompileFailed as failed:
        raise CompileErrors(failed.errors) from None
    by_name = {file.name: file for file in files}
    return Compiled(
        [(plan, by_name[plan.source]) for plan in result.plans],
        [str(warning) for warning in result.warnings],
    )


# --- deploying ------------------------------------------------------------------------------------


async def deploy(
    plans: PlanStore,
    compiled: Compiled,
    *,
    by: str,
    tellescope: TellescopeClient | None,
) -> DeployReport:
    """Store and activate compiled journeys. Tellescope journey records are synced first (a
    Tellescope failure leaves the store untouched); `tellescope=None` skips that (offline), using
    the record ids known from earlier versions."""
    report = DeployReport(warnings=list(compiled.warnings))
    todo: list[tuple[JourneyPlan, SourceFile, str | None, bool]] = []
    for plan, file in compiled.journeys:
        try:
            current = plans.current(plan.journeyId)
        except PlanNotFound:
            current = None
        if current is not None and current.version == plan.version:
            report.journeys.append(
                DeployedJourney(
                    plan.journeyId,
                    plan.version,
                    "unchanged",
                    None,
                    current.tellescope_journey_id,
                    "unchanged",
                    file.name,
                )
            )
            continue
        try:
            plans.row(plan.journeyId, plan.version)
            stored = True
        except PlanNotFound:
            stored = False
        todo.append((plan, file, current.version if current else None, stored))

    record_ids: dict[str, tuple[str, str]] = {}
    taken = {row.tellescope_journey_id: row.journey_id for row in plans.current_rows()}
    for plan, _file, _previous, _stored in todo:
        known = plans.tellescope_journey_id(plan.journeyId)
        if tellescope is None:
            record_ids[plan.journeyId] = (known or plan.tellescopeJourneyId, "skipped")
            continue
        synced = await sync_journey_record(tellescope, plan, known, taken)
        taken[synced.record_id] = plan.journeyId
        record_ids[plan.journeyId] = (synced.record_id, synced.action)

    for plan, file, _previous, _stored in todo:
        record_id, action = record_ids[plan.journeyId]
        # Decided again under the journey's deploy lock: a concurrent deploy may have made this
        # version current meanwhile (then this one changed nothing and records nothing).
        status, previous = plans.activate(
            plan, kind="deploy", by=by, source=file.text, tellescope_journey_id=record_id
        )
        report.journeys.append(
            DeployedJourney(
                plan.journeyId,
                plan.version,
                status,
                previous if status != "unchanged" else None,
                record_id,
                action if status != "unchanged" else "unchanged",
                file.name,
            )
        )
    return report


@dataclass
class RolledBack:
    journeyId: str
    version: str
    previousVersion: str | None
    tellescopeJourneyId: str
    tellescope: str


def _row(plans: PlanStore, journey_id: str, version: str | None) -> JourneyVersionRow:
    """A stored version (the current one when `version` is None), or NotFound."""
    try:
        return plans.row(journey_id, version) if version else plans.current(journey_id)
    except PlanNotFound as missing:
        raise NotFound(str(missing)) from None


async def rollback(
    plans: PlanStore,
    journey_id: str,
    version: str,
    *,
    by: str,
    tellescope: TellescopeClient | None,
) -> RolledBack:
    """Make a stored version current again; running enrollments keep the version they run."""
    target = _row(plans, journey_id, version)
    plan = JourneyPlan.model_validate(target.plan)
    known = plans.tellescope_journey_id(journey_id)
    action = "skipped"
    record_id = target.tellescope_journey_id
    if tellescope is not None:
        taken = {row.tellescope_journey_id: row.journey_id for row in plans.current_rows()}
        synced = await sync_journey_record(tellescope, plan, known, taken)
        record_id, action = synced.record_id, synced.action
    status, previous = plans.activate(
        plan,
        kind="rollback",
        by=by,
        tellescope_journey_id=record_id if action != "skipped" else None,
    )
    if status == "unchanged":  # already current: nothing changed, nothing recorded
        previous = previous_version(plans, journey_id)
    return RolledBack(journey_id, target.version, previous, record_id, action)


async def sync_schedules(client: Any, plans: PlanStore, task_queue: str) -> ScheduleSync:
    """Time-based triggers' Temporal Schedules (triggers.schedules), when Temporal is there."""
    if client is None:
        return ScheduleSync("skipped", "Temporal is not reachable: trigger schedules not synced")
    try:
        report = await sync_trigger_schedules(client, plans, task_queue)
    except Exception as error:  # the deploy itself is done; say what failed
        return ScheduleSync("failed", f"{type(error).__name__}: {error}")
    return ScheduleSync("synced", "", report)


# --- listing and diffing --------------------------------------------------------------------------


def previous_version(plans: PlanStore, journey_id: str) -> str | None:
    """The version that was current before the current one (deploy/rollback history, else the
    version deployed before it)."""
    current = plans.current(journey_id)
    for event in reversed(plans.events(journey_id)):
        if event.version == current.version and event.previous_version:
            return event.previous_version
    earlier = plans.previous(journey_id)
    return earlier.version if earlier else None


def unified_diff(old_text: str, new_text: str, old_label: str, new_label: str) -> str:
    return "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )


def diff_versions(
    plans: PlanStore, journey_id: str, old: str | None = None, new: str | None = None
) -> tuple[str, str, str]:
    """(old version, new version, unified diff of their YAML). Defaults: new = current,
    old = the version current before it."""
    new_row = _row(plans, journey_id, new)
    if old is None:
        old = previous_version(plans, journey_id) if new is None else None
        if old is None:
            raise NotFound(f'journey "{journey_id}" has no earlier version to compare with')
    old_row = _row(plans, journey_id, old)
    text = unified_diff(
        old_row.source,
        new_row.source,
        f"{journey_id}@{old_row.version}",
        f"{journey_id}@{new_row.version}",
    )
    return old_row.version, new_row.version, text
