"""With BENCH_POSTGRES_URL the benchmarks keep the engine's database (ledger, plans, API keys) in a
fresh schema on that PostgreSQL server, the production path, and drop it when the stack closes;
without it, a SQLite file in the run's folder."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.common import BENCH_POSTGRES_URL, Stack
from store.db import normalise_url
from tests.store.databases import postgres_base  # noqa: F401  (fixture)


def _schemas(url: str) -> set[str]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT schema_name FROM information_schema.schemata"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def test_the_engine_database_is_a_fresh_postgres_schema_dropped_at_close(
    postgres_base: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BENCH_POSTGRES_URL, postgres_base)
    stack = Stack(tmp_path)
    schema = stack.postgres_schema
    assert schema is not None and schema in _schemas(postgres_base)
    assert f"search_path%3D{schema}" in stack.database_url
    stack.api_key()  # migrates the schema and writes a row there
    engine = create_engine(normalise_url(stack.database_url))
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).scalar_one()
    finally:
        engine.dispose()
    assert found > 0
    assert not (tmp_path / "engine.db").exists()
    asyncio.run(stack.close())
    assert schema not in _schemas(postgres_base)


def test_without_it_the_engine_database_is_a_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(BENCH_POSTGRES_URL, raising=False)
    stack = Stack(tmp_path)
    assert stack.postgres_schema is None
    stack.api_key()
    assert (tmp_path / "engine.db").exists()
    asyncio.run(stack.close())
