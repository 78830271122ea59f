"""The SQLite event recorder, extended to write the scheduler's index and new data keys
in the same transaction as the events that make them (as eventsourcing's
searchabletimestamps example does), so neither can lag behind or outlive the events.

- `deadlines`: each account's next deadline, computed by the domain from the aggregate
  being saved; the scheduler reads it, and it is never stale.
- `subject_keys`: the data key sealing a new account's personal fields (GDPR-5); a
  registration that fails to save leaves no orphan key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from domain.calendar import sortable_instant

DEADLINE_TABLES = [
    "CREATE TABLE IF NOT EXISTS deadlines (account_id TEXT PRIMARY KEY, due_at TEXT)",
    "CREATE INDEX IF NOT EXISTS deadlines_due ON deadlines (due_at, account_id)",
    "CREATE TABLE IF NOT EXISTS subject_keys ("
    "account_id TEXT PRIMARY KEY, data_key BLOB NOT NULL)",
]


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *DEADLINE_TABLES]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        deadlines: Sequence[tuple[str, datetime | None]] = kwargs.get("deadlines", ())
        for account_id, due in deadlines:
            if due is None:
                c.execute("DELETE FROM deadlines WHERE account_id=?", (account_id,))
            else:
                c.execute("INSERT OR REPLACE INTO deadlines VALUES (?, ?)",
                          (account_id, sortable_instant(due)))
        for account_id, key in kwargs.get("new_keys", ()):
            c.execute("INSERT INTO subject_keys VALUES (?, ?)", (account_id, key))
        return ids
