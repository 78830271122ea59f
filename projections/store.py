"""The read models' tables, each written in one transaction with its tracking row.

`ViewStore` holds the queries; the concrete stores in `infra/persistence/` put it on top of
eventsourcing's SQLite or PostgreSQL tracking recorder, so `max_tracking_id` and the
strictly-increasing tracking check come from the library: a redelivered or older
position raises and rolls the whole batch back, which makes projection updates
exactly-once, also with several processes catching up at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.persistence import Tracking

from projections.documents import AccountDoc
from projections.isolation import Isolation
from projections.sql import SqlDialect

JOURNAL_COLUMNS = ("position", "line", "account_id", "at", "debit", "credit", "amount", "memo")
# Everything that keeps a position in the tracking table: its row exists from the
# start, so a writer can lock it before it reads (see `claim`).
TRACKED = ("accounts", "collector", "privacy_keeper")

VIEW_TABLES = [
    "CREATE TABLE IF NOT EXISTS {t:account_views} ("
    "account_id TEXT PRIMARY KEY, ref TEXT UNIQUE, plan TEXT, term TEXT, "
    "live INTEGER, doc {blob})",
    "CREATE TABLE IF NOT EXISTS {t:journal} ("
    "position BIGINT, line INTEGER, account_id TEXT, at TEXT, debit TEXT, "
    "credit TEXT, amount BIGINT, memo TEXT, PRIMARY KEY (position, line))",
    # where a read model or consumer stopped, and what an operator skipped (isolation.py)
    "CREATE TABLE IF NOT EXISTS {t:read_model_failures} (name TEXT PRIMARY KEY, "
    "position BIGINT NOT NULL, event_id TEXT NOT NULL, topic TEXT NOT NULL, "
    "error TEXT NOT NULL, failed_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {t:read_model_skips} (name TEXT NOT NULL, "
    "position BIGINT NOT NULL, event_id TEXT NOT NULL, reason TEXT NOT NULL, "
    "error TEXT NOT NULL, skipped_at TEXT NOT NULL, PRIMARY KEY (name, position))",
]


class PositionMovedError(Exception):
    """Another process moved a projection's position while this one was reading."""


