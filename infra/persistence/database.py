"""Where the ledger keeps everything: a SQLite file (embedded) or a PostgreSQL schema.

The one place that turns configuration into eventsourcing's persistence settings.
SQLite creates its tables on open, so `subledger` works on a fresh machine with no
server; PostgreSQL is created by `subledger db init` only, and a process that finds no
schema (or a schema of another version) stops with an error saying so.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from projections.sql import SCHEMA_NAME

SCHEMA_VERSION = 3  # 2: the HTTP API's key and idempotency tables; 3: read-model failures
_URL_OPTIONS = {"schema", "pool_size", "lock_timeout"}
POOL_SIZE = 4  # connections a process keeps; the LISTEN of `project --follow` holds one


class DatabaseUrlError(ValueError):
    """A database URL that cannot be used; the message says which part."""


class DatabaseNotReadyError(Exception):
    """The database is reachable but holds no ledger schema of this version."""


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" | "postgresql"
    path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = "public"
    pool_size: int = POOL_SIZE
    lock_timeout: int = 10  # seconds a writer waits for the events table lock
    read_only: bool = False  # opened for reading only (`--read-only`, a file nobody may write)

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"

    def describe(self) -> str:
        """For humans and logs: never the password."""
        if self.is_sqlite:
            return f"sqlite:{self.path}"
        return (
            f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}?schema={self.schema}"
        )

    def url(self) -> str:
        """The URL this was parsed from, password included (for configuration only)."""
        if self.is_sqlite:
            return str(self.path)
        auth = quote(self.user, safe="") + (
            f":{quote(self.password, safe='')}" if self.password else ""
        )
        return (
            f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"
            f"?schema={self.schema}&pool_size={self.pool_size}"
            f"&lock_timeout={self.lock_timeout}"
        )

    def env(self, *, create: bool) -> dict[str, str]:
        """eventsourcing's persistence settings for this database."""
        if self.is_sqlite:
            assert self.path is not None
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": sqlite_read_only_uri(self.path)
                if self.read_only
                else str(self.path),
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "infra.persistence.sqlite:LedgerSQLiteRecorder",
                "CREATE_TABLE": "yes" if create else "no",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": str(self.lock_timeout),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
            # the library's insert function would skip our recorder's extras (the
            # hash chain, deadlines, keys): pinned off whatever the environment says
            "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
            "APPLICATION_RECORDER_TOPIC": "infra.persistence.postgres:LedgerPostgresRecorder",
            "CREATE_TABLE": "yes" if create else "no",
        }

    def conninfo(self) -> dict[str, str | int]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": 5,
        }

    def with_schema(self, schema: str) -> Database:
        if not SCHEMA_NAME.fullmatch(schema):
            raise DatabaseUrlError(f"schema {schema!r}: lower-case letters, digits and _")
        return replace(self, schema=schema)


def may_not_write(path: Path) -> bool:
    """A file or folder this process may not write, or that nobody may write (no write
    bit at all: `chmod 444`, which root could otherwise write through)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def sqlite_read_only_uri(path: Path) -> str:
    """SQLite's URI that opens the file for reading only (`mode=ro`): no write can
    happen whatever the file's permissions or the user. A WAL database opened so needs
    its `-shm` file, or a folder where it can make one; when the folder may not be
    written and no `-wal` file holds pages, `immutable=1` reads the file as it is,
    with no lock and no side file."""
    target = path.resolve()
    uri = f"file:{quote(str(target), safe='/')}?mode=ro"
    wal = target.with_name(target.name + "-wal")
    if may_not_write(target.parent) and (not wal.exists() or wal.stat().st_size == 0):
        uri += "&immutable=1"
    return uri


def sqlite_database(path: Path) -> Database:
    return Database(kind="sqlite", path=path)


def parse_database_url(url: str) -> Database:
    """`postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?schema=NAME]`, or
    `sqlite:///PATH` (also a plain path)."""
    if "://" not in url:
        return sqlite_database(Path(url))
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if not path or path == "/":
            raise DatabaseUrlError("sqlite URL without a file: sqlite:///path/to/ledger.db")
        return sqlite_database(Path(path))
    if parts.scheme not in ("postgresql", "postgres"):
        raise DatabaseUrlError(
            f"unknown database scheme {parts.scheme!r}: use postgresql://... or sqlite:///..."
        )
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise DatabaseUrlError("the URL names no database: postgresql://user@host/DBNAME")
    if not parts.username:
        raise DatabaseUrlError("the URL names no user: postgresql://USER@host/dbname")
    try:
        port = parts.port or 5432
    except ValueError:
        raise DatabaseUrlError("the port is not a number") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - _URL_OPTIONS)
    if unknown:
        raise DatabaseUrlError(f"unknown URL option(s) {unknown}; known: {sorted(_URL_OPTIONS)}")
    options = {k: v[-1] for k, v in query.items()}
    try:
        pool_size = int(options.get("pool_size", POOL_SIZE))
        lock_timeout = int(options.get("lock_timeout", 10))
    except ValueError:
        raise DatabaseUrlError("pool_size and lock_timeout are whole numbers") from None
    db = Database(
        kind="postgresql",
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        dbname=dbname,
        pool_size=max(pool_size, 2),
        lock_timeout=lock_timeout,
    )
    return db.with_schema(options.get("schema", "public"))


def ensure_schema(db: Database) -> None:
    """PostgreSQL: create the schema itself (the recorders create tables inside it)."""
    _on_schema(db, "CREATE SCHEMA IF NOT EXISTS {}")


def drop_schema(db: Database) -> None:
    """PostgreSQL: drop the schema and everything in it (tests, scenario runs)."""
    _on_schema(db, "DROP SCHEMA IF EXISTS {} CASCADE")


def _on_schema(db: Database, statement: str) -> None:
    if db.is_sqlite:
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(**db.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(sql.SQL(statement).format(sql.Identifier(db.schema)))
