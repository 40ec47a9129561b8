"""The journey pages in Debian's headless Chromium, from a live API (docs/decisions.md D24):
every example journey laid out with no two boxes or labels overlapping and nothing outside the
chart; patients per step matching GET /v1/automated-actions; the page refreshing itself when an
enrollment changes; the index listing every journey.

`JOURNEY_SCREENSHOTS=docs/screenshots` also writes the README's screenshots of the examples.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest

from compiler import compile_paths
from services.journeys import plan_of, resolve_journey
from tests.api.conftest import journey_yaml
from tests.browser import Browser

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
JOURNEY = "pages-journey"
FROM_LEDGER = {"active": "waiting", "finished": "done", "cancelled": "cancelled", "error": "failed"}

# every box of the chart (steps, the start node, edge labels): its box, its rect and its texts
GEOMETRY = """(() => {
  const chart = document.getElementById("chart");
  const svg = chart.querySelector("svg");
  const box = (b) => [b.x, b.y, b.width, b.height];
  const items = [...svg.querySelectorAll("g.step, g.start, g.edge-label")].map((g) => ({
    key: g.dataset.step || g.dataset.label || "start",
    box: box(g.getBBox()),
    rect: box(g.querySelector("rect").getBBox()),
    texts: [...g.querySelectorAll("text")].map((t) => box(t.getBBox())),
  }));
  return {
    width: svg.width.baseVal.value, height: svg.height.baseVal.value, items,
    pageWidth: document.documentElement.scrollWidth, viewport: innerWidth,
    chartWidth: chart.clientWidth, chartScrollWidth: chart.scrollWidth,
  };
})()"""


def overlap(a: list[float], b: list[float]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def inside(inner: list[float], outer: list[float], slack: float = 0.5) -> bool:
    ix, iy, iw, ih = inner
    ox, oy, ow, oh = outer
    return (
        ix >= ox - slack
        and iy >= oy - slack
        and ix + iw <= ox + ow + slack
        and iy + ih <= oy + oh + slack
    )


def page_link(live_api, api, journey_id: str) -> str:
    response = httpx.post(
        f"{live_api.url}/v1/page-links",
        json={"journeyId": journey_id},
        headers={"Authorization": f"API_KEY {api.key}"},
    )
    assert response.status_code == 200, response.text
    return live_api.url + response.json()["url"]


def example_files(sandbox_url: str) -> dict[str, str]:
    return {
        path.name: path.read_text().replace("http://127.0.0.1:8900", sandbox_url)
        for path in sorted(EXAMPLES.glob("*.yaml"))
    }


async def test_every_example_journey_is_laid_out_without_overlaps(api, live_api, sandbox, tmp_path):
    await api.deploy(example_files(str(sandbox.base_url).rstrip("/")))
    plans = compile_paths([EXAMPLES]).plans
    # two patients in each journey, so the boxes hold real counts
    for plan in plans:
        people = [api.new_enduser(phone="+15555550100") for _ in "ab"]
        enrolled = await api.http.post(
            f"/v1/journeys/{plan.journeyId}/enrollments", json={"enduserIds": people}
        )
        assert enrolled.status_code == 200, enrolled.text
    for plan in plans:
        await api.wait_for(
            lambda plan=plan: api.ledger.list(journey_id=plan.journeyId, limit=1),
            f"actions in {plan.journeyId}",
        )
    shots = os.environ.get("JOURNEY_SCREENSHOTS")
    with Browser(tmp_path / "profile") as browser:
        browser.open(page_link(live_api, api, plans[0].journeyId))
        for plan in plans:
            browser.open(f"{live_api.url}/journeys/{plan.journeyId}")
            assert browser.evaluate("document.title") == f"{plan.journey.title} - Journey Engine"
            found = browser.evaluate(GEOMETRY)
            items = found["items"]
            steps = {i["key"] for i in items if i["key"] in plan.steps}
            assert steps == set(plan.steps), plan.journeyId
            labels = [i for i in items if i["key"].startswith("label:")]
            assert len(labels) == sum(  # every edge between steps carries its label
                1
                for step in plan.steps.values()
                for event in step.events
                if event.type != "onJourneyStart"
            )
            for item in items:
                for text in item["texts"]:  # the text fits its box
                    assert inside(text, item["rect"]), (plan.journeyId, item["key"], text)
                chart = [0, 0, found["width"], found["height"]]
                assert inside(item["box"], chart, 0), (plan.journeyId, item["key"])
            for n, a in enumerate(items):
                for b in items[n + 1 :]:
                    assert not overlap(a["box"], b["box"]), (plan.journeyId, a["key"], b["key"])
            # the page never scrolls sideways: a wide chart scrolls within its frame
            assert found["pageWidth"] <= found["viewport"], plan.journeyId
            assert found["chartWidth"] <= found["viewport"]
            assert found["chartScrollWidth"] >= min(found["width"], found["chartScrollWidth"])
            if found["width"] > found["chartWidth"]:
                assert found["chartScrollWidth"] > found["chartWidth"], plan.journeyId
            if shots:  # the whole chart, unscrolled
                Path(shots).mkdir(parents=True, exist_ok=True)
                browser.evaluate(
                    "document.getElementById('chart').style.cssText ="
                    " 'overflow: visible; width: max-content'"
                )
                browser.screenshot(Path(shots) / f"{plan.journeyId}.png")


def patients_per_step(actions: list[dict], plan) -> dict[str, dict[str, int]]:
    """From GET /v1/automated-actions: each (patient, step) once, in its newest action's state."""
    newest: dict[tuple[str, str], dict] = {}
    for action in sorted(actions, key=lambda a: (a["createdAt"], a["id"])):
        step = plan.step_for_tellescope_id(action["automationStepId"])
        newest[(action["enduserId"], step)] = action
    counts = {step: dict.fromkeys(FROM_LEDGER.values(), 0) for step in plan.steps}
    for (_, step), action in newest.items():
        counts[step][FROM_LEDGER[action["status"]]] += 1
    return counts


