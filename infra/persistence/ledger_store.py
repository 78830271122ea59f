"""The one store a ledger reads besides the event log: the read models of
`projections.store.ViewStore`, plus what the scheduler and the per-account answers read
in SQL, which is no fold and so no projection's business:

- the deadline index (`deadlines`, written by the event recorder with the events,
  `infra/persistence/extras.py`): the accounts with work due before an instant;
- the scheduler's clock watermark (`ledger_clock`): how far scheduled work has run;
- one account's stored events up to a log position (`account_notifications`), what
  every per-account fold of the log reads (history, as-of answers, invoice identities).

The concrete stores (`infra/persistence/sqlite.py`, `postgres.py`) put it on top of
eventsourcing's tracking recorders and read their own events table.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.calendar import sortable_instant
from projections.store import ViewStore

CLOCK_TABLE = "CREATE TABLE IF NOT EXISTS {t:ledger_clock} (name TEXT PRIMARY KEY, at TEXT)"


class LedgerStore(ViewStore):
    # ---- hook of the concrete stores
    def account_notifications(self, aid: UUID, position: int) -> list[Notification]:
        """One account's stored events up to a log position, in log order."""
        raise NotImplementedError

    def view_table_statements(self) -> list[str]:
        return [*super().view_table_statements(), self.dialect(CLOCK_TABLE)]

    # ---- deadlines (written by the event recorder with the events)
    def due_accounts(self, before: datetime, limit: int) -> list[str]:
        """Accounts with work due strictly before `before`, earliest first."""
        with self.transaction(commit=False) as c:
            c.execute(
                self.dialect(
                    "SELECT account_id FROM {t:deadlines} WHERE due_at < ? "
                    "ORDER BY due_at, account_id LIMIT ?"
                ),
                (sortable_instant(before), limit),
            )
            return [str(row["account_id"]) for row in c.fetchall()]

    def deadlines_of(self, accounts: list[str]) -> dict[str, str]:
        """The next deadline (sortable instant) of each of these accounts that has one."""
        if not accounts:
            return {}
        marks = ", ".join("?" * len(accounts))
        with self.transaction(commit=False) as c:
            c.execute(
                self.dialect(
                    f"SELECT account_id, due_at FROM {{t:deadlines}} WHERE account_id IN ({marks})"  # noqa: S608
                ),
                tuple(accounts),
            )
            return {str(row["account_id"]): str(row["due_at"]) for row in c.fetchall()}

    # ---- clock watermark: how far scheduled work has run
    def clock(self) -> str | None:
        with self.transaction(commit=False) as c:
            c.execute(self.dialect("SELECT at FROM {t:ledger_clock} WHERE name='scheduler'"))
            row = c.fetchone()
        return None if row is None else str(row["at"])

    def advance_clock(self, to: datetime) -> None:
        with self.transaction(commit=True) as c:
            c.execute(
                self.dialect(
                    "INSERT INTO {t:ledger_clock} AS clock VALUES ('scheduler', ?) "
                    "ON CONFLICT (name) DO UPDATE SET at=excluded.at WHERE excluded.at > clock.at"
                ),
                (sortable_instant(to),),
            )
