"""Migrating a journey's running enrollments to another version: the dry run
(docs/live-change.md §3, docs/decisions.md D29; services.migration does the work)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import SettingsDep, StoreDep, TemporalDep
from api.errors import ApiError
from api.schemas import MigrationPreviewResponse, MigrationRequest
from services import migration
from services.journeys import resolve_journey

router = APIRouter(prefix="/v1", tags=["enrollments"])


@router.post(
    "/journeys/{journeyId}/migrations",
    response_model=MigrationPreviewResponse,
    summary="Preview moving running enrollments to another version (dry run only)",
    description="For every running enrollment on another version: what it waits for now and"
    " would wait for on `toVersion` (counts per step, steps cancelled or re-timed). Changes"
    " nothing. `dryRun: false` is a 501: applying is not implemented (docs/decisions.md D29).",
    responses={501: {"description": "Applying a migration is not implemented"}},
)
async def migrate(
    journeyId: Annotated[str, Path(min_length=1, max_length=200)],
    body: MigrationRequest,
    store: StoreDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> MigrationPreviewResponse:
    row = resolve_journey(store.plans, journeyId)
    if not body.dryRun:
        try:
            migration.apply_migration()
        except NotImplementedError as error:
            raise ApiError(501, str(error), {"path": "dryRun"}) from None
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