def shown_counts(browser: Browser) -> dict[str, dict[str, int]]:
    """The counts drawn in the chart's step boxes."""
    return browser.evaluate(
        """(() => { const out = {};
        document.querySelectorAll("g.step tspan.count").forEach((t) => {
          (out[t.dataset.step] ??= {})[t.dataset.status] = Number(t.textContent.split(" ")[1]);
        }); return out; })()"""
    )


async def actions_of(api, journey_id: str) -> list[dict]:
    response = await api.http.get(
        "/v1/automated-actions",
        params={"filter": json.dumps({"journeyId": journey_id}), "limit": 1000},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_counts_are_patients_matching_the_api_and_refresh_live(api, live_api, tmp_path):
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Pages journey")})
    plan = plan_of(api.plans, resolve_journey(api.plans, JOURNEY))
    people = [api.new_enduser() for _ in range(3)]
    enrolled = await api.http.post(
        f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": people}
    )
    assert enrolled.status_code == 200, enrolled.text

    def waiting_at_later() -> set[str]:
        rows = api.ledger.list(journey_id=JOURNEY, status="active", step_id="later", limit=100)
        return {r.enduser_id for r in rows}

    await api.wait_for(lambda: waiting_at_later() == set(people), "3 patients waiting at `later`")
    # a restart: the patient's first `later` is cancelled and a second one waits, so there are
    # more actions than patients at both steps
    restarted = await api.http.post(
        f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": people[:1], "restart": True}
    )
    assert restarted.status_code == 200, restarted.text
    await api.wait_for(
        lambda: len(api.ledger.list(journey_id=JOURNEY, step_id="start", limit=100)) == 4,
        "the restarted patient's second `start`",
    )
    await api.wait_for(lambda: waiting_at_later() == set(people), "the restart at `later`")

    actions = await actions_of(api, JOURNEY)
    expected = patients_per_step(actions, plan)
    assert expected["start"] == {"waiting": 0, "done": 3, "cancelled": 0, "failed": 0}
    assert expected["later"] == {"waiting": 3, "done": 0, "cancelled": 0, "failed": 0}
    by_step = Counter(plan.step_for_tellescope_id(a["automationStepId"]) for a in actions)
    assert by_step["start"] == 4 and by_step["later"] == 4  # actions, not patients

    with Browser(tmp_path / "profile") as browser:
        browser.open(page_link(live_api, api, JOURNEY))
        assert shown_counts(browser) == expected
        # the table says the same, with a legend naming each state
        legend = browser.evaluate("document.querySelector('.legend').textContent")
        for state in ("waiting", "done", "cancelled", "failed"):
            assert state in legend
        # each waiting patient, linked to the enrollment page, due in the organisation's zone
        waiting = browser.evaluate(
            """[...document.querySelectorAll('ul.waiting[data-step="later"] li')].map((li) => ({
              href: li.querySelector("a.patient").getAttribute("href"),
              name: li.querySelector("a.patient").textContent,
              due: li.querySelector("time").getAttribute("datetime"),
              text: li.textContent}))"""
        )
        assert sorted(w["name"] for w in waiting) == sorted(people)
        live = (await api.http.get(f"/journeys/{JOURNEY}/live")).json()
        assert live["timezone"] == "America/New_York"
        for item in waiting:
            assert item["href"] == f"/journeys/{JOURNEY}/enrollments/{quote(item['name'])}"
            row = next(
                a for a in actions if a["enduserId"] == item["name"] and a["status"] == "active"
            )
            due = datetime.fromtimestamp(row["processAfter"] / 1000, ZoneInfo("America/New_York"))
            assert item["due"] == due.isoformat(timespec="minutes")
            assert "waits for timer (2 days)" in item["text"]
        assert live["steps"]["later"]["counts"] == expected["later"]
        assert live["enrollments"] == {"active": 3, "finished": 0, "removed": 0, "failed": 0}

        # the page refreshes itself: a new patient and a removal show up without a reload
        browser.evaluate("window.notReloaded = true")
        newcomer = api.new_enduser()
        more = await api.http.post(
            f"/v1/journeys/{JOURNEY}/enrollments", json={"enduserIds": [newcomer]}
        )
        assert more.status_code == 200, more.text
        removed = await api.http.delete(f"/v1/journeys/{JOURNEY}/enrollments/{people[1]}")
        assert removed.status_code == 200, removed.text
        now_waiting = {people[0], people[2], newcomer}
        await api.wait_for(lambda: waiting_at_later() == now_waiting, "newcomer in, one out")
        expected = patients_per_step(await actions_of(api, JOURNEY), plan)
        assert expected["later"] == {"waiting": 3, "done": 0, "cancelled": 1, "failed": 0}
        browser.wait_for(
            "document.querySelector('ul.waiting[data-step=\"later\"]').textContent"
            f".includes({json.dumps(newcomer)})"
        )
        browser.wait_for("document.getElementById('total-removed').textContent === '1'")
        assert shown_counts(browser) == expected
        assert browser.evaluate("window.notReloaded === true")  # the same document
        assert int(browser.evaluate("document.body.dataset.refreshed")) >= 1

        # a new version changes the chart: the page reloads itself to draw it
        await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Pages journey v2")})
        browser.wait_for("document.title === 'Pages journey v2 - Journey Engine'")
        assert browser.evaluate("window.notReloaded === undefined")


async def test_the_index_lists_every_journey(api, live_api, tmp_path):
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Pages journey")})
    current = {row.journey_id: row.version for row in api.plans.current_rows()}
    root = await api.http.get("/", headers={"Authorization": ""}, follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/journeys"
    anonymous = await api.http.get("/journeys", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    with Browser(tmp_path / "profile") as browser:
        browser.open(page_link(live_api, api, JOURNEY))  # signs in
        browser.open(f"{live_api.url}/")
        assert browser.evaluate("location.pathname") == "/journeys"
        rows = browser.evaluate(
            """[...document.querySelectorAll("#journeys tbody tr")].map((tr) => ({
              id: tr.dataset.journey, href: tr.querySelector("a").getAttribute("href"),
              version: tr.querySelector("code").textContent,
              counts: Object.fromEntries([...tr.querySelectorAll("td[data-status]")].map(
                (td) => [td.dataset.status, Number(td.textContent)]))}))"""
        )
    assert {r["id"]: r["version"] for r in rows} == current
    for row in rows:
        assert row["href"] == f"/journeys/{row['id']}"
        assert set(row["counts"]) == {"active", "finished", "removed", "failed", "errors"}
    live = (await api.http.get(f"/journeys/{JOURNEY}/live")).json()
    mine = next(r for r in rows if r["id"] == JOURNEY)
    assert {k: v for k, v in mine["counts"].items() if k != "errors"} == live["enrollments"]
    assert mine["counts"]["errors"] == live["errorsLastDay"]


async def test_live_json_needs_a_key_and_a_known_journey(api):
    await api.deploy({f"{JOURNEY}.yaml": journey_yaml(JOURNEY, "Pages journey")})
    anonymous = await api.http.get(f"/journeys/{JOURNEY}/live", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    unknown = await api.http.get("/journeys/no-such-journey/live")
    assert unknown.status_code == 404
    assert unknown.json()["message"] == 'Could not find a journey "no-such-journey"'
