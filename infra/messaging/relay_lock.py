"""One active relay per ledger: a lock the operating system or the database releases
when its holder dies, so a standby relay takes over from a crashed one by itself.

PostgreSQL: a session advisory lock on a connection of its own, keyed by the schema.
SQLite: `flock` on a file beside the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from infra.persistence.database import Database

log = structlog.get_logger("subledger.relay")


@contextlib.contextmanager
def single_relay(db: Database, stop: threading.Event, poll_seconds: float = 0.5) -> Iterator[bool]:
    """Hold the relay lock for the block; waits (standby) while another relay holds it.
    Yields False if `stop` was set before the lock came."""
    if db.is_sqlite:
        assert db.path is not None
        with _file_lock(Path(str(db.path) + ".relay.lock"), stop, poll_seconds) as held:
            yield held
    else:
        with _advisory_lock(db, stop, poll_seconds) as held:
            yield held


@contextlib.contextmanager
def _file_lock(path: Path, stop: threading.Event, poll: float) -> Iterator[bool]:
    with open(path, "a+b") as handle:
        announced = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    log.warning("another relay is active; standing by", lock=str(path))
                    announced = True
                if stop.wait(poll):
                    yield False
                    return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _advisory_lock(db: Database, stop: threading.Event, poll: float) -> Iterator[bool]:
    import psycopg

    key = f"subledger-relay:{db.dbname}:{db.schema}"
    conn: Any = psycopg.connect(**db.conninfo(), autocommit=True)  # type: ignore[arg-type]
    try:
        announced = False
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()
            if row and row[0]:
                break
            if not announced:
                log.warning("another relay is active; standing by", lock=key)
                announced = True
            if stop.wait(poll):
                yield False
                return
        yield True  # released when this connection closes, also if the process dies
    finally:
        conn.close()
