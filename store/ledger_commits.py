"""Group commit for the worker's ledger writes: concurrent batches share one transaction.

A worker writes a ledger batch for nearly every workflow task of every enrollment (the
`record_ledger` local activity), and in the folded history shape one more before an enrollment's
first side effect (activities/join_first.py). Written one by one, each batch was a transaction of
its own, run on a thread of the activity pool: about 0.55 ms of the worker's CPU on SQLite, nearly
all of it fixed per transaction (begin, a SELECT, an INSERT or UPDATE, commit, the hand-off to the
thread and back), whatever the batch's size. Here the batches go to one writer thread instead;
those that arrive while it writes a transaction wait for it and go together in the next one, so
under load a transaction carries many batches, and alone a batch waits for nothing
(docs/decisions.md D43).

Each batch still gets what it would have got alone: the status changes its own rows made, in the
order the batches arrived (a later batch sees an earlier one's rows, as it would have after the
earlier one's commit). If a shared transaction fails, its batches are written again one by one, so
a batch that cannot be written fails only its own write. A caller cancelled while it waits (an
evicted workflow's local activity) does not undo the write: the commit's callback still runs,
which is where the worker counts the transitions (activities/action_metrics.py), so no commit
goes uncounted.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.runtime import LedgerEntry

if TYPE_CHECKING:
    from store.ledger import Ledger, Transition

log = logging.getLogger("journeys.ledger")

# At most this many rows in one transaction (a bound on the SELECT's IN list and on the time a
# batch that arrives last waits); a single larger batch still goes alone.
MAX_GROUP_ENTRIES = 500

OnCommit = Callable[[list["Transition"]], None]


@dataclass
class _Pending:
    entries: list[LedgerEntry]
    future: asyncio.Future[list[Transition]]
    loop: asyncio.AbstractEventLoop
    on_commit: OnCommit | None


class LedgerCommits:
    """The ledger's asynchronous writes (`Ledger.commits`), grouped into shared transactions."""

    def __init__(self, ledger: Ledger, *, max_group_entries: int = MAX_GROUP_ENTRIES) -> None:
        self.ledger = ledger
        self.max_group_entries = max_group_entries
        self._lock = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._draining = False
        self._executor: ThreadPoolExecutor | None = None
        # How many batches went in how many groups (a group is one transaction unless it failed
        # and was written again one by one): what the tests and the benchmark read.
        self.batches_written = 0
        self.groups_written = 0

    async def write(
        self, entries: Sequence[LedgerEntry], on_commit: OnCommit | None = None
    ) -> list[Transition]:
        """Write the batch and answer the status changes it made (`Ledger.record_transitions`).
        `on_commit` runs on this loop once the batch is committed, even if the caller was
        cancelled meanwhile."""
        loop = asyncio.get_running_loop()
        pending = _Pending(list(entries), loop.create_future(), loop, on_commit)
        # Nobody may be waiting any more when the outcome arrives (a cancelled caller): mark an
        # exception as seen so that asyncio does not log it as never retrieved.
        pending.future.add_done_callback(_retrieve)
        with self._lock:
            self._queue.append(pending)
            start = not self._draining
            self._draining = True
        if start:
            self._writer().submit(self._drain)
        return await asyncio.shield(pending.future)

    def _writer(self) -> ThreadPoolExecutor:
        if self._executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-commits")
            weakref.finalize(self, executor.shutdown, wait=False)
            self._executor = executor
        return self._executor

    def _next_group(self) -> list[_Pending]:
        with self._lock:
            group: list[_Pending] = []
            size = 0
            while self._queue and (
                not group or size + len(self._queue[0].entries) <= self.max_group_entries
            ):
                pending = self._queue.popleft()
                group.append(pending)
                size += len(pending.entries)
            if not group:
                self._draining = False
            return group

    def _drain(self) -> None:
        """The writer thread: transactions until the queue is empty."""
        group: list[_Pending] = []
        try:
            while group := self._next_group():
                outcomes = self._commit(group)
                self.groups_written += 1
                self.batches_written += len(group)
                _settle_from_thread(list(zip(group, outcomes, strict=True)))
                group = []
        except BaseException as error:  # never leave a waiter hanging, nor the queue stuck
            log.exception("ledger group commit failed")
            with self._lock:
                stranded = group + list(self._queue)
                self._queue.clear()
                self._draining = False
            _settle_from_thread([(pending, error) for pending in stranded])
            if not isinstance(error, Exception):
                raise

    def _commit(self, group: list[_Pending]) -> list[list[Transition] | BaseException]:
        if len(group) > 1:
            try:
                return list(self.ledger.record_groups([pending.entries for pending in group]))
            except Exception:
                log.warning(
                    "a shared ledger transaction of %d batches failed; writing them one by one",
                    len(group),
                    exc_info=True,
                )
        outcomes: list[list[Transition] | BaseException] = []
        for pending in group:
            try:
                outcomes.append(self.ledger.record_transitions(pending.entries))
            except Exception as error:
                outcomes.append(error)
        return outcomes


def _retrieve(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _settle_from_thread(outcomes: list[tuple[_Pending, list[Transition] | BaseException]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for pending, outcome in outcomes:
        by_loop.setdefault(pending.loop, []).append((pending, outcome))
    for loop, items in by_loop.items():  # one wake-up per loop, not one per batch
        try:
            loop.call_soon_threadsafe(_settle, items)
        except RuntimeError:  # the loop has closed: nobody is waiting
            pass


def _settle(items: list[tuple[_Pending, list[Transition] | BaseException]]) -> None:
    for pending, outcome in items:
        if isinstance(outcome, BaseException):
            if not pending.future.done():
                pending.future.set_exception(outcome)
            continue
        if pending.on_commit is not None:
            try:
                pending.on_commit(outcome)
            except Exception:
                log.exception("a ledger commit's callback failed")
        if not pending.future.done():
            pending.future.set_result(outcome)
