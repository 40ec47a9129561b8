"""The schema comes from Alembic migrations (store/migrations), on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from store import tables
from store.db import (
    HEAD_REVISION,
    at_head_revision,
    create_tables,
    current_revisions,
    downgrade_engine,
    get_engine,
    head_revisions,
    upgrade_database,
)
from tests.store.databases import fresh_process_prints

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "journey_versions",
    "automated_actions",
    "api_keys",
    "processed_webhooks",
    "deployment_events",
    "idempotency_keys",
    "message_sends",
    "message_policy_locks",
    "trigger_decisions",
    "enrollment_migrations",
    "alembic_version",
}


def test_upgrade_creates_every_table_and_is_idempotent(database_url):
    engine = upgrade_database(database_url)
    assert set(inspect(engine).get_table_names()) == TABLES
    assert current_revisions(engine) == head_revisions() == {"0008"}
    upgrade_database(database_url)  # a second run is a no-op
    assert current_revisions(engine) == {"0008"}


def test_the_head_revision_constant_is_alembics_head():
    """store.db.HEAD_REVISION lets a process skip Alembic on a database already at head: a new
    migration must move it too."""
    assert head_revisions() == {HEAD_REVISION}


def test_a_start_on_a_database_at_head_does_not_import_alembic(database_url):
    """Every process calls upgrade_database at start; on a database already at head that is one
    read, without Alembic (about 7.5 MiB of memory per process, BENCHMARKS.md)."""
    engine = get_engine(database_url)
    assert not at_head_revision(engine)  # a new database (no alembic_version table)
    upgrade_database(database_url)
    assert at_head_revision(engine)
    script = (
        "import sys\n"
        "from store.db import upgrade_database\n"
        "upgrade_database(sys.argv[1])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    assert fresh_process_prints(script, database_url) == "[]"
    downgrade_engine(engine, "0007")  # behind head: Alembic brings it up
    assert not at_head_revision(engine)
    upgrade_database(database_url)
    assert at_head_revision(engine) and current_revisions(engine) == {HEAD_REVISION}


def test_migrations_match_the_sqlmodel_tables(database_url):
    """Autogenerate finds nothing to do: store/tables.py and the migrations agree."""
    engine = upgrade_database(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": ours}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def ours(obj, name, type_, reflected, compare_to) -> bool:
    """Our tables only: the sandbox's SQLModel tables share SQLModel.metadata in one process."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name in tables.STORE_TABLES


def test_database_made_by_create_all_is_stamped_and_upgraded(database_url):
    """Before migrations, create_tables used metadata.create_all for the first two tables;
    such a database keeps its rows and gains the new tables."""
    engine = get_engine(database_url)
    legacy = [tables.JourneyVersionRow.__table__, tables.AutomatedActionRow.__table__]
    SQLModel.metadata.create_all(engine, tables=legacy)
    with engine.begin() as connection:
        connection.execute(
            tables.JourneyVersionRow.__table__.insert().values(
                journey_id="legacy",
                version="v1",
                plan={},
                source="journey: {}",
                source_path="",
                tellescope_journey_id="x",
                deployed_at=datetime.now(UTC),
                deployed_by="",
                is_current=True,
            )
        )
    assert current_revisions(engine) == set()
    upgrade_database(database_url)
    assert current_revisions(engine) == {"0008"}
    assert set(inspect(engine).get_table_names()) == TABLES
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM journey_versions")).scalar()
    assert count == 1


def test_downgrade_to_base_and_up_again(database_url):
    engine = upgrade_database(database_url)
    downgrade_engine(engine, "0002")
    assert "idempotency_keys" not in inspect(engine).get_table_names()
    downgrade_engine(engine, "0001")
    assert "api_keys" not in inspect(engine).get_table_names()
    downgrade_engine(engine, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    create_tables(engine)  # the compatibility wrapper upgrades
    assert set(inspect(engine).get_table_names()) == TABLES


def test_concurrent_upgrades_both_succeed(database_url):
    """Worker, API and an operator starting together (separate processes): one migrates, the
    others wait for it (PostgreSQL) or retry and find the work done (SQLite)."""
    script = "import sys; from store.db import upgrade_database; upgrade_database(sys.argv[1])"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert current_revisions(get_engine(database_url)) == {"0008"}


def test_upgrades_in_threads_of_one_process(database_url):
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            upgrade_database(database_url)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert current_revisions(get_engine(database_url)) == {"0008"}


def test_process_after_holds_epoch_milliseconds(database_url):
    """processAfter is epoch ms (about 1.8e12): past a 32-bit column, which PostgreSQL refused
    before migration 0005."""
    engine = upgrade_database(database_url)
    due = 1_780_086_400_123
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            tables.AutomatedActionRow.__table__.insert().values(
                id="64f0000000000000000000a1",
                enduser_id="64f0000000000000000000e1",
                journey_id="j",
                journey_version="v1",
                tellescope_journey_id="64f0000000000000000000b1",
                automation_step_id="s",
                tellescope_step_id="64f0000000000000000000c1",
                workflow_id="journey:j:e",
                event={"type": "onJourneyStart", "info": {}},
                action={"type": "sendSMS", "info": {}},
                status="active",
                process_after=due,
                created_at=now,
                updated_at=now,
            )
        )
        stored = connection.execute(text("SELECT process_after FROM automated_actions")).scalar()
    assert stored == due
