"""Webhook claims: one processor per delivery, duplicates and replays told apart."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from store.db import upgrade_database
from store.webhooks import ProcessedWebhooks


def claim(store: ProcessedWebhooks, key: str = "k" * 64, body: str = "b" * 64) -> str:
    return store.claim(
        delivery_key=key,
        body_sha256=body,
        kind="endusers",
        operation="create",
        record_ids=["a", "b"],
        webhook_timestamp="1700000000000",
    )


def test_new_duplicate_conflict_release(database_url):
    store = ProcessedWebhooks(upgrade_database(database_url))
    assert claim(store) == "new"
    assert claim(store) == "in_progress"  # not acknowledged before the first copy finishes
    assert claim(store, body="c" * 64) == "conflict"
    assert store.get("k" * 64).status == "processing"
    store.finish("k" * 64)
    assert claim(store) == "duplicate"
    assert claim(store, body="c" * 64) == "conflict"
    assert store.get("k" * 64).status == "processed"
    assert store.get("k" * 64).record_ids == ["a", "b"]
    store.release("k" * 64)
    assert claim(store) == "new"  # released: a retry may process it


def test_concurrent_copies_are_claimed_once(database_url):
    store = ProcessedWebhooks(upgrade_database(database_url))
    results: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        outcome = claim(store, key="z" * 64)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["in_progress"] * 7 + ["new"]


def test_a_claim_whose_holder_died_is_taken_over_after_its_lease(database_url):
    store = ProcessedWebhooks(upgrade_database(database_url), lease=timedelta(seconds=1))
    assert claim(store) == "new"  # its holder is then killed: no finish, no release
    assert claim(store) == "in_progress"
    time.sleep(1.2)
    assert claim(store, body="c" * 64) == "conflict"  # another body never takes over
    assert claim(store) == "new"  # the redelivery processes it
    assert claim(store) == "in_progress"  # ... with a fresh lease
    store.finish("k" * 64)
    time.sleep(1.2)
    assert claim(store) == "duplicate"  # a processed delivery's lease never runs out


def test_concurrent_takeovers_of_an_expired_lease_have_one_winner(database_url):
    # The lease is long enough that the takeover's fresh lease outlives every copy's claim,
    # even on a loaded machine; the barrier starts the copies together.
    store = ProcessedWebhooks(upgrade_database(database_url), lease=timedelta(seconds=3))
    assert claim(store, key="y" * 64) == "new"
    time.sleep(3.2)
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def one() -> None:
        barrier.wait(10)
        outcome = claim(store, key="y" * 64)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["in_progress"] * 7 + ["new"]


def test_purge_forgets_old_claims(database_url):
    store = ProcessedWebhooks(upgrade_database(database_url))
    claim(store)
    assert store.purge(timedelta(hours=1)) == 0
    assert store.purge(timedelta(seconds=-1)) == 1
    assert store.count() == 0
