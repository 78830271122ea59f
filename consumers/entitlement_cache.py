"""An example downstream service: `account -> access`, kept current from the topic alone.

It shows how to consume the ledger: apply each account's events in `streamversion`
order, skip what was already applied (redelivery), hold back an event that arrives
before its predecessor until the gap is filled (a replayed or reordered delivery), and
fold with the same code as the ledger's own projection (`projections.account_view`),
so the cache can never disagree with it. Its state is a SQLite file of its own,
written in one transaction per event with the version it reached.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from consumers.event_consumer import CloudEvent
from projections.account_view import fold, new_doc, observe
from projections.documents import ObservedKey
from projections.event_records import EventRecord

# what a downstream service asks about a customer: may they use the product, on what,
# until when, and (SPEC 2.0) why not (a suspension), what changes next, until when
# their data can still be exported
ACCESS_KEYS: tuple[ObservedKey, ...] = (
    "status",
    "plan",
    "term",
    "access",
    "access_until",
    "suspension",
    "scheduled_change",
    "export_until",
)


class EntitlementCache:
    name = "entitlement-cache"

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS accounts (account_id TEXT PRIMARY KEY, "
            "ref TEXT, version INTEGER, doc BLOB)"
        )
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS held (account_id TEXT, version INTEGER, "
            "event BLOB, PRIMARY KEY (account_id, version))"
        )

    def handle(self, event: CloudEvent) -> None:
        if not event.type.startswith("subledger.account."):
            return  # price schedules, reference claims: not an account's entitlement
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "SELECT version, doc FROM accounts WHERE account_id=?", (event.subject,)
            ).fetchone()
            version, doc = (0, None) if row is None else (row[0], orjson.loads(row[1]))
            if event.version <= version:
                self.db.execute("COMMIT")  # applied before: a redelivery
                return
            self.db.execute(
                "INSERT OR IGNORE INTO held VALUES (?, ?, ?)",
                (event.subject, event.version, orjson.dumps(_as_dict(event))),
            )
            while True:  # apply the held events that now follow on
                nxt = self.db.execute(
                    "SELECT event FROM held WHERE account_id=? AND version=?",
                    (event.subject, version + 1),
                ).fetchone()
                if nxt is None:
                    break
                record = _record(orjson.loads(nxt[0]))
                doc = doc or new_doc(record.get("ref", ""))
                fold(doc, record)
                version += 1
                self.db.execute(
                    "DELETE FROM held WHERE account_id=? AND version=?", (event.subject, version)
                )
            if doc is not None:
                self.db.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?) ON CONFLICT "
                    "(account_id) DO UPDATE SET ref=excluded.ref, "
                    "version=excluded.version, doc=excluded.doc",
                    (event.subject, doc["ref"], version, orjson.dumps(doc)),
                )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def access(self, ref: str, as_of: datetime | None = None) -> dict[str, Any] | None:
        """What a service asks: may this customer use the product, and until when."""
        row = self.db.execute("SELECT doc FROM accounts WHERE ref=?", (ref,)).fetchone()
        if row is None:
            return None
        state = observe(orjson.loads(row[0]), as_of)
        return {k: state[k] for k in ACCESS_KEYS}

    def refs(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT ref FROM accounts ORDER BY ref")]

    def close(self) -> None:
        self.db.close()


def _as_dict(event: CloudEvent) -> dict[str, Any]:
    return {"name": event.name, "subject": event.subject, "data": event.data}


def _record(stored: dict[str, Any]) -> EventRecord:
    record = EventRecord(stored["data"])
    named: Any = record  # the record's two attributes beside its fields
    named.event_type = stored["name"]
    named.originator_id = stored["subject"]
    return record
