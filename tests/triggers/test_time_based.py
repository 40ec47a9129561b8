"""Time-based triggers: the candidate rules, and the scan workflow a schedule starts, run on the
time-skipping server with the real activities against the sandbox."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from triggers.models import ScanInput, ScanReport, trigger_record_id
from triggers.time_based import (
    _vital_count,
    birthday_today,
    not_engaged_period,
    vital_count_matches,
    vital_count_period,
)
from triggers.workflows import TimeTriggerScanWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("dob", "today", "expected"),
    [
        ("03-04-1990", date(2026, 3, 4), True),
        ("03-05-1990", date(2026, 3, 4), False),
        ("1990-03-04", date(2026, 3, 4), True),  # ISO accepted too
        ("02-29-2000", date(2026, 2, 28), True),  # leap-day birthday, common year
        ("02-29-2000", date(2028, 2, 28), False),  # leap year: on the 29th
        ("02-29-2000", date(2028, 2, 29), True),
        ("", date(2026, 3, 4), False),
        (None, date(2026, 3, 4), False),
        ("13-45-1990", date(2026, 3, 4), False),
    ],
)
async def test_birthday_rule(dob, today, expected) -> None:
    assert birthday_today(dob, today) is expected


async def test_not_engaged_periods_are_interval_long() -> None:
    day = 24 * 3600 * 1000
    start = datetime(2026, 3, 4, tzinfo=UTC)
    assert not_engaged_period(start, day) == not_engaged_period(start + timedelta(hours=23), day)
    assert not_engaged_period(start, day) + 1 == not_engaged_period(start + timedelta(days=1), day)


async def scan(engine, trigger_id: str, as_of: datetime) -> ScanReport:
    return await engine.client.execute_workflow(
        TimeTriggerScanWorkflow.run,
        ScanInput(triggerId=trigger_id, definedIn="dates", asOf=as_of.isoformat()),
        id=f"scan-{uuid.uuid4().hex[:8]}",
        task_queue=engine.task_queue,
    )


async def test_birthday_scan_fires_once_per_year(engine, make_enduser) -> None:
    now = datetime.now(UTC)
    today = now.astimezone(NEW_YORK).date()
    cohort = f"bday-{uuid.uuid4().hex[:6]}"
    engine.deploy(
        f"""
        journey: {{id: dates, title: Dates}}
        steps:
          - id: noop
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: setEnduserStatus, info: {{status: x}}}}
        triggers:
          - id: birthday
            title: Happy birthday
            status: Active
            event: {{type: On Birthday, info: {{minutes: 540}}}}
            enduserCondition: {{$and: [{{condition: {{tags: {cohort}}}}}]}}
            action: {{type: Add Tags, info: {{tags: [birthday-{today.year}]}}}}
        """
    )
    born_today = make_enduser(
        dateOfBirth=today.replace(year=1990).strftime("%m-%d-%Y"),
        tags=[cohort],
        timezone="America/New_York",
    )
    tomorrow = today + timedelta(days=1)
    born_tomorrow = make_enduser(
        dateOfBirth=tomorrow.replace(year=1990).strftime("%m-%d-%Y"),
        tags=[cohort],
        timezone="America/New_York",
    )
    outside_cohort = make_enduser(dateOfBirth=today.replace(year=1985).strftime("%m-%d-%Y"))
    async with engine.worker():
        report = await scan(engine, "birthday", now)
        firing = f"trigger:birthday:{born_today['id']}:birthday-{today.year}"
        assert firing in report.started
        assert not any(born_tomorrow["id"] in f for f in report.started)
        assert report.skipped[outside_cohort["id"]] == (
            "the enduser does not meet the trigger's enduserCondition"
        )
        assert (await engine.result(firing)).outcome == "fired"
        # the schedule runs again the same day (or twice): nothing new
        again = await scan(engine, "birthday", now + timedelta(minutes=5))
        assert firing in again.duplicates and firing not in again.started
    # each decision stored once, with its source (docs/operator-view.md §2)
    [fired] = engine.decisions.of_enduser(born_today["id"])
    assert (fired.fired, fired.source, fired.firing_workflow_id) == (True, "schedule", firing)
    assert fired.values_seen == {"tags": [cohort]}
    [declined] = engine.decisions.of_enduser(outside_cohort["id"])
    assert (declined.fired, declined.stage, declined.source) == (
        False,
        "enduserCondition",
        "schedule",
    )
    assert declined.values_seen == {"tags": None}
    stored = engine.enduser(born_today["id"])
    assert stored["tags"] == [cohort, f"birthday-{today.year}"]
    assert stored["triggerIds"] == [trigger_record_id("birthday")]
    assert engine.enduser(born_tomorrow["id"])["tags"] == [cohort]


async def test_has_not_engaged_scan(engine, api, make_enduser) -> None:
    cohort = f"quiet-{uuid.uuid4().hex[:6]}"
    engine.deploy(
        f"""
        journey: {{id: dates, title: Dates}}
        steps:
          - id: noop
            events: [{{type: onJourneyStart, info: {{}}}}]
            action: {{type: setEnduserStatus, info: {{status: x}}}}
        triggers:
          - id: quiet
            title: Quiet for a day
            status: Active
            event: {{type: Has Not Engaged, info: {{intervalInMS: 86400000}}}}
            enduserCondition: {{$and: [{{condition: {{tags: {cohort}}}}}]}}
            action: {{type: Add Tags, info: {{tags: [nudged]}}}}
        """
    )
    as_of = datetime.now(UTC) + timedelta(days=2)  # everyone created now is two days old then
    quiet = make_enduser(tags=[cohort])
    active = make_enduser(tags=[cohort], lastActive=(as_of - timedelta(hours=1)).isoformat())
    async with engine.worker():
        report = await scan(engine, "quiet", as_of)
        period = not_engaged_period(as_of, 86_400_000)
        firing = f"trigger:quiet:{quiet['id']}:not-engaged-{period}"
        assert report.started == [firing]
        await engine.result(firing)
        assert not any(active["id"] in f for f in report.started + report.duplicates)
    assert engine.enduser(quiet["id"])["tags"] == [cohort, "nudged"]
    assert engine.enduser(active["id"])["tags"] == [cohort]


async def test_a_scan_of_a_trigger_no_longer_deployed_does_nothing(engine) -> None:
    async with engine.worker():
        report = await scan(engine, "gone", datetime.now(UTC))
    assert (report.candidates, report.started, report.note) == (
        0,
        [],
        "the trigger is no longer deployed",
    )


@pytest.mark.parametrize(
    ("count", "comparison", "expected"),
    [
        (0, {"type": "Less Than", "value": 1}, True),
        (1, {"type": "Less Than", "value": 1}, False),
        (3, {"type": "Greater Than", "value": 2}, True),
        (2, {"type": "Greater Than", "value": 2}, False),
        (2, {"type": "Between", "value": {"lower": 2, "upper": 4}}, True),
        (5, {"type": "Between", "value": {"lower": 2, "upper": 4}}, False),
        (1, {"type": "Between", "value": 3}, False),
        (1, {"type": "Equals", "value": 1}, False),
        (1, None, False),
    ],
)
async def test_vital_count_comparison(count, comparison, expected) -> None:
    assert vital_count_matches(count, comparison) is expected


class Observations:
    """Stands in for Tellescope's enduser_observations (the sandbox does not serve them)."""

    def __init__(self, observations: list[dict], endusers: list[dict]) -> None:
        self.observations, self.endusers = observations, endusers
        self.created_from = None

    async def iterate(self, model, filter=None, *, created_from=None, **_):
        self.created_from = created_from if model == "enduser_observations" else self.created_from
        records = self.observations if model == "enduser_observations" else self.endusers
        for record in records:
            yield record

    async def get_many(self, model, ids):
        return [e for e in self.endusers if e["id"] in ids]


