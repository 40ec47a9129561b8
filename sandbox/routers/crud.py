"""Tellescope's default operations for every model in `sandbox.resources`.

POST   /v1/<model>              create one            → the created record
POST   /v1/<models>             {create: [...]}       → {created, errors}
GET    /v1/<model>/:id          read one              → the record
GET    /v1/<model>?filter=...   first record matching → the record
GET    /v1/<models>             a page                → [records] (or {count})
POST   /v1/<models>/bulk-read   {ids}                 → {matches}
PATCH  /v1/<model>/:id          {updates, options}    → the updated record
DELETE /v1/<model>/:id                                → 204
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from sandbox.auth import CallerDep, require_caller
from sandbox.errors import invalid_field, not_found
from sandbox.query import ListQuery, decode_query, matches_filter
from sandbox.request_body import body_without_key
from sandbox.resources import SPECS, ModelSpec
from sandbox.runtime import sandbox_of


def build_crud_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(require_caller)])
    for spec in SPECS:
        _add_routes(router, spec)
    return router


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise invalid_field("options", f"Expecting an object but got {options}")
    return options


def _add_routes(router: APIRouter, spec: ModelSpec) -> None:
    one, many, model = f"/v1/{spec.singular_path}", f"/v1/{spec.plural_path}", spec.name

    if "create" in spec.actions:

        @router.post(one, name=f"create {model} (one)", tags=[model])
        async def create_one(request: Request, caller: CallerDep) -> Any:
            sandbox = sandbox_of(request)
            record = sandbox.records.create(caller, model, await body_without_key(request))
            return sandbox.records.present(model, record)

    if "createMany" in spec.actions:

        @router.post(many, name=f"create {model} (many)", tags=[model])
        async def create_many(request: Request, caller: CallerDep) -> Any:
            sandbox = sandbox_of(request)
            body = await body_without_key(request)
            created, errors = sandbox.records.create_many(caller, model, body.get("create"))
            return {
                "created": [sandbox.records.present(model, r) for r in created],
                "errors": errors,
            }

    if "read" in spec.actions:

        @router.get(one + "/{record_id}", name=f"get {model} (one)", tags=[model])
        async def get_one(record_id: str, request: Request) -> Any:
            sandbox = sandbox_of(request)
            record = sandbox.records.get(model, record_id)
            args = decode_query(request.query_params)
            if args.get("filter") and not matches_filter(record, args["filter"]):
                raise not_found()
            return sandbox.records.present(model, record)

        @router.get(one, name=f"get {model} (one, by filter)", tags=[model])
        async def get_one_by_filter(request: Request) -> Any:
            sandbox = sandbox_of(request)
            args = decode_query(request.query_params)
            filter_ = {**(args.get("filter") or {}), **(args.get("mdbFilter") or {})}
            if not isinstance(filter_, dict) or not filter_:
                raise not_found()
            matches = sandbox.records.find(model, filter_)
            if not matches:
                raise not_found()
            return sandbox.records.present(model, matches[0])

    if "readMany" in spec.actions:

        @router.get(many, name=f"get {model} (page)", tags=[model])
        async def get_page(request: Request) -> Any:
            sandbox = sandbox_of(request)
            query = ListQuery.parse(
                decode_query(request.query_params),
                default_limit=sandbox.settings.default_page_size,
                max_limit=sandbox.settings.max_page_size,
            )
            if query.return_count:
                return {"count": sandbox.records.count(model, query)}
            return [sandbox.records.present(model, r) for r in sandbox.records.list(model, query)]

        @router.post(many + "/bulk-read", name=f"get {model} (by ids)", tags=[model])
        async def bulk_read(request: Request) -> Any:
            sandbox = sandbox_of(request)
            ids = (await body_without_key(request)).get("ids")
            if not isinstance(ids, list):
                raise invalid_field("ids", f"Expecting a list of values but got {ids}")
            found = (sandbox.store.get(model, i) for i in ids if isinstance(i, str))
            return {"matches": [sandbox.records.present(model, r) for r in found if r]}

    if "update" in spec.actions:

        @router.patch(one + "/{record_id}", name=f"update {model}", tags=[model])
        async def update_one(record_id: str, request: Request, caller: CallerDep) -> Any:
            sandbox = sandbox_of(request)
            body = await body_without_key(request)
            options = _options(body)
            record = sandbox.records.update(
                caller,
                model,
                record_id,
                body.get("updates"),
                replace_object_fields=options.get("replaceObjectFields") is True,
                webhook=options.get("dontSendWebhook") is not True,
            )
            return sandbox.records.present(model, record)

    if "delete" in spec.actions:

        @router.delete(one + "/{record_id}", name=f"delete {model}", tags=[model])
        async def delete_one(record_id: str, request: Request, caller: CallerDep) -> Response:
            sandbox = sandbox_of(request)
            options = _options(await body_without_key(request))
            sandbox.records.delete(
                caller, model, record_id, webhook=options.get("dontSendWebhook") is not True
            )
            return Response(status_code=204)
