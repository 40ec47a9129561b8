"""Statements compiled once per engine and run on the driver's own cursor.

SQLAlchemy Core spends most of a small write on its own machinery: a cache key per execution,
an execution context, bound-parameter processing, a result object, the connection's
transaction bookkeeping. For the ledger, which every worker writes once or twice per enrollment,
that was about 70 % of each write's CPU (docs/decisions.md D47). A `Prepared` statement keeps
what SQLAlchemy is good at (the SQL of each dialect, and each column type's own conversion of a
Python value, so a row reads back exactly as if Core had written it) and does the per-execution
part itself: convert the values with the types' bind processors, order them as the dialect's
paramstyle wants, hand them to `cursor.execute` / `executemany`.

Use it only on hot paths whose statements are fixed; everything else stays on Core or the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


class Prepared:
    """One statement compiled for `engine`'s dialect. `table` gives the bound parameters' types:
    a parameter named like a column of `table` is converted as that column; others (`types`
    overrides either) go to the driver as they are."""

    def __init__(
        self,
        engine: Engine,
        statement: ClauseElement,
        table: Table,
        types: Mapping[str, str] | None = None,
    ) -> None:
        dialect = engine.dialect
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = str(compiled)
        # qmark / numeric dialects (SQLite) take a sequence in this order; named ones
        # (psycopg's pyformat) take the mapping.
        self.order: list[str] | None = None
        if compiled.positional:
            self.order = list(compiled.positiontup or [])
        column_of = {name: name for name in compiled.binds}
        column_of.update(types or {})
        self.converters: dict[str, Callable[[Any], Any]] = {}
        for name, column in column_of.items():
            if column not in table.c:
                continue
            processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.converters[name] = processor

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """`values` converted by the columns' types (None included: a JSON column stores
        `null` for it, as Core does), in the dialect's form."""
        converted = {
            name: self.converters[name](value) if name in self.converters else value
            for name, value in values.items()
        }
        if self.order is None:
            return converted
        return [converted[name] for name in self.order]


@contextmanager
def driver_cursor(engine: Engine) -> Iterator[Any]:
    """A pooled connection's DBAPI cursor, as one transaction: committed when the block ends,
    rolled back if it raises. The pool's own checkout rules (SQLite's pragmas, PostgreSQL's
    pre-ping) apply as for any connection."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            yield cursor
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()
    finally:
        connection.close()
