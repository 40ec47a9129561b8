"""Store tests run on SQLite and on PostgreSQL: every test taking `database_url` runs once per
backend, on a fresh database of its own (a new SQLite file; a new PostgreSQL schema, dropped
afterwards), so runs never collide.

PostgreSQL comes from `TEST_POSTGRES_URL`, else `DATABASE_URL` when it is a PostgreSQL URL, else
the local server (`postgresql://postgres@127.0.0.1:5432/test`). Its tests are skipped only when
no server answers there, and then fail instead when `REQUIRE_POSTGRES=1` (CI on a machine that
has one).
"""

from __future__ import annotations

from tests.store.databases import database_url, postgres_base  # noqa: F401  (fixtures)
