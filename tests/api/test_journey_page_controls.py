"""The journey page's enrollments per plan version and its pause and resume buttons
(docs/decisions.md D24, D28), from a live API in Debian's headless Chromium and over HTTP:
per-version counts match the ledger after enrolling on two
versions; Pause journey pauses every running enrollment (their `status` query says paused),
a patient's Resume resumes that one, Resume journey the rest; a cross-site POST, or one
without the session's CSRF token, is refused and pauses nothing.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from urllib.parse import quote

import httpx
import pytest

from services.journeys import plan_of, resolve_journey
from services.page_sessions import SESSION_COOKIE
from tests.api.conftest import journey_yaml
from tests.api.test_journey_pages import page_link
from tests.browser import Browser

pytestmark = pytest.mark.asyncio(loop_scope="session")
JOURNEY = "page-controls"


async def enroll(api, count: int) -> list[str]:
    people = [api.new_enduser() for _ in range(count)]
    response = await api.http.post(
        f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": people}
    )
    assert response.status_code == 200, response.text

    def waiting() -> bool:
        rows = api.ledger.list(journey_id=JOURNEY, status="active", step_id="later", limit=100)
        return set(people) <= {r.enduser_id for r in rows}

    await api.wait_for(waiting, f"{people} waiting at `later`")
    return people


async def paused(api, enduser_id: str) -> dict | None:
    """The enrollment's `status` query, as GET /v1/endusers/{id}/journeys answers it."""
    response = await api.http.get(f"/v1/endusers/{enduser_id}/journeys")
    assert response.status_code == 200, response.text
    (found,) = [e for e in response.json()["enrollments"] if e["journeyId"] == JOURNEY]
    return found["paused"]


def active_per_version(api) -> Counter[str]:
    """From the ledger's rows (the Tellescope-shaped GET /v1/automated-actions has no version):
    each patient with a pending action once, in the version of their newest row."""
    by_patient: dict[str, list] = {}
    for row in api.ledger.query(where={"journey_id": JOURNEY}, limit=1000):
        by_patient.setdefault(row.enduser_id, []).append(row)
    counts: Counter[str] = Counter()
    for rows in by_patient.values():
        if any(r.status == "active" for r in rows):
            newest = max(rows, key=lambda r: (r.updated_at, r.created_at, r.id))
            counts[newest.journey_version] += 1
    return counts


def shown_versions(browser: Browser) -> dict[str, dict]:
    return browser.evaluate(
        """Object.fromEntries([...document.querySelectorAll("#versions tbody tr")].map((tr) =>
          [tr.dataset.version, {current: tr.textContent.includes("(current)"),
            active: Number(tr.querySelector('[data-count="active"]').textContent),
            paused: Number(tr.querySelector('[data-count="paused"]').textContent)}]))"""
    )


def click(browser: Browser, selector: str, *, until: str = "steps") -> None:
    """Press a button and wait for the page the POST redirects to (a new document)."""
    browser.evaluate("window.beforeClick = true")
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).click(), true")
    browser.wait_for(
        "window.beforeClick === undefined && document.readyState === 'complete'"
        f" && !!document.getElementById({json.dumps(until)})"
    )


