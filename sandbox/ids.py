"""ObjectId-style record ids: 24 hex characters, time-ordered like MongoDB's.

Tellescope ids are MongoDB ObjectIds; clients validate the shape (24 hex) and rely on ids sorting by
creation time (pagination with `lastId`). Layout: 4-byte seconds, 5-byte per-process random,
3-byte counter.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from datetime import UTC, datetime

_PROCESS_RANDOM = os.urandom(5)
_COUNTER = itertools.count(int.from_bytes(os.urandom(3), "big"))
_LOCK = threading.Lock()
OBJECT_ID_PATTERN = re.compile(r"^[0-9a-fA-F]{24}$")


def new_id(now: float | None = None) -> str:
    seconds = int(now if now is not None else time.time())
    with _LOCK:
        counter = next(_COUNTER) % 0xFFFFFF
    return (seconds.to_bytes(4, "big") + _PROCESS_RANDOM + counter.to_bytes(3, "big")).hex()


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and bool(OBJECT_ID_PATTERN.match(value))


def id_timestamp(record_id: str) -> datetime:
    return datetime.fromtimestamp(int(record_id[:8], 16), tz=UTC)
