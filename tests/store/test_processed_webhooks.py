"""Webhook claims: one processor per delivery, duplicates and replays told apart."""

from __future__ import annotations

import threading
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
    assert claim(store) == "duplicate"
    assert claim(store, body="c" * 64) == "conflict"
    assert store.get("k" * 64).status == "processing"
    store.finish("k" * 64)
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
    assert sorted(results) == ["duplicate"] * 7 + ["new"]


def test_purge_forgets_old_claims(database_url):
    store = ProcessedWebhooks(upgrade_database(database_url))
    claim(store)
    assert store.purge(timedelta(hours=1)) == 0
    assert store.purge(timedelta(seconds=-1)) == 1
    assert store.count() == 0
