"""Alembic environment for the engine's store.

The database is `DATABASE_URL` (settings.EngineSettings) unless the caller hands a URL
(`config.attributes["url"]`) or an open connection (`config.attributes["connection"]`, what
`store.db.upgrade_database` does so the upgrade runs inside its own transaction and lock).

Developers: `.venv/bin/alembic -c store/migrations/alembic.ini revision --autogenerate -m "..."`
writes a new revision from the difference between `store/tables.py` and the database; write
portable operations (SQLite and PostgreSQL), and keep `tests/store/test_migrations.py` green.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from store import tables  # registers every table on SQLModel.metadata

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    from settings import EngineSettings
    from store.db import normalise_url

    url = config.attributes.get("url") or EngineSettings().database_url
    return normalise_url(url)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Only the engine's tables (SQLModel.metadata may also hold another app's)."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name in tables.STORE_TABLES or name == "alembic_version"


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_type=True,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from store.db import get_engine

    with get_engine(_url()).connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
