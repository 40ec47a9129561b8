"""Deployments through the API: versions, Tellescope journey records, diff, rollback."""

from __future__ import annotations

import pytest

from tests.api.conftest import ORGANIZATION, journey_yaml

pytestmark = pytest.mark.asyncio(loop_scope="session")


def tellescope_journey(api, record_id: str) -> dict:
    response = api.sandbox_http.get(f"/v1/journey/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_versions_records_diff_and_rollback(api):
    v1 = journey_yaml("deploy-flow", "Deploy flow")
    files = {"deploy-flow.yaml": v1, "organization.yaml": ORGANIZATION}
    first = (await api.deploy(files, deployedBy="alice"))["journeys"]
    [created] = first
    assert created["status"] == "created" and created["tellescope"] == "created"
    assert created["previousVersion"] is None and created["source"] == "deploy-flow.yaml"
    record_id = created["tellescopeJourneyId"]
    record = tellescope_journey(api, record_id)
    assert record["title"] == "Deploy flow"
    assert [s["name"] for s in record["states"]] == ["New", "Started", "Later"]
    assert record["defaultState"] == "New"

    again = (await api.deploy(files))["journeys"]
    assert [j["status"] for j in again] == ["unchanged"]
    alone = (await api.deploy({"deploy-flow.yaml": v1}))["journeys"]  # deployed organisation kept
    assert [j["status"] for j in alone] == ["unchanged"]

    # a running enrollment on v1
    enduser_id = api.new_enduser()
    response = await api.http.post(
        "/v1/journeys/deploy-flow/enrollments", json={"enduserId": enduser_id}
    )
    assert response.status_code == 200

    v2 = v1.replace("title: Deploy flow", "title: Deploy flow v2").replace(
        "name: Later, priority: Engaged", "name: Later, priority: Disengaged"
    )
    [second] = (await api.deploy({"deploy-flow.yaml": v2}, deployedBy="bob"))["journeys"]
    assert second["status"] == "created" and second["previousVersion"] == created["version"]
    assert second["tellescopeJourneyId"] == record_id and second["tellescope"] == "updated"
    record = tellescope_journey(api, record_id)
    assert record["title"] == "Deploy flow v2"
    assert [s["priority"] for s in record["states"]] == ["N/A", "N/A", "Disengaged"]

    listing = (await api.http.get("/v1/deployments", params={"journeyId": "deploy-flow"})).json()
    assert [(v["version"], v["current"], v["deployedBy"]) for v in listing["versions"]] == [
        (created["version"], False, "alice"),
        (second["version"], True, "bob"),
    ]
    diff = (await api.http.get("/v1/deployments/deploy-flow/diff")).json()
    assert (diff["fromVersion"], diff["toVersion"]) == (created["version"], second["version"])
    assert "-  title: Deploy flow\n+  title: Deploy flow v2\n" in diff["diff"]
    assert diff["diff"].startswith(f"--- deploy-flow@{created['version']}\n")

    response = await api.http.post(
        "/v1/deployments/deploy-flow/rollback", json={"version": created["version"][:6]}
    )
    assert response.status_code == 200, response.text
    rolled = response.json()
    assert (rolled["version"], rolled["previousVersion"]) == (created["version"], second["version"])
    assert tellescope_journey(api, record_id)["title"] == "Deploy flow"
    assert api.plans.current("deploy-flow").version == created["version"]
    # the enrollment keeps the version it started on; new ones get the current one
    status = (await api.http.get(f"/v1/endusers/{enduser_id}/journeys")).json()
    assert status["enrollments"][0]["planVersion"] == created["version"]

    # redeploying v2 makes the stored version current again
    [back] = (await api.deploy({"deploy-flow.yaml": v2}))["journeys"]
    assert back["status"] == "current" and back["version"] == second["version"]
    diff = (
        await api.http.get(
            "/v1/deployments/deploy-flow/diff",
            params={"from": second["version"], "to": created["version"]},
        )
    ).json()
    assert "+  title: Deploy flow\n" in diff["diff"]

    response = await api.http.post(
        "/v1/deployments/deploy-flow/rollback", json={"version": "ffffffff"}
    )
    assert response.status_code == 404
    response = await api.http.get("/v1/deployments/nope/diff")
    assert response.status_code == 404


async def test_compile_errors_are_all_reported_and_nothing_is_stored(api):
    broken = (
        "journey: {id: broken-deploy, title: Broken, defaultState: X,"
        " states: [{name: New, priority: N/A}]}\n"
        "steps:\n"
        "  - id: a\n"
        "    events: [{type: onJourneyStart, info: {}}]\n"
        "    action: {type: sendSMSS, info: {}}\n"
    )
    good = journey_yaml("good-with-broken", "Good with broken")
    response = await api.http.post(
        "/v1/deployments", json={"files": {"broken.yaml": broken, "good.yaml": good}}
    )
    assert response.status_code == 422
    body = response.json()
    texts = [e["text"] for e in body["info"]["errors"]]
    assert len(texts) == 2 and body["message"].startswith("2 errors: broken.yaml:1:")
    assert (
        texts[1]
        == 'broken.yaml:5:14 steps.a.action.type: unknown action "sendSMSS" (did you mean "sendSMS"?)'
    )
    assert body["info"]["errors"][1]["line"] == 5
    assert api.plans.versions("good-with-broken") == []
    assert api.plans.versions("broken-deploy") == []


async def test_bad_uploads(api):
    for files, path in [
        ({"../evil.yaml": journey_yaml("evil", "Evil")}, "files.../evil.yaml"),
        ({"notes.txt": "x"}, "files.notes.txt"),
    ]:
        response = await api.http.post("/v1/deployments", json={"files": files})
        assert response.status_code == 422, response.text
        assert response.json()["info"]["path"] == path
    response = await api.http.post("/v1/deployments", json={"files": {}})
    assert response.status_code == 422 and response.json()["info"]["path"] == "files"
    response = await api.http.post("/v1/deployments", json={"files": {"a.yaml": 3}})
    assert response.status_code == 422 and response.json()["info"]["path"] == "files.a.yaml"


async def test_multipart_upload(api):
    text = journey_yaml("multipart-journey", "Multipart journey")
    response = await api.http.post(
        "/v1/deployments",
        files=[("files", ("multipart-journey.yaml", text.encode(), "application/yaml"))],
        data={"deployedBy": "carol"},
    )
    assert response.status_code == 200, response.text
    [journey] = response.json()["journeys"]
    assert journey["status"] == "created"
    assert api.plans.current("multipart-journey").deployed_by == "carol"
    response = await api.http.post(
        "/v1/deployments", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data"}
    )
    assert response.status_code in (400, 422)


async def test_references_to_deployed_journeys_resolve(api):
    await api.deploy({"ref-target.yaml": journey_yaml("ref-target", "Ref target")})
    referencing = (
        "journey: {id: ref-source, title: Ref source}\n"
        "steps:\n"
        "  - id: hand-over\n"
        "    events: [{type: onJourneyStart, info: {}}]\n"
        "    action: {type: addToJourney, info: {journeyId: ref-target}}\n"
    )
    [journey] = (await api.deploy({"ref-source.yaml": referencing}))["journeys"]
    assert journey["status"] == "created"
    response = await api.http.post(
        "/v1/deployments",
        json={"files": {"ref-source.yaml": referencing.replace("ref-target", "ref-targte")}},
    )
    assert response.status_code == 422
    assert 'unknown journey "ref-targte"' in response.json()["message"]


async def test_title_taken_by_another_journey_is_a_conflict(api):
    await api.deploy({"title-a.yaml": journey_yaml("title-a", "Shared title")})
    response = await api.http.post(
        "/v1/deployments", json={"files": {"title-b.yaml": journey_yaml("title-b", "Shared title")}}
    )
    assert response.status_code == 409, response.text
    assert api.plans.versions("title-b") == []


WARNED = """
journey:
  id: warned-flow
  title: Warned flow
  defaultState: New
  states:
    - {name: New, priority: N/A}
steps:
  - id: sync
    events: [{type: onJourneyStart, info: {}}]
    action: {type: zusSync, info: {}}
"""


async def test_deploy_reports_what_would_not_run_as_tellescope_runs_it(api, tmp_path):
    """A construct that compiles but would not run as Tellescope runs it deploys with a warning
    naming its place, through the API and `journeys validate` alike (exit 0)."""
    body = await api.deploy({"warned-flow.yaml": WARNED})
    assert [j["status"] for j in body["journeys"]] == ["created"]
    assert body["warnings"] == [
        'warning: warned-flow.yaml:11:14 steps.sync.action.type: action "zusSync" has no'
        " configuration in Journey Engine: the step fails at run time (its onError branch runs)"
    ]
    import subprocess
    import sys

    (tmp_path / "warned-flow.yaml").write_text(WARNED)
    result = subprocess.run(
        [sys.executable, "-m", "cli", "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"warning: {tmp_path}/warned-flow.yaml:11:14 steps.sync.action.type:" in result.stderr
    assert "1 journey valid" in result.stdout
