"""The journey page: the flowchart with patients per step, rendered in headless Chromium from a
live API, checked in the rendered DOM and captured as a screenshot; its sign-in. The layout, the
live refresh and the index are tested in tests/api/test_journey_pages.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
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

    # a one-click sign-in link (no API key in the URL): opening it sets the session cookie and
    # redirects to the page
    def link() -> str:
        response = httpx.post(
            f"{live_api.url}/v1/page-links",
            json={"journeyId": JOURNEY},
            headers={"Authorization": f"API_KEY {api.key}"},
        )
        assert response.status_code == 200, response.text
        assert "token=" in response.json()["url"] and api.key not in response.json()["url"]
        return live_api.url + response.json()["url"]

    dom = chromium(link(), tmp_path / "profile", "--dump-dom")
    assert "<title>Page journey - Journey Engine</title>" in dom
    # patients per step (docs/decisions.md D24)
    assert step_counts(dom, "start") == {"waiting": 0, "done": 3, "cancelled": 0, "failed": 0}
    assert step_counts(dom, "later") == {"waiting": 3, "done": 0, "cancelled": 0, "failed": 0}
    assert step_counts(dom, "side") == {"waiting": 0, "done": 0, "cancelled": 0, "failed": 0}
    assert re.search(r'id="total-active">3<', dom) and re.search(r'id="total-finished">0<', dom)
    # edges drawn from the plan, and links into the Temporal UI for the waiting enrollments
    assert 'data-from="start" data-to="later"' in dom and 'data-from="later" data-to="side"' in dom
    ui = api.engine_settings.temporal_ui_url.rstrip("/")
    for enduser_id in people:
        assert f'{ui}/namespaces/default/workflows/journey%3A{JOURNEY}%3A{enduser_id}"' in dom
    assert f"{ui}/namespaces/default/workflows?query=JourneyId%3D%22{JOURNEY}%22" in dom

    shot = tmp_path / "journey.png"
    chromium(link(), tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1200,900")
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_journey_page_needs_a_key_and_a_known_journey(api):
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Page journey")})
    anonymous = await api.http.get(f"/journeys/{JOURNEY}", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    wrong = await api.http.get(
        f"/journeys/{JOURNEY}", headers={"Authorization": "API_KEY jk_no.no"}
    )
    assert wrong.status_code == 401
    unknown = await api.http.get("/journeys/no-such-journey")
    assert (
        unknown.status_code == 404
        and unknown.json()["message"] == 'Could not find a journey "no-such-journey"'
    )
    page = await api.http.get(f"/journeys/{JOURNEY}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def cookie_header(session: str) -> dict:
    return {
        "headers": {
            "Authorization": "",
            "Accept": "text/html",
            "Cookie": f"journeys_session={session}",
        }
    }


async def test_a_browser_signs_in_once_and_keeps_a_signed_session_cookie(api):
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Page journey")})
    browser = {"Authorization": "", "Accept": "text/html"}
    page = f"/journeys/{JOURNEY}"

    # no key: the sign-in form (401), which posts the key once
    anonymous = await api.http.get(page, headers=browser)
    assert anonymous.status_code == 401 and 'action="/journeys/sign-in"' in anonymous.text
    assert 'type="password"' in anonymous.text and f'value="{page}"' in anonymous.text

    # a key in the URL is refused, even a valid one, and says why
    in_url = await api.http.get(f"{page}?apiKey={api.key}", headers=browser)
    assert in_url.status_code == 401 and "not accepted in URLs" in in_url.text
    as_json = await api.http.get(f"{page}?apiKey={api.key}", headers={"Authorization": ""})
    assert as_json.status_code == 401 and as_json.json()["code"] == 401

    # a wrong key: the form again
    wrong = await api.http.post(
        "/journeys/sign-in", data={"apiKey": "jk_no.no", "next": page}, headers=browser
    )
    assert (
        wrong.status_code == 401 and "not valid" in wrong.text and "set-cookie" not in wrong.headers
    )

    signed_in = await api.http.post(
        "/journeys/sign-in", data={"apiKey": api.key, "next": page}, headers=browser
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == page
    cookie = signed_in.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= attributes and "samesite=strict" in cookie.lower()
    assert api.key not in cookie and api.key.split(".")[1] not in cookie
    session = signed_in.cookies["journeys_session"]
    api.http.cookies.clear()  # the shared client keeps no session for other tests

    shown = await api.http.get(page, **cookie_header(session))
    assert shown.status_code == 200 and "<svg" in shown.text
    tampered = session[:-2] + ("AA" if not session.endswith("AA") else "BB")
    refused = await api.http.get(page, **cookie_header(tampered))
    assert refused.status_code == 401

    # no open redirect
    elsewhere = await api.http.post(
        "/journeys/sign-in",
        data={"apiKey": api.key, "next": "https://evil.example/x"},
        headers=browser,
    )
    assert elsewhere.status_code == 303 and elsewhere.headers["location"] == "/docs"
    api.http.cookies.clear()


async def test_page_sessions_expire_and_name_no_key():
    from services.page_sessions import PageSigner

    signer = PageSigner(b"s" * 32)
    token = signer.sign("abc123", "session", 60, now=1000)
    assert signer.verify(token, "session", now=1059) == "abc123"
    assert signer.verify(token, "session", now=1061) is None  # expired
    assert signer.verify(token, "link", now=1000) is None  # another purpose
    assert PageSigner(b"t" * 32).verify(token, "session", now=1000) is None  # another secret
    assert signer.verify("garbage", "session") is None and signer.verify("a.b", "session") is None


async def test_revoking_the_key_ends_its_page_sessions_and_links(api):
    from store.api_keys import ApiKeys
    from store.db import get_engine

    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Page journey")})
    keys = ApiKeys(get_engine(api.store_url))
    key, row = keys.create("page-session")
    page = f"/journeys/{JOURNEY}"
    link = await api.http.post(
        "/v1/page-links", json={"journeyId": JOURNEY}, headers={"Authorization": f"API_KEY {key}"}
    )
    assert link.status_code == 200, link.text
    signed_in = await api.http.post(
        "/journeys/sign-in", data={"apiKey": key, "next": page}, headers={"Authorization": ""}
    )
    session = signed_in.cookies["journeys_session"]
    api.http.cookies.clear()
    assert (await api.http.get(page, **cookie_header(session))).status_code == 200

    keys.revoke(row.id)
    assert (await api.http.get(page, **cookie_header(session))).status_code == 401
    opened = await api.http.get(
        link.json()["url"], headers={"Authorization": "", "Accept": "text/html"}
    )
    assert opened.status_code == 401 and "expired or is not valid" in opened.text
    api.http.cookies.clear()
