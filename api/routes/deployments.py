"""Deployments: upload journey YAML (JSON `{files: {name: text}}` or multipart files), list
versions, diff them, roll back. The same service as `journeys deploy` (services.deployments)."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api.deps import ApiKeyDep, StateDep, StoreDep
from api.errors import bad_request, not_found, parse_json, validation_error
from api.openapi_extra import json_body, schema_of
from api.schemas import (
    DeployedJourneyOut,
    DeploymentList,
    DeploymentVersion,
    DeployRequest,
    DeployResponse,
    DiffResponse,
    RollbackRequest,
    RollbackResponse,
    ScheduleSyncOut,
)
from api.state import AppState, TemporalUnavailable
from services import deployments as service

router = APIRouter(prefix="/v1/deployments", tags=["deployments"])

_MULTIPART = {
    "schema": {
        "type": "object",
        "properties": {
            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
            "deployedBy": {"type": "string"},
        },
        "required": ["files"],
    }
}


def parse_multipart(body: bytes, content_type: str) -> tuple[list[service.SourceFile], dict]:
    """multipart/form-data with the standard library's MIME parser (no extra dependency):
    parts with a filename are journey files, the others form fields."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise bad_request("Invalid multipart body")
    files, fields = [], {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True) or b""
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_request(f"Part {part.get_filename() or ''!r} is not UTF-8 text") from None
        filename = part.get_filename()
        if filename:
            files.append(service.SourceFile(filename, text))
        else:
            name = part.get_param("name", header="content-disposition")
            if name:
                fields[str(name)] = text
    return files, fields


async def _temporal_or_none(state: AppState):
    try:
        return await state.temporal_client()
    except TemporalUnavailable:
        return None


@router.post(
    "",
    response_model=DeployResponse,
    summary="Deploy journey YAML: validate, store new versions, make them current",
    openapi_extra=json_body(schema_of(DeployRequest), ("multipart/form-data", _MULTIPART)),
)
async def deploy(request: Request, state: StateDep, key: ApiKeyDep) -> DeployResponse:
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if content_type.startswith("multipart/form-data"):
        files, fields = parse_multipart(body, content_type)
        deployed_by = fields.get("deployedBy")
    else:
        data = parse_json(body)
        try:
            parsed = DeployRequest.model_validate(data)
        except ValidationError as error:
            raise validation_error(error) from None
        files = [service.SourceFile(name, text) for name, text in parsed.files.items()]
        deployed_by = parsed.deployedBy
    by = deployed_by or f"api-key {key.name or key.id}"
    plans = state.store.plans
    compiled = await run_in_threadpool(service.compile_sources, files, plans)
    report = await service.deploy(plans, compiled, by=by, tellescope=state.tellescope)
    if any(j.status != "unchanged" for j in report.journeys):
        report.schedules = await service.sync_schedules(
            await _temporal_or_none(state), plans, state.task_queue
        )
    return DeployResponse(
        journeys=[DeployedJourneyOut(**vars(j)) for j in report.journeys],
        schedules=ScheduleSyncOut(**vars(report.schedules)) if report.schedules else None,
        warnings=report.warnings,
    )


@router.get("", response_model=DeploymentList, summary="Deployed versions (current marked)")
def list_deployments(
    store: StoreDep,
    journeyId: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> DeploymentList:
    rows = store.plans.versions(journeyId)
    if journeyId is not None and not rows:
        raise not_found(f'Could not find a journey "{journeyId}"', journeyId=journeyId)
    return DeploymentList(
        versions=[
            DeploymentVersion(
                journeyId=r.journey_id,
                version=r.version,
                current=r.is_current,
                deployedAt=r.deployed_at,
                deployedBy=r.deployed_by,
                tellescopeJourneyId=r.tellescope_journey_id,
                sourcePath=r.source_path,
            )
            for r in rows
        ]
    )


JourneyPath = Annotated[str, Path(min_length=1, max_length=200)]


@router.get(
    "/{journeyId}/diff",
    response_model=DiffResponse,
    summary="Unified diff of two versions' YAML (default: current vs the one before it)",
)
def diff(
    store: StoreDep,
    journeyId: JourneyPath,
    from_: Annotated[str | None, Query(alias="from", min_length=4, max_length=64)] = None,
    to: Annotated[str | None, Query(min_length=4, max_length=64)] = None,
) -> DiffResponse:
    old, new, text = service.diff_versions(store.plans, journeyId, from_, to)
    return DiffResponse(journeyId=journeyId, fromVersion=old, toVersion=new, diff=text)


@router.post(
    "/{journeyId}/rollback",
    response_model=RollbackResponse,
    summary="Make an earlier version current (running enrollments keep theirs)",
)
async def rollback(
    journeyId: JourneyPath, body: RollbackRequest, state: StateDep, key: ApiKeyDep
) -> RollbackResponse:
    plans = state.store.plans
    done = await service.rollback(
        plans,
        journeyId,
        body.version,
        by=body.by or f"api-key {key.name or key.id}",
        tellescope=state.tellescope,
    )
    schedules = await service.sync_schedules(
        await _temporal_or_none(state), plans, state.task_queue
    )
    return RollbackResponse(**vars(done), schedules=ScheduleSyncOut(**vars(schedules)))
