"""Idempotency keys: the first response replayed, another body refused, leases, retention."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from store.db import upgrade_database
from store.idempotency_keys import IdempotencyKeys


def test_first_response_is_replayed_and_another_body_refused(database_url):
    keys = IdempotencyKeys(upgrade_database(database_url))
    assert keys.begin("key-a:enroll", "k1", "body-1").outcome == "new"
    assert keys.begin("key-a:enroll", "k1", "body-1").outcome == "in_progress"
    assert keys.begin("key-a:enroll", "k1", "body-2").outcome == "mismatch"
    keys.complete("key-a:enroll", "k1", 200, {"results": [{"status": "started"}]})
    replay = keys.begin("key-a:enroll", "k1", "body-1")
    assert (replay.outcome, replay.status, replay.body) == (
        "replay",
        200,
        {"results": [{"status": "started"}]},
    )
    assert keys.begin("key-a:enroll", "k1", "body-2").outcome == "mismatch"
    # Another caller (or operation) with the same key is another request.
    assert keys.begin("key-b:enroll", "k1", "body-2").outcome == "new"


def test_a_released_key_runs_afresh(database_url):
    keys = IdempotencyKeys(upgrade_database(database_url))
    assert keys.begin("s", "k", "b").outcome == "new"
    keys.release("s", "k")
    assert keys.begin("s", "k", "other").outcome == "new"


def test_a_claim_whose_holder_died_is_taken_over_after_its_lease(database_url):
    keys = IdempotencyKeys(upgrade_database(database_url), lease=timedelta(seconds=1))
    assert keys.begin("s", "k", "b").outcome == "new"
    time.sleep(1.2)
    assert keys.begin("s", "k", "other").outcome == "mismatch"
    assert keys.begin("s", "k", "b").outcome == "new"
    assert keys.begin("s", "k", "b").outcome == "in_progress"


def test_concurrent_requests_with_one_key_run_once(database_url):
    keys = IdempotencyKeys(upgrade_database(database_url))
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def one() -> None:
        barrier.wait(10)
        outcome = keys.begin("s", "same", "b").outcome
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["in_progress"] * 7 + ["new"]


def test_keys_are_purged_after_retention(database_url):
    keys = IdempotencyKeys(upgrade_database(database_url))
    keys.begin("s", "k", "b")
    keys.complete("s", "k", 200, {})
    assert keys.purge() == 0
    assert keys.purge(timedelta(seconds=-1)) == 1
    assert keys.begin("s", "k", "other").outcome == "new"
