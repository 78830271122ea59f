"""The embedded backend: eventsourcing's SQLite recorders, extended with our tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteTrackingRecorder,
)

from infra.persistence.event_chain import CHAIN_TABLE, CHECKPOINT_TABLE, extend_chain
from infra.persistence.extras import EXTRA_TABLES, check_price_schedule, write_extras
from infra.persistence.ledger_store import LedgerStore
from projections.sql import SQLITE


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *(SQLITE(s) for s in EXTRA_TABLES),
            SQLITE(CHAIN_TABLE),
            SQLITE(CHECKPOINT_TABLE),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[Any], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        write_extras(c, SQLITE, kwargs)
        if stored_events:  # a read after the writes: a read first would make the
            # transaction a reader that SQLite refuses to upgrade once another one committed
            check_price_schedule(c, SQLITE, self.events_table_name, kwargs)
        if ids:  # SQLite holds the write lock: no other writer can chain in between
            extend_chain(c, SQLITE, ids, stored_events)
        return ids


class SQLiteViewStore(LedgerStore, SQLiteTrackingRecorder):
    dialect = SQLITE

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.view_table_statements()]

    def create_table(self) -> None:
        super().create_table()
        self.seed_positions()

    def lock_position(self, c: Any, name: str) -> int:
        # A write first: the transaction takes SQLite's write lock before it reads.
        c.execute(
            "UPDATE tracking SET notification_id=notification_id WHERE application_name=?", (name,)
        )
        c.execute("SELECT notification_id FROM tracking WHERE application_name=?", (name,))
        row = c.fetchone()
        return 0 if row is None else int(row[0])

    def account_notifications(self, aid: UUID, position: int) -> list[Notification]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, * FROM stored_events WHERE originator_id=? AND rowid<=? "
                "ORDER BY rowid",
                (aid.hex, position),
            )
            return [
                Notification(
                    id=row["rowid"],
                    originator_id=aid,
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]
