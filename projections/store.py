"""SQLite tables of the read models, each written in one transaction with its tracking row.

Subclasses eventsourcing's SQLite tracking recorder so that `max_tracking_id` and the
strictly-increasing tracking check come from the library; a redelivered or older position
raises and rolls the whole batch back, which makes projection updates exactly-once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Notification, Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder

from domain.calendar import sortable_instant


class ViewStore(SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                "CREATE TABLE IF NOT EXISTS account_views ("
                "account_id TEXT PRIMARY KEY, ref TEXT UNIQUE, plan TEXT, term TEXT, "
                "live INTEGER, doc BLOB)",
                "CREATE TABLE IF NOT EXISTS journal ("
                "position INTEGER, line INTEGER, account_id TEXT, at TEXT, debit TEXT, "
                "credit TEXT, amount INTEGER, memo TEXT, PRIMARY KEY (position, line))",
                "CREATE TABLE IF NOT EXISTS ledger_clock (name TEXT PRIMARY KEY, at TEXT)"]

    # ---- account views
    def load_docs(self, c: SQLiteCursor, account_ids: Iterable[str]) -> dict[str, Any]:
        ids = list(account_ids)
        if not ids:
            return {}
        placeholders = ",".join("?" * len(ids))  # only "?" marks: values stay bound
        c.execute("SELECT account_id, doc FROM account_views WHERE account_id IN "  # noqa: S608
                  f"({placeholders})", ids)
        return {row[0]: orjson.loads(row[1]) for row in c.fetchall()}

    def write_docs(self, c: SQLiteCursor, docs: dict[str, dict[str, Any]]) -> None:
        rows = []
        for aid, doc in docs.items():
            sub = doc.get("sub") or {}
            live = bool(sub.get("live")) and doc.get("closed_at") is None
            rows.append((aid, doc["ref"], sub.get("plan"), sub.get("term"), int(live),
                         orjson.dumps(doc)))
        c.executemany("INSERT OR REPLACE INTO account_views VALUES (?, ?, ?, ?, ?, ?)", rows)

    def write_journal(self, c: SQLiteCursor, rows: list[tuple[Any, ...]]) -> None:
        c.executemany("INSERT INTO journal VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def track(self, c: SQLiteCursor, tracking: Tracking) -> None:
        self._insert_tracking(c, tracking)

    def doc(self, ref: str) -> dict[str, Any] | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT doc FROM account_views WHERE ref=?", (ref,))
            row = c.fetchone()
        return None if row is None else orjson.loads(row[0])

    def account_notifications(self, aid: UUID, position: int) -> list[Notification]:
        """One account's stored events up to a log position, in log order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT rowid, * FROM stored_events WHERE originator_id=? AND rowid<=? "
                      "ORDER BY rowid", (aid.hex, position))
            return [Notification(id=row["rowid"], originator_id=aid,
                                 originator_version=row["originator_version"],
                                 topic=row["topic"], state=row["state"])
                    for row in c.fetchall()]

    def refs(self) -> list[str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT ref FROM account_views ORDER BY ref")
            return [row[0] for row in c.fetchall()]

    def live_on(self, plan: str, term: str) -> list[str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT account_id FROM account_views WHERE live=1 AND plan=? AND term=? "
                      "ORDER BY ref", (plan, term))
            return [row[0] for row in c.fetchall()]

    def journal_rows(self) -> list[tuple[Any, ...]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT * FROM journal ORDER BY position, line")
            return [tuple(row) for row in c.fetchall()]

    # ---- deadlines (written by the event recorder with the events: infra/sqlite_recorder)
    def due_accounts(self, before: datetime, limit: int) -> list[str]:
        """Accounts with work due strictly before `before`, earliest first."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT account_id FROM deadlines WHERE due_at < ? "
                      "ORDER BY due_at, account_id LIMIT ?", (sortable_instant(before), limit))
            return [str(row[0]) for row in c.fetchall()]

    # ---- clock watermark: how far scheduled work has run
    def clock(self) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT at FROM ledger_clock WHERE name='scheduler'")
            row = c.fetchone()
        return None if row is None else str(row[0])

    def advance_clock(self, to: datetime) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT INTO ledger_clock VALUES ('scheduler', ?) ON CONFLICT (name) "
                      "DO UPDATE SET at=excluded.at WHERE excluded.at > ledger_clock.at",
                      (sortable_instant(to),))

    def drop_views(self) -> None:
        """For rebuilds: forget every view row and its tracking position."""
        with self.datastore.transaction(commit=True) as c:
            for table in ("account_views", "journal"):
                c.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            c.execute("DELETE FROM tracking WHERE application_name = 'accounts'")
