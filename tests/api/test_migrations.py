"""Migrations through the API and the CLI (docs/live-change.md §3, docs/decisions.md D29):
running enrollments on the previous version previewed against a new one (nothing changes),
moved to it with an audit row each, and moved back."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.api.conftest import journey_yaml
from tests.api.test_cli_deploy import cli  # noqa: F401 (the fixture)
from tests.api.test_pausing import enrolled

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def two_versions(api, journey: str) -> tuple[str, str, str]:
    """One enrollment waiting for `later` (2 days) on v1; v2 makes it 1 day."""
    await api.deploy({f"{journey}.yaml": journey_yaml(journey, "Migrate journey")})
    v1 = api.plans.current(journey).version
    enduser_id = await enrolled(api, journey)
    text = journey_yaml(journey, "Migrate journey").replace(
        "automationStepId: start, delay: 2, unit: Days",
        "automationStepId: start, delay: 1, unit: Days",
    )
    await api.deploy({f"{journey}.yaml": text})
    v2 = api.plans.current(journey).version
    assert v1 != v2
    return enduser_id, v1, v2


async def test_dry_run_reports_and_apply_is_refused(api):
    enduser_id, v1, v2 = await two_versions(api, "migrate-api")
    response = await api.http.post(
        "/v1/journeys/migrate-api/migrations", json={"toVersion": v2, "dryRun": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    (one,) = [e for e in body["enrollments"] if e["enduserId"] == enduser_id]
    assert one["fromVersion"] == v1
    (move,) = one["moves"]
    assert (move["stepId"], move["change"], move["toStepId"]) == ("later", "retimed", "later")
    assert body["retimed"] == {"later": len(body["enrollments"])}
    status = await api.http.get(f"/v1/endusers/{enduser_id}/journeys")
    assert status.json()["enrollments"][0]["planVersion"] == v1  # the dry run changed nothing
    applied = await api.http.post(
        "/v1/journeys/migrate-api/migrations",
        json={"toVersion": v2, "dryRun": False, "enduserIds": [enduser_id]},
    )
    assert applied.status_code == 200, applied.text
    report = applied.json()
    assert report["migrated"] == [enduser_id] and report["failed"] == report["pending"] == []
    status = await api.http.get(f"/v1/endusers/{enduser_id}/journeys")
    assert status.json()["enrollments"][0]["planVersion"] == v2
    audit = await api.http.get(f"/v1/migrations/{report['migrationId']}")
    assert audit.status_code == 200, audit.text
    (row,) = audit.json()["rows"]
    assert (row["fromVersion"], row["toVersion"], row["outcome"]) == (v1, v2, "migrated")
    assert row["by"] == "api-key tests" and row["enduserId"] == enduser_id
    undone = await api.http.post(f"/v1/migrations/{report['migrationId']}/undo")
    assert undone.status_code == 200, undone.text
    assert undone.json()["reports"][0]["migrated"] == [enduser_id]
    status = await api.http.get(f"/v1/endusers/{enduser_id}/journeys")
    assert status.json()["enrollments"][0]["planVersion"] == v1
    missing = await api.http.get("/v1/migrations/m-nope")
    assert missing.status_code == 404
    unknown = await api.http.post("/v1/journeys/migrate-api/migrations", json={"toVersion": "nope"})
    assert unknown.status_code == 404 and 'no version "nope"' in unknown.json()["message"]
    bad = await api.http.post(
        "/v1/journeys/migrate-api/migrations", json={"toVersion": v2, "map": {"later": "gone"}}
    )
    assert bad.status_code == 422 and bad.json()["info"]["path"] == "map.later"


async def test_cli_dry_run_locally_and_through_the_api(cli, dev, live_dev):  # noqa: F811
    enduser_id, v1, v2 = await two_versions(dev, "migrate-cli")
    database = dev.engine_settings.database_url
    # The CLI queries the enrollments, which the worker of this process answers: the
    # subprocess runs in a thread so the event loop goes on.
    local = await asyncio.to_thread(
        cli, "migrate", "migrate-cli", "--to", v2, "--dry-run", DATABASE_URL=database
    )
    assert local.returncode == 0, local.stderr
    assert f"-> version {v2} (dry run: nothing changed)" in local.stdout
    assert f"{enduser_id} (from {v1}):" in local.stdout
    assert "later re-timed, due" in local.stdout
    remote = await asyncio.to_thread(
        cli,
        "migrate",
        "migrate-cli",
        "--to",
        v2,
        "--dry-run",
        "--format",
        "json",
        "--api",
        live_dev.url,
        JOURNEYS_API_KEY=dev.key,
    )
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["retimed"] == {"later": 1}
    applied = await asyncio.to_thread(
        cli, "migrate", "migrate-cli", "--to", v2, "--by", "carol", DATABASE_URL=database
    )
    assert applied.returncode == 0, applied.stderr
    assert "migrate: 1/1" in applied.stdout and ": 1 migrated," in applied.stdout, applied.stdout
    migration_id = applied.stdout.split("migration ")[1].split(":")[0]
    status = await dev.http.get(f"/v1/endusers/{enduser_id}/journeys")
    assert status.json()["enrollments"][0]["planVersion"] == v2
    undo = await asyncio.to_thread(
        cli,
        "migrate",
        "migrate-cli",
        "--undo",
        migration_id,
        "--api",
        live_dev.url,
        JOURNEYS_API_KEY=dev.key,
    )
    assert undo.returncode == 0, undo.stderr
    assert f"(undoes {migration_id})" in undo.stdout and ": 1 migrated," in undo.stdout
    bad = cli(
        "migrate", "migrate-cli", "--to", v2, "--dry-run", "--map", "later", DATABASE_URL=database
    )
    assert bad.returncode == 1 and "--map[0]" in bad.stderr