class ViewStore:
    """Mixed into (and before) a library tracking recorder, whose `max_tracking_id`,
    `insert_tracking` and `_insert_tracking` it uses; the concrete store sets `dialect`
    and implements the two hooks below."""

    dialect: SqlDialect
    datastore: Any

    if TYPE_CHECKING:  # the library recorder's, which the concrete stores mix in

        def max_tracking_id(self, application_name: str) -> int | None: ...

        def insert_tracking(self, tracking: Tracking) -> None: ...

        def _insert_tracking(self, *args: Any, **kwargs: Any) -> None: ...

    # ---- hooks of the concrete stores
    def lock_position(self, c: Any, name: str) -> int:
        """Lock `name`'s tracking row until the transaction ends; its position."""
        raise NotImplementedError

    @property
    def isolation(self) -> Isolation:
        """The failures and skips of the read models and consumers kept in this store:
        one per store, shared by every runner of the log (projections/isolation.py)."""
        found: Isolation | None = self.__dict__.get("_isolation")
        if found is None:
            found = self.__dict__["_isolation"] = Isolation(self)
        return found

    # ---- plumbing
    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        cm: AbstractContextManager[Any] = self.datastore.transaction(commit=commit)
        return cm

    def view_table_statements(self) -> list[str]:
        return [self.dialect(s) for s in VIEW_TABLES]

    def seed_positions(self) -> None:
        with self.transaction(commit=True) as c:
            for name in TRACKED:
                c.execute(
                    self.dialect(
                        "INSERT INTO {t:tracking} VALUES (?, 0) "
                        "ON CONFLICT (application_name) DO NOTHING"
                    ),
                    (name,),
                )

    def claim(self, c: Any, name: str, expected: int) -> None:
        """Start a write that continues from position `expected`: raises
        `PositionMovedError` when another process got there first."""
        if self.lock_position(c, name) != expected:
            raise PositionMovedError(name)

    # ---- account views
    def load_docs(self, c: Any, account_ids: Iterable[str]) -> dict[str, AccountDoc]:
        ids = list(account_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))  # only marks: the values stay bound
        c.execute(
            self.dialect(
                "SELECT account_id, doc FROM {t:account_views} "  # noqa: S608
                f"WHERE account_id IN ({marks})"
            ),
            ids,
        )
        return {row["account_id"]: orjson.loads(row["doc"]) for row in c.fetchall()}

    def write_docs(self, c: Any, docs: dict[str, AccountDoc]) -> None:
        rows = []
        for aid, doc in docs.items():
            sub = doc.get("sub")
            live = sub is not None and sub["live"] and doc.get("closed_at") is None
            rows.append(
                (
                    aid,
                    doc["ref"],
                    None if sub is None else sub["plan"],
                    None if sub is None else sub["term"],
                    int(live),
                    orjson.dumps(doc),
                )
            )
        if rows:
            c.executemany(
                self.dialect(
                    "INSERT INTO {t:account_views} VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (account_id) DO UPDATE SET ref=excluded.ref, "
                    "plan=excluded.plan, term=excluded.term, live=excluded.live, "
                    "doc=excluded.doc"
                ),
                rows,
            )

    def write_journal(self, c: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            c.executemany(
                self.dialect("INSERT INTO {t:journal} VALUES (?, ?, ?, ?, ?, ?, ?, ?)"), rows
            )

    def track(self, c: Any, tracking: Tracking) -> None:
        self._insert_tracking(c, tracking)

    def doc(self, ref: str) -> AccountDoc | None:
        with self.transaction(commit=False) as c:
            c.execute(self.dialect("SELECT doc FROM {t:account_views} WHERE ref=?"), (ref,))
            row = c.fetchone()
        return None if row is None else orjson.loads(row["doc"])

    def docs(self) -> list[AccountDoc]:
        """Every account view, by reference (reports)."""
        with self.transaction(commit=False) as c:
            c.execute(self.dialect("SELECT doc FROM {t:account_views} ORDER BY ref"))
            return [orjson.loads(row["doc"]) for row in c.fetchall()]

    def refs(self) -> list[str]:
        with self.transaction(commit=False) as c:
            c.execute(self.dialect("SELECT ref FROM {t:account_views} ORDER BY ref"))
            return [row["ref"] for row in c.fetchall()]

    def live_on(self, plan: str, term: str) -> list[str]:
        with self.transaction(commit=False) as c:
            c.execute(
                self.dialect(
                    "SELECT account_id FROM {t:account_views} WHERE live=1 "
                    "AND plan=? AND term=? ORDER BY ref"
                ),
                (plan, term),
            )
            return [row["account_id"] for row in c.fetchall()]

    def journal_rows(self) -> list[tuple[Any, ...]]:
        with self.transaction(commit=False) as c:
            c.execute(self.dialect("SELECT * FROM {t:journal} ORDER BY position, line"))
            return list(_tuples(c.fetchall(), JOURNAL_COLUMNS))

    def positions(self) -> dict[str, int]:
        """Every tracked position: what `db check` and `project` report lag from."""
        with self.transaction(commit=False) as c:
            c.execute(
                self.dialect(
                    "SELECT application_name, notification_id "
                    "FROM {t:tracking} ORDER BY application_name"
                )
            )
            return {
                row["application_name"]: int(row["notification_id"] or 0)
                for row in c.fetchall()
                if not row["application_name"].startswith("__")
            }

    def reset_position(self, name: str) -> None:
        """Back to position 0, for a consumer that starts over (a republished topic)."""
        with self.transaction(commit=True) as c:
            c.execute(
                self.dialect(
                    "INSERT INTO {t:tracking} VALUES (?, 0) ON CONFLICT "
                    "(application_name) DO UPDATE SET notification_id=0"
                ),
                (name,),
            )

    def drop_views(self) -> None:
        """For rebuilds: forget every view row and put the position back to 0."""
        with self.transaction(commit=True) as c:
            self.lock_position(c, "accounts")
            c.execute(self.dialect("DELETE FROM {t:account_views}"))
            c.execute(self.dialect("DELETE FROM {t:journal}"))
            c.execute(
                self.dialect(
                    "UPDATE {t:tracking} SET notification_id=0 WHERE application_name='accounts'"
                )
            )


def _tuples(rows: Iterable[Any], columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield tuple(row[name] for name in columns)
