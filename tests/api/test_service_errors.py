"""services.errors -> HTTP answers, in one place (api.errors.install_error_handlers)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.state import TemporalUnavailable
from services.deployments import CompileErrors
from services.errors import (
    Conflict,
    InvalidInput,
    MalformedInput,
    NotFound,
    ServiceError,
    Unauthenticated,
)
from services.tellescope_journeys import JourneyRecordConflict
from services.webhooks import WebhookRejected

CASES: list[tuple[ServiceError, int]] = [
    (InvalidInput("Error parsing field x", path="enduserIds[3]"), 422),
    (CompileErrors([]), 422),
    (MalformedInput("lastId is not a cursor", path="lastId"), 400),
    (Unauthenticated("who?"), 401),
    (WebhookRejected("Invalid webhook integrity"), 401),
    (NotFound('Could not find a journey "x"', {"journeyId": "x"}), 404),
    (Conflict("taken"), 409),
    (JourneyRecordConflict("title taken"), 409),
    (TemporalUnavailable("Temporal at localhost:7233 is not reachable"), 503),
]


def app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{index}")
    def _raise(index: int) -> None:
        raise CASES[index][0]

    return app


@pytest.mark.parametrize("index", range(len(CASES)))
async def test_each_domain_error_has_its_status(index: int) -> None:
    error, status = CASES[index]
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(f"/raise/{index}")
    assert response.status_code == status
    assert response.json() == {"message": error.message, "code": status, "info": error.info}


def test_invalid_input_names_its_path() -> None:
    error = InvalidInput("bad", path="files.x.yaml", info={"errors": []})
    assert error.info == {"errors": [], "path": "files.x.yaml"}
