"""The question log's database is the shared one (database/): these names stay importable from here
for the code that opens the log (bot/runner.py, the end-to-end tests)."""

from __future__ import annotations

from database.engine import (
    DatabaseError,
    NewerSchemaError,
    migrate,
    open_database,
    reason,
    shown,
)

__all__ = ["DatabaseError", "NewerSchemaError", "migrate", "open_database", "reason", "shown"]
