"""Keep Python's cyclic garbage collector off the long-lived start-up heap (docs/decisions.md D32).

Evaluating one event against 1,000 triggers allocates some 1,000 decisions, so the collector
runs full collections often, and each one traversed everything the process had loaded: modules,
pydantic schemas, the compiled plans and the built triggers. Those pauses were the p99 of trigger
evaluation (over 100 ms against a p50 of a few ms, BENCHMARKS.md). The API and the worker call
`freeze_startup_heap` once at start, after the plans and triggers are loaded and the caches
warmed; the benchmarks call the same function, so they measure what the processes do.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("journeys.gc")


def freeze_startup_heap() -> int:
    """Collect once, then move every object still alive into the collector's permanent
    generation, which no later collection traverses (`gc.freeze`). Objects are still freed by
    reference counting; only the cycle search skips them, so a frozen object that later becomes
    cyclic garbage stays allocated: acceptable for what start-up holds (modules, schemas,
    plans), which lives as long as the process. Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("garbage collector: %d start-up objects frozen", frozen)
    return frozen
