"""`ReadAhead`: a delivery's read-back starts before the receiver's claim is written and is
handed to the intake, so the two waits overlap (docs/webhooks.md, "Read-back"). Checked with
a source standing in for Tellescope that records what it is asked and can be held; the receiver
end to end (the real sandbox, the real intake) is in tests/api/test_webhooks.py."""

from __future__ import annotations

import asyncio

import pytest

from triggers.intake import read_ahead, wanted_records, webhook_records
from triggers.readback import FirstSightings, ReadAhead, Wanted

pytestmark = pytest.mark.asyncio(loop_scope="session")


class HeldSource:
    """Answers reads like a bulk read, once `release` is set; records every read asked."""

    def __init__(self, records: dict[str, dict], *, fail: Exception | None = None) -> None:
        self.records, self.fail = records, fail
        self.asked: list[tuple[str, list[str]]] = []
        self.release = asyncio.Event()
        self.cancelled = False

    async def read(self, model, wanted):
        self.asked.append((model, [w.id for w in wanted]))
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.fail is not None:
            raise self.fail
        return {w.id: self.records[w.id] for w in wanted if w.id in self.records}


def delivery(*ids: str, model: str = "form_responses") -> dict:
    return {"model": model, "type": "create", "records": [{"id": i} for i in ids]}


async def test_the_read_starts_at_once_and_is_handed_over_once():
    source = HeldSource({"r1": {"id": "r1", "submittedAt": "2026-12-07T10:00:00Z"}})
    ahead = read_ahead(delivery("r1", "r2"), source)
    await asyncio.sleep(0)  # the receiver's claim would be written meanwhile
    assert source.asked == [("form_responses", ["r1", "r2"])]  # started before it was asked
    source.release.set()
    wanted = wanted_records(webhook_records(delivery("r1", "r2")))
    assert await ahead.read("form_responses", wanted) == {"r1": source.records["r1"]}
    # a second read (another mapper's) is the source's own, not the early one again
    assert await ahead.read("form_responses", wanted) == {"r1": source.records["r1"]}
    assert len(source.asked) == 2
    await ahead.close()


async def test_a_read_of_other_records_goes_to_the_source():
    source = HeldSource({"x": {"id": "x"}})
    ahead = ReadAhead(source, "form_responses", [Wanted("r1")])
    source.release.set()
    assert await ahead.read("endusers", [Wanted("x")]) == {"x": {"id": "x"}}
    assert source.asked[-1] == ("endusers", ["x"])
    await ahead.close()


async def test_close_cancels_a_read_nobody_took():
    """A duplicate or a refused copy: its early read is dropped, not left running."""
    source = HeldSource({})
    ahead = read_ahead(delivery("r1"), source)
    await asyncio.sleep(0)
    await ahead.close()
    assert source.cancelled
    await ahead.close()  # closing twice is harmless


async def test_closing_does_not_swallow_the_callers_own_cancellation():
    """The receiver's request is cancelled (the client went away) while it waits for its early
    read to wind down: the cancellation reaches the request, it is not taken for the read's."""

    class SlowToStop(HeldSource):
        async def read(self, model, wanted):
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                await asyncio.sleep(0.2)  # an HTTP exchange closing its connection
                raise
            return {}

    ahead = read_ahead(delivery("r1"), SlowToStop({}))
    await asyncio.sleep(0)
    closing = asyncio.create_task(ahead.close())
    await asyncio.sleep(0.05)  # close() is waiting for the read to stop
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing


async def test_close_swallows_what_an_untaken_read_raised():
    source = HeldSource({}, fail=RuntimeError("Tellescope down"))
    ahead = read_ahead(delivery("r1"), source)
    source.release.set()
    await asyncio.sleep(0.01)  # the read has failed by now; nobody awaited it
    await ahead.close()  # no exception, no "Task exception was never retrieved"


async def test_a_taken_read_raises_to_the_intake():
    source = HeldSource({}, fail=RuntimeError("Tellescope down"))
    ahead = read_ahead(delivery("r1"), source)
    source.release.set()
    with pytest.raises(RuntimeError, match="Tellescope down"):
        await ahead.read("form_responses", [Wanted("r1")])
    await ahead.close()


async def test_nothing_to_read_starts_nothing():
    """Deletes and models without a mapper are not read back: no early read either."""
    source = HeldSource({})
    for payload in (
        {"model": "form_responses", "type": "delete", "records": [{"id": "r1"}]},
        delivery("j1", model="journeys"),
        delivery(),
    ):
        ahead = read_ahead(payload, source)
        await asyncio.sleep(0)
        await ahead.close()
    assert source.asked == []


async def test_only_a_first_sighting_counts_and_the_memory_is_bounded():
    seen = FirstSightings(size=2)
    assert [seen.first(k) for k in ("a", "a", "b", "a")] == [True, False, True, False]
    assert seen.first("c")  # three keys: "b", the least recently offered, is forgotten
    assert seen.first("b")  # offered afresh; "a" is forgotten in turn
    assert not seen.first("c") and seen.first("a")
