"""The shell scripts docker-compose.yml mounts into Temporal's images, run here against stand-ins
for `temporal-sql-tool`, `temporal` and `temporal-server` that record their calls: first run and
re-run (both must succeed, and the re-run must not set anything up twice)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "docker" / "temporal"

SQL_TOOL = r"""#!/bin/sh
echo "temporal-sql-tool $* password=$SQL_PASSWORD" >> "$CALLS"
db=$(echo "$*" | sed -n 's/.*--db \([a-z_]*\).*/\1/p')
case "$*" in
  *update-schema*) [ -f "$STATE/$db" ] || exit 1 ;;
  *setup-schema*) touch "$STATE/$db" ;;
esac
"""
TEMPORAL = r"""#!/bin/sh
echo "temporal $*" >> "$CALLS"
case "$*" in
  *"cluster health"*) echo SERVING ;;
  *"namespace describe"*) [ -f "$STATE/namespace" ] || exit 1 ;;
  *"namespace create"*) touch "$STATE/namespace" ;;
  *"search-attribute list"*) cat "$STATE/attributes" 2>/dev/null || true ;;
  *"search-attribute create"*)
    echo "$*" | sed -n 's/.*--name \([A-Za-z]*\).*/\1 Keyword/p' >> "$STATE/attributes" ;;
esac
"""


def run(script: str, tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    for folder in (bin_dir, state):
        folder.mkdir(exist_ok=True)
    for name, body in (("temporal-sql-tool", SQL_TOOL), ("temporal", TEMPORAL)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "password").write_text("pg-secret\n")
    calls = tmp_path / "calls"
    calls.write_text("")
    done = subprocess.run(
        ["sh", str(SCRIPTS / script)],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "CALLS": str(calls),
            "STATE": str(state),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done, calls.read_text().splitlines()


def test_schema_setup_creates_both_stores_once_and_updates_after(tmp_path):
    env = {
        "POSTGRES_SEEDS": "postgresql",
        "POSTGRES_USER": "journeys",
        "SQL_PASSWORD_FILE": str(tmp_path / "password"),
    }
    first, calls = run("setup-schema.sh", tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert all("password=pg-secret" in call for call in calls)  # from the secret file
    for db, folder in (("temporal", "temporal"), ("temporal_visibility", "visibility")):
        mine = [c.split(" password=")[0] for c in calls if f"--db {db} " in c]
        assert [c.split(f"--db {db} ")[1] for c in mine] == [
            "create",
            f"update-schema -d /etc/temporal/schema/postgresql/v12/{folder}/versioned",
            "setup-schema -v 0.0",
            f"update-schema -d /etc/temporal/schema/postgresql/v12/{folder}/versioned",
        ]
        assert "--plugin postgres12 --ep postgresql -p 5432 -u journeys" in mine[0]
    again, calls = run("setup-schema.sh", tmp_path, **env)
    assert again.returncode == 0, again.stderr
    assert not [c for c in calls if "setup-schema" in c]  # versioned already: only updated

    missing, _ = run("setup-schema.sh", tmp_path, POSTGRES_SEEDS="postgresql")
    assert missing.returncode != 0 and "POSTGRES_USER is required" in missing.stderr


def test_namespace_and_search_attributes_registered_once(tmp_path):
    env = {"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_NAMESPACE": "journeys"}
    first, calls = run("setup-namespace.sh", tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert (
        "temporal operator namespace create --address temporal:7233 -n journeys --retention 720h"
        in calls
    )
    created = [c for c in calls if "search-attribute create" in c]
    assert {c.split("--name ")[1].split()[0] for c in created} == {k.name for k in sa.ALL}
    for key in sa.ALL:
        assert any(f"--name {key.name} --type {sa.cli_type(key)}" in c for c in created)
    again, calls = run("setup-namespace.sh", tmp_path, **env)
    assert again.returncode == 0, again.stderr
    assert not [c for c in calls if " create " in c]  # all there: nothing created twice


def test_server_entrypoint_reads_the_password_file(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    server = bin_dir / "temporal-server"
    server.write_text('#!/bin/sh\necho "$* pwd=$POSTGRES_PWD file=${POSTGRES_PWD_FILE:-unset}"\n')
    server.chmod(0o755)
    (tmp_path / "password").write_text("pg-secret\n")
    done = subprocess.run(
        ["sh", str(SCRIPTS / "server-entrypoint.sh")],
        env={
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "POSTGRES_PWD_FILE": str(tmp_path / "password"),
        },
        capture_output=True,
        text=True,
    )
    if Path("/etc/temporal/entrypoint.sh").exists():  # pragma: no cover - not on a dev machine
        return
    assert done.stdout.strip() == "start pwd=pg-secret file=unset", done.stderr
