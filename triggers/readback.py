"""Read webhook records back from Tellescope (webhooks are notifications, Tellescope is the
truth: docs/webhooks.md).

A record webhook's integrity hash covers the record ids and the timestamp only, so the intake
takes nothing else from the body as fact: it reads the records back by id, one bulk read per
delivery (`TellescopeClient.bulk_read`, chunked), from the collection the body names. An id that
collection does not hold is absent from the answer, and the record is ignored: a body that
renames its model (`endusers` -> `calendar_events`) reads back nothing, since Tellescope's ids are
ObjectIds, unique across collections.

Reads are cached briefly (`READBACK_TTL_SECONDS`) per (Tellescope, model, id), so a redelivery or
a burst of deliveries about one record does not read it again and again. A cached record is
reused only while it is not older than the `updatedAt` the body claims: a delivery about a newer
version reads again. The claim is unsigned, but all it can choose is *which real version*
Tellescope served (the cached one, at most `READBACK_TTL_SECONDS` old, or a fresh one), never the
record's content.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rules.dates import parse_iso
from tellescope.client import Record, TellescopeClient
from tellescope.errors import TellescopeRejected

# How long a record read back stays reusable. Short: long enough for a redelivery or a burst of
# deliveries about one record, short enough that nothing acts on a stale record for long (and a
# delivery claiming a newer version reads again anyway).
READBACK_TTL_SECONDS = 5.0
READBACK_CACHE_ENTRIES = 4096


class NotReadable(Exception):
    """The model cannot be read back (Tellescope has no bulk read for it): its records are
    ignored, with this reason."""


@dataclass(frozen=True)
class Wanted:
    id: str
    claimedUpdatedAt: Any = None  # the body's `updatedAt` (unsigned): a cache hint only


class RecordSource(Protocol):
    async def read(self, model: str, wanted: Sequence[Wanted]) -> dict[str, Record]: ...


def _moment(value: Any) -> datetime | None:
    return parse_iso(value) if isinstance(value, str) else None


class ReadBackCache:
    """Records read back, by (origin, model, id), for `ttl` seconds."""

    def __init__(
        self,
        ttl: float = READBACK_TTL_SECONDS,
        max_entries: int = READBACK_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: OrderedDict[tuple[str, str, str], tuple[float, Record]] = OrderedDict()

    def get(self, key: tuple[str, str, str], claimed_updated_at: Any) -> Record | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        read_at, record = entry
        if self.clock() - read_at > self.ttl:
            del self._entries[key]
            return None
        claimed, cached = _moment(claimed_updated_at), _moment(record.get("updatedAt"))
        if claimed is None or cached is None or cached < claimed:
            return None  # the delivery may be about a newer version: read again
        return record

    def put(self, key: tuple[str, str, str], record: Record) -> None:
        self._entries[key] = (self.clock(), record)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


CACHE = ReadBackCache()


class TellescopeReadBack:
    """Reads records back from Tellescope by id: cached ones from `cache`, the others in one
    bulk read (chunked by the client)."""

    def __init__(self, tellescope: TellescopeClient, cache: ReadBackCache | None = None) -> None:
        self.tellescope = tellescope
        self.cache = CACHE if cache is None else cache

    async def read(self, model: str, wanted: Sequence[Wanted]) -> dict[str, Record]:
        origin = str(self.tellescope.http.base_url)
        found: dict[str, Record] = {}
        missing: list[str] = []
        for item in wanted:
            cached = self.cache.get((origin, model, item.id), item.claimedUpdatedAt)
            if cached is not None:
                found[item.id] = cached
            elif item.id not in missing:
                missing.append(item.id)
        if not missing:
            return found
        try:
            records = await self.tellescope.bulk_read(model, missing)
        except TellescopeRejected as error:
            if error.status == 404:  # no such route: the model has no bulk read
                raise NotReadable(f"{model} cannot be read back from Tellescope") from error
            raise
        for record in records:
            self.cache.put((origin, model, record["id"]), record)
            found[record["id"]] = record
        return found


class ReadAhead:
    """A delivery's read-back, started before the receiver has written its claim, so that the
    claim (a store write) and the read (a request to Tellescope) overlap instead of following
    each other: the webhook's signal goes out sooner (docs/webhooks.md, "Read-back"). Only a read
    happens early; nothing is acted on until the claim says this caller processes the delivery.

    It answers `read` for the model and records it was started with, and hands any other read
    to `source`. `close()` (always, once the delivery is done with) cancels a read nobody took,
    whatever it raised, so a duplicate's read-ahead neither lingers nor logs."""

    def __init__(self, source: RecordSource, model: str, wanted: Sequence[Wanted]) -> None:
        self.source = source
        self._key = (model, tuple(w.id for w in wanted))
        self._task: asyncio.Task[dict[str, Record]] | None = (
            asyncio.ensure_future(source.read(model, wanted)) if wanted else None
        )

    async def read(self, model: str, wanted: Sequence[Wanted]) -> dict[str, Record]:
        task = self._task
        if task is not None and (model, tuple(w.id for w in wanted)) == self._key:
            self._task = None
            return await task
        return await self.source.read(model, wanted)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        # Waits without raising what the read raised (or its cancellation); a cancellation of
        # the caller itself still propagates.
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: nothing logs "never retrieved"


class FirstSightings:
    """Delivery keys this process has already verified, the last `size` of them: a copy of a
    delivery seen before gets no read-ahead (`ReadAhead`), so replaying one signed delivery
    cannot make the receiver read Tellescope once per copy (a duplicate is answered from its
    claim, which reads nothing). A redelivery after a failed first copy is read after its
    claim, as before the read-ahead."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def first(self, key: str) -> bool:
        """True the first time `key` is offered (then remembered), False after."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True


__all__ = [
    "CACHE",
    "READBACK_TTL_SECONDS",
    "FirstSightings",
    "NotReadable",
    "ReadAhead",
    "ReadBackCache",
    "RecordSource",
    "TellescopeReadBack",
    "Wanted",
]
