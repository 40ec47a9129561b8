"""A fresh database per test, on SQLite and PostgreSQL (see tests/store/conftest.py); shared
with tests/api."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from store.db import create_schema, drop_schema, normalise_url

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


def postgres_url() -> str:
    explicit = os.environ.get("TEST_POSTGRES_URL")
    if explicit:
        return explicit
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql")):
        return configured
    return DEFAULT_POSTGRES


def _reachable(url: str) -> str | None:
    """None when PostgreSQL answers at `url`, else why not."""
    probe = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect means "not here"
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        probe.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_base() -> str:
    url = postgres_url()
    why = _reachable(url)
    if why is not None:
        message = f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {why}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, empty database URL (no tables) per test and backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    base = request.getfixturevalue("postgres_base")
    schema, url = create_schema(base, "t_")
    try:
        yield url
    finally:
        drop_schema(base, schema)


def fresh_process_prints(script: str, database_url: str) -> str:
    """What `script` prints, run by a new Python process from the repository's root with the
    database URL as its argument: for what a process loads at start, which this one already
    has."""
    done = subprocess.run(
        [sys.executable, "-c", script, database_url],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()