async def test_versions_and_pause_resume_buttons(api, live_api, tmp_path):
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Page controls")})
    first = plan_of(api.plans, resolve_journey(api.plans, JOURNEY)).version
    on_first = await enroll(api, 2)
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Page controls v2")})
    plan = plan_of(api.plans, resolve_journey(api.plans, JOURNEY))
    assert plan.version != first
    on_second = await enroll(api, 1)
    everyone = on_first + on_second

    expected = active_per_version(api)
    assert expected == {first: 2, plan.version: 1}
    live = (await api.http.get(f"/journeys/{JOURNEY}/live")).json()
    assert live["versions"] == [
        {"version": plan.version, "current": True, "active": 1, "paused": 0},
        {"version": first, "current": False, "active": 2, "paused": 0},
    ]

    with Browser(tmp_path / "profile") as browser:
        browser.open(page_link(live_api, api, JOURNEY))
        assert shown_versions(browser) == {
            plan.version: {"current": True, "active": 1, "paused": 0},
            first: {"current": False, "active": 2, "paused": 0},
        }

        click(browser, "#pause-journey")
        assert browser.evaluate("document.getElementById('action-result').textContent") == (
            "Paused 3 enrollments."
        )
        for enduser_id in everyone:
            found = await api.wait_for(lambda e=enduser_id: paused(api, e), f"{enduser_id} paused")
            assert found["by"] == "page tests"
        # the ledger notes the pause: the page shows every waiting patient paused, live
        browser.wait_for("document.getElementById('total-paused').textContent === '3'")
        browser.wait_for(
            "[...document.querySelectorAll('ul.waiting[data-step=\"later\"] li')]"
            ".filter((li) => li.dataset.paused === 'true' &&"
            " li.querySelector('.paused-badge') && li.querySelector('button.patient-resume'))"
            ".length === 3"
        )
        assert shown_versions(browser) == {
            plan.version: {"current": True, "active": 1, "paused": 1},
            first: {"current": False, "active": 2, "paused": 2},
        }

        # one patient's Resume resumes that enrollment only
        one = on_first[0]
        click(browser, f'li[data-enduser="{one}"] button.patient-resume')
        assert browser.evaluate("document.getElementById('action-result').textContent") == (
            "Resumed 1 enrollment."
        )
        await api.wait_for(lambda: _resumed(api, one), f"{one} resumed")
        assert all([await paused(api, e) for e in everyone if e != one])
        browser.wait_for("document.getElementById('total-paused').textContent === '2'")

        click(browser, "#resume-journey")
        result = browser.evaluate("document.getElementById('action-result').textContent")
        assert result.startswith("Resumed 3 enrollments"), result  # `one`: already running
        for enduser_id in everyone:
            await api.wait_for(lambda e=enduser_id: _resumed(api, e), f"{enduser_id} resumed")
        browser.wait_for("document.getElementById('total-paused').textContent === '0'")

        # the patient's page has the same buttons, and comes back to itself
        patient = f"/journeys/{JOURNEY}/enrollments/{one}"
        browser.open(f"{live_api.url}{patient}")
        click(browser, "#pause-enrollment", until="timeline")
        assert browser.evaluate("location.pathname") == patient
        assert browser.evaluate("document.getElementById('action-result').textContent") == (
            "Paused 1 enrollment."
        )
        await api.wait_for(lambda: paused(api, one), f"{one} paused from its page")
        click(browser, "#resume-enrollment", until="timeline")
        assert browser.evaluate("document.getElementById('action-result').textContent") == (
            "Resumed 1 enrollment."
        )
        await api.wait_for(lambda: _resumed(api, one), f"{one} resumed from its page")

        # a page of another site submitting the form: SameSite=Strict keeps the cookie home
        forged = (
            f'<form method="post" action="{live_api.url}/journeys/{JOURNEY}/pause">'
            '<input name="csrf" value="x"></form><script>document.forms[0].submit()</script>'
        )
        browser.send("Page.navigate", session=True, url="data:text/html," + quote(forged))
        browser.wait_for(
            f"location.href === {json.dumps(f'{live_api.url}/journeys/{JOURNEY}/pause')}"
        )
        browser.wait_for("document.readyState === 'complete'")
        assert "Sign in first" in browser.evaluate("document.body.textContent")
    for enduser_id in everyone:
        assert await paused(api, enduser_id) is None


async def _resumed(api, enduser_id: str) -> bool:
    return await paused(api, enduser_id) is None


async def test_a_forged_post_is_refused_and_changes_nothing(api, live_api):
    if JOURNEY not in api.journeys:
        await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Page controls")})
    (enduser_id,) = await enroll(api, 1)
    base = live_api.url
    with httpx.Client(base_url=base, follow_redirects=False) as http:
        signed_in = http.post("/journeys/sign-in", data={"apiKey": api.key, "next": "/journeys"})
        assert signed_in.status_code == 303, signed_in.text
        session = signed_in.cookies[SESSION_COOKIE]
        http.cookies.clear()  # each request below says which cookie it carries
        cookie = {"Cookie": f"{SESSION_COOKIE}={session}"}
        page = http.get(f"/journeys/{JOURNEY}", headers=cookie)
        assert page.status_code == 200
        found = re.search(r'data-csrf="([^"]+)"', page.text)
        assert found is not None
        csrf = html.unescape(found.group(1))
        targets = [
            f"/journeys/{JOURNEY}/pause",
            f"/journeys/{JOURNEY}/enrollments/{enduser_id}/pause",
        ]
        for target in targets:
            # no session: 401, whatever the form holds
            anonymous = http.post(target, data={"csrf": csrf}, headers={"Origin": base})
            assert anonymous.status_code == 401, anonymous.text
            # the session, but another site's Origin (or Referer), or no origin at all
            for headers in (
                {"Origin": "https://evil.example"},
                {"Origin": "http://127.0.0.1:1"},  # same host, another port: another origin
                {"Referer": "https://evil.example/page"},
                {"Origin": "null"},
                {},
            ):
                refused = http.post(target, data={"csrf": csrf}, headers={**cookie, **headers})
                assert refused.status_code == 403, (headers, refused.text)
            # the session and our origin, but no token or another session's token
            for form in ({}, {"csrf": "forged"}, {"csrf": "A" * len(csrf)}):
                refused = http.post(target, data=form, headers={**cookie, "Origin": base})
                assert refused.status_code == 403, (form, refused.text)
            assert await paused(api, enduser_id) is None  # nothing was signalled
        # the page's own form: accepted; `next` only ever leads to our own pages
        done = http.post(
            targets[1],
            data={"csrf": csrf, "next": "https://evil.example/"},
            headers={**cookie, "Referer": f"{base}/journeys/x"},
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == (
            f"/journeys/{JOURNEY}?did=pause&n=1&notRunning=0&failed=0"
        )
    await api.wait_for(lambda: paused(api, enduser_id), f"{enduser_id} paused")
    resumed = await api.http.post(f"/v1/journeys/{JOURNEY}/enrollments/{enduser_id}/resume")
    assert resumed.status_code == 200, resumed.text
