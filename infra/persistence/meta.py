"""The ledger's own facts about its database (`subledger_meta`): the schema version that
`db init` wrote, checked at every open, and the ledger's identity, the CloudEvents
`source` of its events."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import PersistenceError

from infra.persistence.database import SCHEMA_VERSION, Database, DatabaseNotReadyError
from projections.store import ViewStore


def mark_schema_version(store: ViewStore) -> None:
    with store.transaction(commit=True) as c:
        c.execute(
            store.dialect(
                "INSERT INTO {t:subledger_meta} VALUES ('schema_version', ?) "
                "ON CONFLICT (name) DO UPDATE SET value=excluded.value"
            ),
            (str(SCHEMA_VERSION),),
        )
    ledger_identity(store)


def ledger_identity(store: ViewStore) -> str:
    """A UUID naming this ledger, made once with its schema (or the first time it is
    asked, for a ledger older than it): the CloudEvents `source` of its events, so that
    two ledgers publishing to one broker never give two events the same source and id."""
    with store.transaction(commit=True) as c:
        c.execute(
            store.dialect(
                "INSERT INTO {t:subledger_meta} VALUES ('ledger_id', ?) "
                "ON CONFLICT (name) DO NOTHING"
            ),
            (str(uuid4()),),
        )
        c.execute(store.dialect("SELECT value FROM {t:subledger_meta} WHERE name='ledger_id'"))
        return str(c.fetchone()["value"])


def schema_version(store: ViewStore) -> int | None:
    """The schema version written by `db init`, None when there is no ledger schema."""
    try:
        with store.transaction(commit=False) as c:
            c.execute(
                store.dialect("SELECT value FROM {t:subledger_meta} WHERE name='schema_version'")
            )
            row = c.fetchone()
    except PersistenceError as e:
        if "does not exist" in str(e) or "no such table" in str(e):
            return None
        raise
    return None if row is None else int(row["value"])


def check_schema_version(store: ViewStore, db: Database) -> None:
    found = schema_version(store)
    if found is None:
        raise DatabaseNotReadyError(
            f"{db.describe()} holds no subledger schema; run `subledger db init` first"
        )
    if found != SCHEMA_VERSION:
        raise DatabaseNotReadyError(
            f"{db.describe()} has schema version {found}, this subledger needs {SCHEMA_VERSION}"
        )
