"""Storage: one generic JSON-document table for every Tellescope model, in SQLite via sqlmodel.

Tellescope is schemaless from a client's point of view (records are JSON with a few shared fields),
so the sandbox stores each record whole and keeps resource-specific behaviour in code. A
write-through cache keeps reads cheap: the sandbox process is the database's only writer.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import StaticPool
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Document(SQLModel, table=True):
    """One Tellescope record. `id` is the 24-hex record id, unique across models."""

    __tablename__ = "documents"

    id: str = Field(primary_key=True)
    model: str = Field(index=True)
    body: str
    createdAt: str
    updatedAt: str


class MetaEntry(SQLModel, table=True):
    """Sandbox bookkeeping that is not a Tellescope record (seed version, printed keys)."""

    __tablename__ = "sandbox_meta"

    key: str = Field(primary_key=True)
    value: str


class Store:
    """Records by model name, as plain dicts in Tellescope's wire shape."""

    def __init__(self, path: Path | str) -> None:
        in_memory = str(path) == ":memory:"
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(
            "sqlite://" if in_memory else f"sqlite:///{path}",
            connect_args={"check_same_thread": False},
            # One shared connection for an in-memory database, else each connection has its own.
            **({"poolclass": StaticPool} if in_memory else {}),
        )

        @event.listens_for(self.engine, "connect")
        def _pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        SQLModel.metadata.create_all(self.engine)
        self._cache: dict[str, dict[str, dict[str, Any]]] = {}

    def close(self) -> None:
        self.engine.dispose()

    # --- reads -------------------------------------------------------------------------------

    def _model(self, model: str) -> dict[str, dict[str, Any]]:
        if model not in self._cache:
            with Session(self.engine) as session:
                rows = session.exec(select(Document).where(Document.model == model)).all()
            loaded = {row.id: json.loads(row.body) for row in rows}
            self._cache[model] = dict(sorted(loaded.items()))
        return self._cache[model]

    def get(self, model: str, record_id: str) -> dict[str, Any] | None:
        record = self._model(model).get(record_id)
        return copy.deepcopy(record) if record is not None else None

    def exists(self, model: str, record_id: str) -> bool:
        return record_id in self._model(model)

    def scan(self, model: str) -> Iterable[dict[str, Any]]:
        """Every record of a model in creation order. Read-only views: copy before changing."""
        return self._model(model).values()

    def count(self, model: str) -> int:
        return len(self._model(model))

    def models(self) -> list[str]:
        with Session(self.engine) as session:
            names = session.exec(select(Document.model).distinct()).all()
        return sorted(set(names) | set(self._cache))

    # --- writes ------------------------------------------------------------------------------

    def insert(self, model: str, records: list[dict[str, Any]]) -> None:
        with Session(self.engine) as session:
            for record in records:
                session.add(_row(model, record))
            session.commit()
        cache = self._model(model)
        for record in records:
            cache[record["id"]] = copy.deepcopy(record)

    def save(self, model: str, record: dict[str, Any]) -> None:
        with Session(self.engine) as session:
            session.merge(_row(model, record))
            session.commit()
        self._model(model)[record["id"]] = copy.deepcopy(record)

    def delete(self, model: str, record_id: str) -> None:
        with Session(self.engine) as session:
            row = session.get(Document, record_id)
            if row is not None:
                session.delete(row)
                session.commit()
        self._model(model).pop(record_id, None)

    # --- sandbox bookkeeping -------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        with Session(self.engine) as session:
            entry = session.get(MetaEntry, key)
        return json.loads(entry.value) if entry else default

    def set_meta(self, key: str, value: Any) -> None:
        with Session(self.engine) as session:
            session.merge(MetaEntry(key=key, value=json.dumps(value)))
            session.commit()


def _row(model: str, record: dict[str, Any]) -> Document:
    return Document(
        id=record["id"],
        model=model,
        body=json.dumps(record, separators=(",", ":")),
        createdAt=record.get("createdAt", ""),
        updatedAt=record.get("updatedAt", ""),
    )
