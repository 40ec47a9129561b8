"""Request bodies the routes read themselves (webhooks, events, multipart deployments) are
documented here: their JSON schemas, with nested definitions registered as OpenAPI components
(merged into the document by `api.main`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

COMPONENTS: dict[str, Any] = {}
_REF = "#/components/schemas/{model}"


def schema_of(model: type[BaseModel] | Any) -> dict[str, Any]:
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    schema = adapter.json_schema(ref_template=_REF)
    COMPONENTS.update(schema.pop("$defs", {}))
    return schema


def json_body(schema: dict[str, Any], *extra_content: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    content.update(dict(extra_content))
    return {"requestBody": {"required": True, "content": content}}
