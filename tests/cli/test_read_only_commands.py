"""Read-only commands open the store without migrating it: on a database that is not migrated
they say so and change nothing; commands that write migrate it first."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy import inspect

from store.db import get_engine
from tests.cli.test_cli_commands import JOURNEYS, ROOT


def run(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [*map(str, JOURNEYS), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def tables(database: Path) -> set[str]:
    return set(inspect(get_engine(f"sqlite:///{database}")).get_table_names())


def test_read_only_commands_do_not_migrate(tmp_path: Path) -> None:
    database = tmp_path / "journeys.db"
    for args in (("deployments",), ("diff", "onboarding"), ("api-key", "list")):
        result = run(database, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "the database is not migrated" in result.stderr
        assert "journeys db upgrade" in result.stderr
    assert tables(database) == set()


def test_writing_commands_migrate_then_reads_work(tmp_path: Path) -> None:
    database = tmp_path / "journeys.db"
    created = run(database, "api-key", "create", "--name", "ci")
    assert created.returncode == 0, created.stderr
    assert "alembic_version" in tables(database)
    listed = run(database, "api-key", "list")
    assert listed.returncode == 0 and " ci " in listed.stdout
    assert run(database, "deployments").returncode == 0