def vital_count_trigger(comparison: dict, units=None) -> SimpleNamespace:
    info = SimpleNamespace(
        minutes=540, units=units, comparison=comparison, periodInMS=7 * 86_400_000
    )
    return SimpleNamespace(trigger=SimpleNamespace(event=SimpleNamespace(info=info)))


async def test_vital_count_counts_readings_in_the_period() -> None:
    now = datetime(2026, 3, 10, 9, tzinfo=UTC)
    recent, old = (now - timedelta(days=1)).isoformat(), (now - timedelta(days=9)).isoformat()

    def reading(enduser: str, unit: str, at: str) -> dict:
        return {"enduserId": enduser, "measurement": {"unit": unit, "value": 1}, "timestamp": at}

    endusers = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    tellescope = Observations(
        [
            reading("a", "bpm", recent),
            reading("a", "bpm", recent),
            reading("b", "bpm", recent),
            reading("b", "mmHg", recent),
            reading("c", "bpm", old),  # before the period
        ],
        endusers,
    )
    few = await _vital_count(
        vital_count_trigger({"type": "Less Than", "value": 2}, ["bpm"]), now, tellescope
    )
    assert tellescope.created_from == now - timedelta(days=7)
    period = vital_count_period(now, 7 * 86_400_000)
    assert [(c.enduser["id"], c.details["count"]) for c in few] == [("b", 1), ("c", 0)]
    assert {c.eventId for c in few} == {f"vital-count-{period}"}
    many = await _vital_count(
        vital_count_trigger({"type": "Greater Than", "value": 1}), now, tellescope
    )
    assert [(c.enduser["id"], c.details["count"]) for c in many] == [("a", 2), ("b", 2)]
    # the same period: the same event id (one firing per period), the next one: a new id
    assert vital_count_period(now + timedelta(days=6), 7 * 86_400_000) in (period, period + 1)
    assert vital_count_period(now + timedelta(days=7), 7 * 86_400_000) == period + 1
