"""Migrating a journey's running enrollments to another version: dry run, apply, undo and the
audit (docs/live-change.md §3, docs/decisions.md D29; services.migration does the work)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import ApiKeyDep, SettingsDep, StoreDep, TemporalDep
from api.schemas import (
    MigrationAuditResponse,
    MigrationAuditRow,
    MigrationPreviewResponse,
    MigrationReportResponse,
    MigrationRequest,
    MigrationUndoResponse,
)
from services import migration
from services.errors import NotFound
from services.journeys import resolve_journey

router = APIRouter(prefix="/v1", tags=["enrollments"])
MigrationPath = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_-]+$")]


@router.post(
    "/journeys/{journeyId}/migrations",
    response_model=MigrationPreviewResponse | MigrationReportResponse,
    summary="Move running enrollments to another version (dry run by default)",
    description="`dryRun: true` (default): for every running enrollment on another version,"
    " what it waits for now and would wait for on `toVersion` (counts per step, steps"
    " cancelled or re-timed); nothing changes. `dryRun: false`: each enrollment moves at a"
    " safe point, in batches, with one audit row each; `pending` ones did not answer in time:"
    " send the request again with the `migrationId` to resume. docs/decisions.md D29.",
)
async def migrate(
    journeyId: Annotated[str, Path(min_length=1, max_length=200)],
    body: MigrationRequest,
    store: StoreDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    key: ApiKeyDep,
) -> MigrationPreviewResponse | MigrationReportResponse:
    row = resolve_journey(store.plans, journeyId)
    if body.dryRun:
        preview = await migration.preview_migration(
            temporal,
            store.plans,
            store.ledger,
            row.journey_id,
            body.toVersion,
            body.map,
            body.onRemoved,
            endusers=body.enduserIds,
            query_timeout=timedelta(seconds=settings.query_timeout_seconds),
            concurrency=settings.bulk_concurrency,
        )
        return MigrationPreviewResponse.model_validate(dataclasses.asdict(preview))
    report = await migration.apply_migration(
        temporal,
        store.plans,
        store.ledger,
        store.migration_audit,
        row.journey_id,
        body.toVersion,
        body.map,
        body.onRemoved,
        by=f"api-key {key.name or key.id}",
        migration_id=body.migrationId,
        endusers=body.enduserIds,
        batch_size=body.batchSize,
        concurrency=settings.bulk_concurrency,
    )
    return MigrationReportResponse.model_validate(dataclasses.asdict(report))


@router.post(
    "/migrations/{migrationId}/undo",
    response_model=MigrationUndoResponse,
    summary="Move a migration's enrollments back to the versions they came from",
    description="As migration `{migrationId}-undo`, with the inverse mapping; steps the"
    " migration cancelled stay cancelled. 404 for an unknown migration. docs/decisions.md D29.",
)
async def undo(
    migrationId: MigrationPath, store: StoreDep, temporal: TemporalDep, key: ApiKeyDep
) -> MigrationUndoResponse:
    reports = await migration.undo_migration(
        temporal,
        store.plans,
        store.migration_audit,
        migrationId,
        by=f"api-key {key.name or key.id}",
    )
    return MigrationUndoResponse(
        migrationId=migrationId,
        reports=[MigrationReportResponse.model_validate(dataclasses.asdict(r)) for r in reports],
    )


@router.get(
    "/migrations/{migrationId}",
    response_model=MigrationAuditResponse,
    summary="A migration's audit rows: one per enrollment (from, to, mapping, who, when, outcome)",
)
async def audit(migrationId: MigrationPath, store: StoreDep) -> MigrationAuditResponse:
    rows = store.migration_audit.rows(migrationId)
    if not rows:
        raise NotFound(f'no migration "{migrationId}"', {"migrationId": migrationId})
    return MigrationAuditResponse(
        migrationId=migrationId,
        rows=[
            MigrationAuditRow(
                migrationId=r.migration_id,
                journeyId=r.journey_id,
                enduserId=r.enduser_id,
                fromVersion=r.from_version,
                toVersion=r.to_version,
                mapping=r.mapping,
                onRemoved=r.on_removed,
                by=r.by,
                at=r.at,
                outcome=r.outcome,
                detail=r.detail,
                undoes=r.undoes,
            )
            for r in rows
        ],
    )
