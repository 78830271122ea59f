"""The production backend: eventsourcing's PostgreSQL recorders, extended with our tables.

The library's application recorder serialises inserts with an EXCLUSIVE table lock, so
notification ids are issued in commit order and a follower never skips a gap that is
filled later; it NOTIFYs a channel named after the events table, which `subscribe`
(LISTEN) turns into a wake-up for `subledger project --follow`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresTrackingRecorder,
)
from psycopg.sql import SQL, Composed

from infra.persistence.event_chain import CHAIN_TABLE, CHECKPOINT_TABLE, extend_chain
from infra.persistence.extras import EXTRA_TABLES, check_price_schedule, write_extras
from infra.persistence.ledger_store import LedgerStore
from projections.sql import SqlDialect, postgres

TRACKING_TABLE = "subledger_tracking"


def _statement(text: str) -> Composed:
    """One of our CREATE statements, as the library's recorders keep theirs."""
    return Composed([SQL(text)])


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.dialect = postgres(datastore.schema, TRACKING_TABLE)
        self.sql_create_statements.extend(
            _statement(self.dialect(s)) for s in (*EXTRA_TABLES, CHAIN_TABLE, CHECKPOINT_TABLE)
        )

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # Runs in the events' transaction, before the table lock (see recorder_extras).
        write_extras(curs, self.dialect, kwargs)

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The events' ids, then their chain rows: still in the events' transaction and
        under its table lock, so chains are extended one transaction at a time."""
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if stored_events:  # under the table lock: no announcement commits in between
            check_price_schedule(curs, self.dialect, self.events_table_name, kwargs)
        if ids:
            extend_chain(curs, self.dialect, ids, stored_events)
        return ids


class PostgresViewStore(LedgerStore, PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore, events_table: str) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE)
        self.dialect: SqlDialect = postgres(datastore.schema, TRACKING_TABLE)
        self.events_table = self.dialect.table(events_table)
        self.sql_create_statements.extend(_statement(s) for s in self.view_table_statements())

    def create_table(self) -> None:
        super().create_table()
        self.seed_positions()

    def lock_position(self, c: Any, name: str) -> int:
        c.execute(
            self.dialect(
                "SELECT notification_id FROM {t:tracking} WHERE application_name=? FOR UPDATE"
            ),
            (name,),
        )
        row = c.fetchone()
        return 0 if row is None else int(row["notification_id"])

    def account_notifications(self, aid: UUID, position: int) -> list[Notification]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT * FROM {self.events_table} "  # noqa: S608 - a fixed name
                "WHERE originator_id=%s AND notification_id<=%s "
                "ORDER BY notification_id",
                (aid, position),
            )
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=aid,
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in c.fetchall()
            ]
