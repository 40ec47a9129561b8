"""Persistence (sqlmodel): deployed journey versions and the AutomatedAction ledger.

SQLite file by default, PostgreSQL through `DATABASE_URL`. Tables live here, never in `models/`:
workflow code must not import sqlmodel tables (the Temporal sandbox refuses them).
"""
