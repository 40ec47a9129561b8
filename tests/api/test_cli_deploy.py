"""The deployment and operations commands of the `journeys` CLI, as an operator runs them: real
processes against a SQLite store, the sandbox as Tellescope and a Temporal dev server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from store.api_keys import ApiKeys
from store.db import get_engine
from store.plans import PlanStore

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
VERSION = re.compile(r"version ([0-9a-f]{12})")


@pytest.fixture
def cli(tmp_path, sandbox, dev):
    database = tmp_path / "cli.db"
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "TELLESCOPE_BASE_URL": sandbox.base_url,
        "TELLESCOPE_API_KEY": "sandbox-dev-key",
        "TEMPORAL_ADDRESS": dev.client.service_client.config.target_host,
        "TASK_QUEUE": dev.task_queue,
    }
    environment.pop("JOURNEYS_API_KEY", None)

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", *map(str, args)],
            cwd=ROOT,
            env={**environment, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    run.database_url = environment["DATABASE_URL"]  # type: ignore[attr-defined]
    return run


async def test_db_upgrade_and_api_keys(cli):
    first = cli("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "database upgraded from base to 0008\n"
    assert cli("db", "upgrade").stdout == "database already at 0008\n"
    assert "up to date" in cli("db", "current").stdout

    created = cli("api-key", "create", "--name", "ci")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert re.fullmatch(r"jk_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}", key)
    assert "cannot be shown again" in created.stderr
    keys = ApiKeys(get_engine(cli.database_url))
    row = keys.verify(key)
    assert row is not None and row.name == "ci"
    listed = cli("api-key", "list").stdout
    assert row.id in listed and "ci" in listed and key.split(".")[1] not in listed
    assert cli("api-key", "revoke", row.id).returncode == 0
    assert keys.verify(key) is None
    assert cli("api-key", "revoke", row.id).returncode == 1


async def test_deploy_list_diff_rollback(cli, tmp_path, sandbox_http):
    deployed = cli("deploy", EXAMPLES, "--by", "alice")
    assert deployed.returncode == 0, deployed.stderr
    lines = deployed.stdout.splitlines()
    journeys = [line for line in lines if "deployed version" in line]
    assert len(journeys) == 7, deployed.stdout
    onboarding = next(line for line in journeys if " onboarding deployed version " in line)
    v1 = VERSION.search(onboarding).group(1)
    record_id = re.search(r"Tellescope journey ([0-9a-f]{24})", onboarding).group(1)
    assert sandbox_http.get(f"/v1/journey/{record_id}").json()["title"] == "New patient onboarding"
    assert lines[-1].startswith("trigger schedules synced"), deployed.stdout

    again = cli("deploy", EXAMPLES / "onboarding.yaml")  # organization.yaml beside it is used
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        f"{EXAMPLES / 'onboarding.yaml'}: onboarding unchanged (version {v1} is current)"
    ]

    changed = tmp_path / "onboarding.yaml"
    changed.write_text(
        (EXAMPLES / "onboarding.yaml")
        .read_text()
        .replace("title: New patient onboarding", "title: New patient onboarding (v2)")
    )
    shutil.copy(EXAMPLES / "organization.yaml", tmp_path / "organization.yaml")
    second = cli("deploy", changed, "--by", "bob")
    assert second.returncode == 0, second.stderr
    v2 = VERSION.search(second.stdout).group(1)
    assert f"(was {v1}); Tellescope journey {record_id} updated" in second.stdout
    assert sandbox_http.get(f"/v1/journey/{record_id}").json()["title"].endswith("(v2)")

    listing = cli("deployments", "onboarding").stdout.splitlines()
    assert [line[:1] for line in listing] == [" ", "*"]
    assert v1 in listing[0] and "by alice" in listing[0]
    assert v2 in listing[1] and "by bob" in listing[1]

    diff = cli("diff", "onboarding")
    assert diff.returncode == 0
    assert f"--- onboarding@{v1}\n+++ onboarding@{v2}\n" in diff.stdout
    assert "+  title: New patient onboarding (v2)\n" in diff.stdout
    against_file = cli("diff", "onboarding", EXAMPLES / "onboarding.yaml")
    assert "+  title: New patient onboarding\n" in against_file.stdout
    assert cli("diff", "onboarding", v2).stderr == "no differences\n"

    rolled = cli("rollback", "onboarding", v1[:7])
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.startswith(f"onboarding: version {v1} is current (was {v2})\n")
    assert PlanStore(get_engine(cli.database_url)).current("onboarding").version == v1
    assert sandbox_http.get(f"/v1/journey/{record_id}").json()["title"] == "New patient onboarding"
    assert cli("rollback", "onboarding", "ffffffff").returncode == 1


async def test_deploy_reports_every_error_and_stores_nothing(cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "journey: {id: b, title: B, defaultState: X, states: [{name: New, priority: N/A}]}\n"
        "steps:\n"
        "  - id: a\n"
        "    events: [{type: onJourneyStart, info: {}}]\n"
        "    action: {type: sendSMSS, info: {}}\n"
    )
    result = cli("deploy", broken, "--offline")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "2 errors"
    assert lines[1] == (
        f'{broken}:5:14 steps.a.action.type: unknown action "sendSMSS" (did you mean "sendSMS"?)'
    )
    assert PlanStore(get_engine(cli.database_url)).journey_ids() == []


async def test_deploy_through_the_api(cli, dev, live_dev, tmp_path):
    source = tmp_path / "via-api.yaml"
    source.write_text(
        "journey: {id: via-api, title: Deployed via the API}\n"
        "steps:\n"
        "  - id: a\n"
        "    events: [{type: onJourneyStart, info: {}}]\n"
        "    action: {type: setEnduserStatus, info: {status: A}}\n"
    )
    refused = cli("deploy", source, "--api", live_dev.url)
    assert refused.returncode == 1 and "API key" in refused.stderr
    result = cli("deploy", source, "--api", live_dev.url, JOURNEYS_API_KEY=dev.key)
    assert result.returncode == 0, result.stderr
    assert "via-api.yaml: via-api deployed version" in result.stdout
    assert dev.plans.current("via-api").source_path == "via-api.yaml"
    listing = cli("deployments", "via-api", "--api", live_dev.url, JOURNEYS_API_KEY=dev.key)
    assert listing.stdout.startswith("* via-api ")
    deleted = cli("delete", "via-api", "--api", live_dev.url, JOURNEYS_API_KEY=dev.key)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.startswith("via-api: deleted (version "), deleted.stdout
    assert [e.kind for e in dev.plans.events("via-api")][-1] == "delete"
    again = cli("delete", "via-api", "--api", live_dev.url, JOURNEYS_API_KEY=dev.key)
    assert again.returncode == 1 and "404" in again.stderr


async def test_delete_a_journey(cli, sandbox_http):
    deployed = cli("deploy", EXAMPLES / "onboarding.yaml", "--by", "alice")
    assert deployed.returncode == 0, deployed.stderr
    record_id = re.search(r"Tellescope journey ([0-9a-f]{24})", deployed.stdout).group(1)
    version = VERSION.search(deployed.stdout).group(1)
    deleted = cli("delete", "onboarding", "--by", "carol")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.startswith(
        f"onboarding: deleted (version {version}); 0 enrollment(s) removed,"
        f" 0 membership(s) unset; Tellescope journey {record_id} deleted\n"
    ), deleted.stdout
    plans = PlanStore(get_engine(cli.database_url))
    assert [(e.kind, e.by) for e in plans.events("onboarding")][-1] == ("delete", "carol")
    assert not any(r.is_current for r in plans.versions("onboarding"))
    assert sandbox_http.get(f"/v1/journey/{record_id}").status_code == 404
    again = cli("delete", "onboarding")
    assert again.returncode == 1 and 'Could not find a journey "onboarding"' in again.stderr
