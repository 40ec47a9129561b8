"""Database engine and sessions for a `DATABASE_URL` (SQLite file or PostgreSQL)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` use the psycopg 3 driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def with_search_path(url: str, schema: str) -> str:
    """The same PostgreSQL database with `schema` first on the search path (psycopg `options`):
    a fresh schema per test or benchmark run instead of a database of its own."""
    parsed = make_url(normalise_url(url))
    options = f"-csearch_path={schema}"
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def create_schema(base_url: str, prefix: str) -> tuple[str, str]:
    """A new, empty schema on the PostgreSQL server at `base_url`: its name and the URL that
    uses it (`with_search_path`). For tests and benchmarks; `drop_schema` removes it."""
    schema = f"{prefix}{uuid.uuid4().hex[:16]}"
    _admin(base_url, f'CREATE SCHEMA "{schema}"')
    return schema, with_search_path(base_url, schema)


def drop_schema(base_url: str, schema: str) -> None:
    """Remove a schema made by `create_schema`, with everything in it; pooled connections to it
    are closed first."""
    get_engine(with_search_path(base_url, schema)).dispose()
    _admin(base_url, f'DROP SCHEMA "{schema}" CASCADE')


def _admin(base_url: str, statement: str) -> None:
    admin = create_engine(normalise_url(base_url))
    try:
        with admin.begin() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:  # many writers: WAL + busy timeout
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision. A database already there needs no Alembic at start: reading
# its scripts and importing Alembic cost every process (worker, API) about 7.5 MiB of memory for
# a check that finds nothing to do (BENCHMARKS.md). tests/store/test_migrations.py checks it is
# Alembic's head, so a new migration cannot forget it.
HEAD_REVISION = "0008"
# The revision a database made by the old `metadata.create_all` (before migrations) is at.
BASELINE_REVISION = "0001"
_LOCK_ID = 0x4A524E59  # pg_advisory_xact_lock key: one migrating process at a time ("JRNY")
# Alembic's `op`/`context` proxies are process globals: one migration at a time per process.
_MIGRATING = threading.Lock()


def alembic_config(url: str | None = None):
    """An Alembic config for our migrations, without an ini file. `url` is handed to env.py
    through `attributes` (a URL in an ini option would need its `%` escaped)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.attributes["url"] = url
    return config


@lru_cache(maxsize=1)
def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revisions() -> set[str]:
    return set(_script().get_heads())


def current_revisions(engine: Engine) -> set[str]:
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def at_head_revision(engine: Engine) -> bool:
    """Whether the database is at `HEAD_REVISION`, read without Alembic."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no alembic_version table: a new database, or one made before migrations
        return False
    return {row[0] for row in stored} == {HEAD_REVISION}


def upgrade_engine(engine: Engine, revision: str = "head", *, attempts: int = 5) -> None:
    """Bring the database to `revision` (default: the newest). A no-op when it is there already
    (one cheap read, without Alembic), so every process may call it at start. PostgreSQL: one
    process migrates at a time (advisory lock, transactional DDL). SQLite: a concurrent migrator
    makes this one fail and retry, and it finds the work done."""
    if revision == "head" and at_head_revision(engine):
        return
    from alembic import command
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import DBAPIError

    for attempt in range(attempts):
        try:
            with _MIGRATING, engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})"))
                config = alembic_config()
                config.attributes["connection"] = connection
                inspector = inspect(connection)
                if not inspector.has_table("alembic_version") and inspector.has_table(
                    "journey_versions"
                ):
                    # Made by create_all before migrations existed: it has the baseline tables.
                    command.stamp(config, BASELINE_REVISION)
                command.upgrade(config, revision)
            return
        except DBAPIError:
            if revision == "head" and at_head_revision(engine):
                return  # another process did it meanwhile
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def downgrade_engine(engine: Engine, revision: str) -> None:
    from alembic import command

    with _MIGRATING, engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def upgrade_database(url: str, revision: str = "head") -> Engine:
    """Run the migrations on `url` (SQLite file or PostgreSQL); returns its engine."""
    engine = get_engine(url)
    upgrade_engine(engine, revision)
    return engine


def create_tables(engine: Engine) -> None:
    """Compatibility wrapper (worker, tests): the schema now comes from the migrations."""
    upgrade_engine(engine)


def insert_for(dialect: str) -> Callable[..., Any]:
    """The INSERT of `dialect` (`connection.dialect.name`), which has ON CONFLICT. Each
    dialect's module is imported when first used, so a SQLite deployment never loads
    PostgreSQL's (2.2 MiB of every process's memory, BENCHMARKS.md)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


@contextmanager
def session_for(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
