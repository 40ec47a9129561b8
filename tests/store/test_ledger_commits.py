"""The ledger's group commit (store/ledger_commits.py, docs/decisions.md D43), on SQLite and
PostgreSQL: batches written together share a transaction, each is answered the status changes
its own rows made, a batch that cannot be written fails alone, and a cancelled writer's commit is
still counted."""

from __future__ import annotations

import asyncio
import threading

import pytest

from store.db import upgrade_database
from store.ledger import Ledger, Transition
from tests.store.test_ledger_queries import entry


class HeldLedger(Ledger):
    """A real ledger whose first transaction waits until the test lets it go, so that the
    batches the test writes meanwhile queue up behind it, whatever the machine's speed."""

    def __init__(self, engine) -> None:
        super().__init__(engine)
        self.release = threading.Event()
        self.held = threading.Event()
        self.transactions: list[int] = []  # batches per transaction, in order

    def record_groups(self, batches):
        if not self.held.is_set():
            self.held.set()
            assert self.release.wait(10), "the test never released the first transaction"
        self.transactions.append(len(batches))
        return super().record_groups(batches)


async def held_then(ledger: HeldLedger, first, *rest):
    """Write `first`, wait until its transaction is held, queue `rest`, release: the tasks of
    every write, `rest` in one group behind `first`."""
    tasks = [asyncio.create_task(ledger.commits.write(first))]
    await asyncio.to_thread(ledger.held.wait, 10)
    tasks += [asyncio.create_task(ledger.commits.write(batch)) for batch in rest]
    await asyncio.sleep(0)  # every write is queued before the writer may take them
    ledger.release.set()
    return tasks


def ids(transitions: list[Transition]) -> list[tuple[str, str, str | None]]:
    return [(t.entry.id, t.entry.status, t.before) for t in transitions]


async def test_batches_waiting_together_share_one_transaction(database_url):
    ledger = HeldLedger(upgrade_database(database_url))
    first = [entry(1, status="active")]
    later = [[entry(i, status="active")] for i in range(2, 8)]
    results = await asyncio.gather(*await held_then(ledger, first, *later))
    assert ledger.transactions == [1, 6]
    assert (ledger.commits.batches_written, ledger.commits.groups_written) == (7, 2)
    assert [ids(r) for r in results] == [
        [(e.id, "active", None)] for e in [*first, *(batch[0] for batch in later)]
    ]
    assert {row.id for row in ledger.list(limit=50)} == {entry(i).id for i in range(1, 8)}


async def test_each_batch_is_answered_as_if_written_alone(database_url):
    """In one transaction: a later batch sees an earlier one's rows (its status change is
    counted against them), and a repeated batch changes nothing, as after a commit."""
    ledger = HeldLedger(upgrade_database(database_url))
    started = [entry(1, status="active"), entry(2, status="active")]
    finished = [entry(1, status="finished")]
    tasks = await held_then(
        ledger,
        [entry(9, status="active")],
        started,
        finished,
        finished,
        [entry(2, status="active")],
    )
    results = await asyncio.gather(*tasks)
    assert ledger.transactions == [1, 4]
    assert [ids(r) for r in results[1:]] == [
        [(entry(1).id, "active", None), (entry(2).id, "active", None)],
        [(entry(1).id, "finished", "active")],
        [],  # the same batch again
        [],  # "active" again: no change
    ]
    row = ledger.get(entry(1).id)
    assert row is not None and row.status == "finished"


async def test_a_batch_that_cannot_be_written_fails_alone(database_url):
    ledger = HeldLedger(upgrade_database(database_url))
    good = [entry(3, status="active")]
    bad = [entry(4, status="active", at="not a time")]
    tasks = await held_then(ledger, [entry(1, status="active")], good, bad, [entry(5)])
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], ValueError)
    assert [ids(r) for r in results if not isinstance(r, BaseException)] == [
        [(entry(1).id, "active", None)],
        [(entry(3).id, "active", None)],
        [(entry(5).id, entry(5).status, None)],
    ]
    # the shared transaction failed and rolled back; its batches were written one by one
    assert ledger.transactions == [1, 3, 1, 1, 1]
    assert ledger.get(entry(4).id) is None
    assert ledger.get(entry(5).id) is not None
    # the writer goes on
    assert ids(await ledger.commits.write([entry(6, status="active")])) == [
        (entry(6).id, "active", None)
    ]


async def test_a_cancelled_writer_is_still_committed_and_counted(database_url):
    ledger = HeldLedger(upgrade_database(database_url))
    counted: list[list[Transition]] = []
    first = asyncio.create_task(ledger.commits.write([entry(1, status="active")]))
    await asyncio.to_thread(ledger.held.wait, 10)
    waiting = asyncio.create_task(
        ledger.commits.write([entry(2, status="finished")], on_commit=counted.append)
    )
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    ledger.release.set()
    await first
    for _ in range(100):  # the commit lands after its waiter left
        if counted:
            break
        await asyncio.sleep(0.02)
    assert [ids(c) for c in counted] == [[(entry(2).id, "finished", None)]]
    assert ledger.get(entry(2).id) is not None
