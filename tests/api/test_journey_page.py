"""The journey page: the flowchart with live per-step counts, rendered in headless
Chromium from a live API, checked in the rendered DOM and captured as a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.conftest import journey_yaml

pytestmark = pytest.mark.asyncio(loop_scope="session")
JOURNEY = "page-journey"


def chromium(url: str, profile: Path, *extra: str) -> str:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("needs Debian's chromium (scripts/install-test-tools.sh installs it)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    done = subprocess.run([binary, *flags, *extra, url], capture_output=True, text=True, timeout=90)
    return done.stdout


def step_counts(dom: str, step: str) -> dict[str, int]:
    node = re.search(rf'<g class="step" id="step-{re.escape(step)}".*?</g>', dom, re.S)
    assert node, f"no node for {step} in the rendered page"
    return {
        status: int(n) for status, n in re.findall(r'data-status="(\w+)">\w+ (\d+)<', node.group(0))
    }


async def test_journey_page_shows_live_counts_in_a_browser(api, live_api, tmp_path):
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Page journey")})
    people = [api.new_enduser() for _ in range(3)]
    response = await api.http.post(
        f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": people}
    )
    assert response.status_code == 200, response.text
    await api.wait_for(
        lambda: (
            len(
                [
                    r
                    for r in api.ledger.list(journey_id=JOURNEY, status="active", limit=100)
                    if r.automation_step_id == "later"
                ]
            )
            == 3
        ),
        "three enrollments waiting at `later`",
    )
    url = f"{live_api.url}/journeys/{JOURNEY}?apiKey={api.key}"
    dom = chromium(url, tmp_path / "profile", "--dump-dom")
    assert "<title>Page journey - Journey Engine</title>" in dom
    assert step_counts(dom, "start") == {"active": 0, "finished": 3, "cancelled": 0, "error": 0}
    assert step_counts(dom, "later") == {"active": 3, "finished": 0, "cancelled": 0, "error": 0}
    assert step_counts(dom, "side") == {"active": 0, "finished": 0, "cancelled": 0, "error": 0}
    assert re.search(r'id="total-active">3<', dom) and re.search(r'id="total-finished">3<', dom)
    # edges drawn from the plan, and links into the Temporal UI for the waiting enrollments
    assert 'data-from="start" data-to="later"' in dom and 'data-from="later" data-to="side"' in dom
    ui = api.engine_settings.temporal_ui_url.rstrip("/")
    for enduser_id in people:
        assert f'{ui}/namespaces/default/workflows/journey%3A{JOURNEY}%3A{enduser_id}"' in dom
    assert f"{ui}/namespaces/default/workflows?query=JourneyId%3D%22{JOURNEY}%22" in dom

    shot = tmp_path / "journey.png"
    chromium(url, tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1200,900")
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_journey_page_needs_a_key_and_a_known_journey(api):
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Page journey")})
    anonymous = await api.http.get(f"/journeys/{JOURNEY}", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    wrong = await api.http.get(
        f"/journeys/{JOURNEY}?apiKey=jk_nope.nope", headers={"Authorization": ""}
    )
    assert wrong.status_code == 401
    unknown = await api.http.get("/journeys/no-such-journey")
    assert (
        unknown.status_code == 404
        and unknown.json()["message"] == 'Could not find a journey "no-such-journey"'
    )
    page = await api.http.get(f"/journeys/{JOURNEY}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
