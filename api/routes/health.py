from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep, StateDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness (no API key)")
def health(session: SessionDep, state: StateDep) -> Health:
    session.exec(text("SELECT 1"))
    temporal = "connected" if state.temporal is not None else "not connected"
    return Health(status="ok", database=session.get_bind().dialect.name, temporal=temporal)
