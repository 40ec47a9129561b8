"""Deployed versions: current version, lookup by Tellescope id, prefixes, rollback, history."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from compiler import compile_paths
from store.db import upgrade_database
from store.plans import PlanNotFound, PlanStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def edited_onboarding(tmp_path: Path, old: str, new: str):
    """The onboarding plan compiled from a copy of the examples with `old` replaced by `new`."""
    folder = tmp_path / f"edited-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    for source in EXAMPLES.glob("*.yaml"):
        text = source.read_text()
        if source.name == "onboarding.yaml":
            text = text.replace(old, new)
        (folder / source.name).write_text(text)
    return compile_paths([folder]).plan("onboarding")


def two_versions(tmp_path: Path):
    """Two versions of the onboarding journey (the second with another title)."""
    first = compile_paths([EXAMPLES]).plan("onboarding")
    second = edited_onboarding(tmp_path, "title: New patient onboarding", "title: Onboarding v2")
    assert first.version != second.version
    return first, second


def test_save_current_resolve_and_rollback(database_url, tmp_path):
    plans = PlanStore(upgrade_database(database_url))
    first, second = two_versions(tmp_path)
    row, created = plans.save(first, source="v1", tellescope_journey_id="64f0000000000000000000aa")
    assert created and row.is_current
    assert plans.save(first)[1] is False  # same version: a no-op
    plans.save(second, source="v2", tellescope_journey_id="64f0000000000000000000aa")
    assert plans.current("onboarding").version == second.version
    assert plans.resolve("64f0000000000000000000aa").version == second.version  # Tellescope id
    assert plans.resolve("onboarding").version == second.version
    with pytest.raises(PlanNotFound):
        plans.resolve("nope")
    assert plans.previous("onboarding").version == first.version

    target = plans.row("onboarding", first.version[:6])  # a prefix
    status, previous = plans.activate(
        plans.get("onboarding", target.version), kind="rollback", by="carol"
    )
    assert (status, previous) == ("current", second.version)
    assert plans.current("onboarding").version == first.version
    assert [r.is_current for r in plans.versions("onboarding")] == [True, False]
    assert plans.journey_ids() == ["onboarding"]
    assert [r.journey_id for r in plans.current_rows()] == ["onboarding"]
    assert plans.get("onboarding", second.version).journey.title == "Onboarding v2"


def test_version_prefixes_and_unknown_versions(database_url, tmp_path):
    plans = PlanStore(upgrade_database(database_url))
    first, _ = two_versions(tmp_path)
    plans.save(first, tellescope_journey_id="x")
    assert plans.row("onboarding", first.version).version == first.version
    for bad in ("zzzz", first.version[:3], first.version + "0"):
        with pytest.raises(PlanNotFound):
            plans.row("onboarding", bad)
    with pytest.raises(PlanNotFound):
        plans.row("other", first.version)
    with pytest.raises(PlanNotFound):
        plans.row("onboarding", "%")  # LIKE wildcards are literal


def test_tellescope_mapping_and_events(database_url, tmp_path):
    plans = PlanStore(upgrade_database(database_url))
    first, second = two_versions(tmp_path)
    assert plans.tellescope_journey_id("onboarding") is None
    plans.save(first, tellescope_journey_id="64f0000000000000000000bb")
    plans.set_tellescope_journey_id("onboarding", first.version, "64f0000000000000000000cc")
    assert plans.tellescope_journey_id("onboarding") == "64f0000000000000000000cc"
    assert plans.activate(first, kind="deploy", by="alice") == ("unchanged", first.version)
    assert plans.activate(second, kind="deploy", by="bob") == ("created", first.version)
    assert plans.activate(first, kind="rollback", by="carol") == ("current", second.version)
    events = plans.events("onboarding")
    assert [(e.kind, e.version, e.previous_version, e.by) for e in events] == [
        ("deploy", second.version, first.version, "bob"),
        ("rollback", first.version, second.version, "carol"),
    ]
    # The Tellescope record id survives activations that do not name one.
    assert plans.tellescope_journey_id("onboarding") == "64f0000000000000000000cc"


def test_concurrent_deploys_of_one_journey_record_exactly_the_changes(database_url, tmp_path):
    """Ten deploys of one new version at once: one creates it, nine find it current; then
    twenty deploys alternating two versions: each audit row's previous version is the version
    the row before it made current (no two rows replaced the same version)."""
    plans = PlanStore(upgrade_database(database_url))
    first, second = two_versions(tmp_path)
    plans.activate(first, kind="deploy", by="setup")

    def at_once(work: list[tuple[object, str]]) -> list[tuple[str, str | None]]:
        barrier = threading.Barrier(len(work))
        results: list[tuple[str, str | None]] = []
        lock = threading.Lock()

        def one(plan, by: str) -> None:
            barrier.wait(10)
            outcome = plans.activate(plan, kind="deploy", by=by)
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=one, args=item) for item in work]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return results

    results = at_once([(second, f"user-{i}") for i in range(10)])
    assert sorted(status for status, _ in results) == ["created"] + ["unchanged"] * 9
    assert [(e.version, e.previous_version) for e in plans.events("onboarding")] == [
        (first.version, None),
        (second.version, first.version),
    ]

    results = at_once([((first, second)[i % 2], f"flip-{i}") for i in range(20)])
    changed = [r for r in results if r[0] != "unchanged"]
    events = plans.events("onboarding")
    assert len(events) == 2 + len(changed)
    for before, after in zip(events, events[1:], strict=False):
        assert after.previous_version == before.version
        assert after.version != before.version
    assert plans.current("onboarding").version == events[-1].version


def test_active_triggers_follow_deploys_and_rollbacks(database_url, tmp_path):
    """Regression: the triggers in force are cached per set of current versions; a new
    version or a rollback must change what an event is evaluated against, at once."""
    from triggers.active import active_triggers

    plans = PlanStore(upgrade_database(database_url))
    first = compile_paths([EXAMPLES]).plan("onboarding")
    second = edited_onboarding(tmp_path, "signup-form-submitted", "signup-form-received")

    plans.save(first, tellescope_journey_id="64f0000000000000000000aa")
    assert [t.id for t in active_triggers(plans)] == ["signup-form-submitted"]
    assert [(h.journey_id, h.version) for h in plans.current_heads()] == [
        ("onboarding", first.version)
    ]
    plans.save(second, tellescope_journey_id="64f0000000000000000000aa")
    assert [(t.id, t.planVersion) for t in active_triggers(plans)] == [
        ("signup-form-received", second.version)
    ]
    plans.activate(first, kind="rollback", by="test")
    assert [(t.id, t.planVersion) for t in active_triggers(plans)] == [
        ("signup-form-submitted", first.version)
    ]


def test_another_process_deploy_reaches_the_triggers_within_the_head_ttl(
    database_url, tmp_path, monkeypatch
):
    """The current versions are read at most once per HEAD_TTL_SECONDS per process (every event
    reads them): a deploy made elsewhere (here: a second store object whose change this one's
    cache is then told nothing of) is seen once that time has passed."""
    import store.plans as plans_module
    from triggers.active import active_triggers

    engine = upgrade_database(database_url)
    plans, elsewhere = PlanStore(engine), PlanStore(engine)
    first = compile_paths([EXAMPLES]).plan("onboarding")
    second = edited_onboarding(tmp_path, "signup-form-submitted", "signup-form-received")
    plans.save(first, tellescope_journey_id="64f0000000000000000000aa")
    assert [t.id for t in active_triggers(plans)] == ["signup-form-submitted"]
    moments = iter([0.0, 0.5, 5.0])
    monkeypatch.setattr(plans_module, "_clock", lambda: next(moments))
    plans_module._CURRENT_HEADS.clear()
    assert [t.id for t in active_triggers(plans)] == ["signup-form-submitted"]  # read at 0.0
    monkeypatch.setattr(PlanStore, "forget_heads", staticmethod(lambda: None))  # "elsewhere"
    elsewhere.save(second, tellescope_journey_id="64f0000000000000000000aa")
    assert [t.id for t in active_triggers(plans)] == ["signup-form-submitted"]  # at 0.5: kept
    assert [t.id for t in active_triggers(plans)] == ["signup-form-received"]  # at 5.0: read


def test_step_routing_follows_every_stored_version(database_url, tmp_path):
    """Regression: the step id -> journey map a webhook is routed by is cached per set of stored
    versions; a new version's steps route at once, and an older version's still do (its
    enrollments keep running)."""
    from triggers.active import journeys_by_step

    plans = PlanStore(upgrade_database(database_url))
    first = compile_paths([EXAMPLES]).plan("onboarding")
    second = edited_onboarding(tmp_path, "welcome-sms", "greeting-sms")
    plans.save(first, tellescope_journey_id="64f0000000000000000000aa")
    old_step = first.tellescopeStepIds["welcome-sms"]
    assert journeys_by_step(plans)[old_step] == "onboarding"
    assert second.tellescopeStepIds["greeting-sms"] not in journeys_by_step(plans)

    plans.save(second, tellescope_journey_id="64f0000000000000000000aa")
    routed = journeys_by_step(plans)
    assert routed[second.tellescopeStepIds["greeting-sms"]] == "onboarding"
    assert routed[old_step] == "onboarding"
    assert routed["greeting-sms"] == "onboarding"  # readable step ids route too


def test_a_webhook_routes_by_step_without_reading_the_versions_each_time(
    database_url, tmp_path, monkeypatch
):
    """`journey_for_step` answers from the last map built for HEAD_TTL_SECONDS without asking
    the store which versions exist; a step it does not hold (a version stored since, here by
    another store object) is looked up in the store at once, and past the TTL it asks again."""
    import store.plans as plans_module
    from triggers.active import journey_for_step

    engine = upgrade_database(database_url)
    plans, elsewhere = PlanStore(engine), PlanStore(engine)
    first = compile_paths([EXAMPLES]).plan("onboarding")
    second = edited_onboarding(tmp_path, "welcome-sms", "greeting-sms")
    plans.save(first, tellescope_journey_id="64f0000000000000000000aa")
    now = [0.0]
    monkeypatch.setattr(plans_module, "_clock", lambda: now[0])
    reads: list[int] = []
    version_heads = PlanStore.version_heads

    def counted(self):
        reads.append(1)
        return version_heads(self)

    monkeypatch.setattr(PlanStore, "version_heads", counted)
    old_step = first.tellescopeStepIds["welcome-sms"]
    assert journey_for_step(plans, old_step) == "onboarding"
    assert len(reads) == 1  # the map built
    now[0] = 0.5
    assert journey_for_step(plans, old_step) == "onboarding"
    assert len(reads) == 1  # within the TTL: no query
    elsewhere.save(second, tellescope_journey_id="64f0000000000000000000aa")
    new_step = second.tellescopeStepIds["greeting-sms"]
    assert journey_for_step(plans, new_step) == "onboarding"  # not held: read at once
    assert len(reads) == 2
    assert journey_for_step(plans, "64f00000000000000000ffff") is None  # in no version
    assert len(reads) == 3
    now[0] = 5.0
    assert journey_for_step(plans, old_step) == "onboarding"
    assert len(reads) == 4  # past the TTL: asked again
