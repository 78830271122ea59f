"""Where the benchmarks store their events: one class per database, SQLite first.

Every workload asks a `Backend` for a fresh database, a ledger on it (through the real
composition root, `build_ledger`) and the environment of a bare eventsourcing
`Application` on the same database settings (the baseline). SQLite files and
PostgreSQL schemas are the two classes here; the workloads do not change.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from consumers.payment_provider import SimulatedPaymentProvider
from domain.profiles import BUILT_IN_PROFILES
from infra.application.bootstrap import build_ledger
from infra.application.ledger import Ledger
from infra.config import LedgerConfig

PROFILE = BUILT_IN_PROFILES["monthly-autorenew"]
# one master key for every store of the benchmarks (child processes reopen them)
BENCH_MASTER_KEY = bytes(range(32))
CURRENCY = "EUR"
CATALOG = {"basic": {"monthly": 2900, "quarterly": 7500, "annual": 29000}}


class Backend(Protocol):
    name: str

    def fresh(self, label: str) -> str:
        """A new, empty database; returns its locator (a file path, a DSN...)."""

    def ledger(self, locator: str) -> Ledger:
        """The product, built by its composition root on that database."""

    def library_env(self, locator: str) -> dict[str, str]:
        """Settings of a bare eventsourcing Application on the same kind of database."""

    def copy(self, source: str, label: str) -> str:
        """A copy of a closed database, so a destructive workload can repeat from it."""

    def describe(self) -> dict[str, str]:
        """What a reader needs to compare figures: engine version, where files live."""

    def cleanup(self) -> None:
        """Remove every database this backend made."""


class SQLiteBackend:
    """SQLite files in one temporary directory (WAL mode, as the library sets it)."""

    name = "sqlite"

    def __init__(self, workdir: Path | None = None) -> None:
        self.workdir = workdir
        self._root: Path | None = None  # made on first use: a replay child needs none
        self.counter = 0

    @property
    def root(self) -> Path:
        if self._root is None:
            parent = None if self.workdir is None else str(self.workdir)
            self._root = Path(tempfile.mkdtemp(prefix="subledger-bench-", dir=parent))
        return self._root

    def fresh(self, label: str) -> str:
        self.counter += 1
        return str(self.root / f"{self.counter:03d}-{label}.db")

    def ledger(self, locator: str) -> Ledger:
        config = LedgerConfig(
            database=Path(locator),
            profile=PROFILE,
            currency=CURRENCY,
            catalog=CATALOG,
            master_key=BENCH_MASTER_KEY,
        )
        return build_ledger(config, SimulatedPaymentProvider())

    def library_env(self, locator: str) -> dict[str, str]:
        # the same settings build_ledger gives the product's application
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": locator,
            "SQLITE_LOCK_TIMEOUT": "30",
        }

    def copy(self, source: str, label: str) -> str:
        target = self.fresh(label)
        for suffix in ("", "-wal", "-shm"):
            if Path(source + suffix).exists():
                shutil.copyfile(source + suffix, target + suffix)
        return target

    def describe(self) -> dict[str, str]:
        import sqlite3

        return {
            "backend": self.name,
            "sqlite_version": sqlite3.sqlite_version,
            "workdir": str(self.root),
            "filesystem": _filesystem(self.root),
        }

    def cleanup(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


def _filesystem(path: Path) -> str:
    """The mount's type (ext4, tmpfs...): fsync costs differ by orders of magnitude."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


class PostgresBackend:
    """One PostgreSQL schema per database, on the server of SUBLEDGER_BENCH_PG (default
    the machine's at 127.0.0.1:5432, database `test`); every schema is dropped after."""

    name = "postgres"

    def __init__(self, workdir: Path | None = None) -> None:
        import os
        import uuid

        from infra.persistence.database import parse_database_url

        self.server = parse_database_url(
            os.environ.get("SUBLEDGER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
        )
        self.run_id = uuid.uuid4().hex[:8]
        self.counter = 0
        self.made: list[str] = []

    def fresh(self, label: str) -> str:
        from infra.persistence.database import ensure_schema

        self.counter += 1
        db = self.server.with_schema(f"bench_{self.run_id}_{self.counter:03d}")
        ensure_schema(db)
        self.made.append(db.schema)
        return db.url()

    def ledger(self, locator: str) -> Ledger:
        config = LedgerConfig(
            database=Path("unused.db"),
            profile=PROFILE,
            currency=CURRENCY,
            catalog=CATALOG,
            database_url=locator,
            master_key=BENCH_MASTER_KEY,
        )
        return build_ledger(config, SimulatedPaymentProvider(), create=True)

    def library_env(self, locator: str) -> dict[str, str]:
        from infra.persistence.database import parse_database_url

        env = parse_database_url(locator).env(create=True)
        del env["APPLICATION_RECORDER_TOPIC"]  # the library's own recorder
        return env

    def copy(self, source: str, label: str) -> str:
        """pg_dump of the schema, renamed, restored: a copy with its sequences and data."""
        import subprocess

        from infra.persistence.database import parse_database_url

        old = parse_database_url(source).schema
        target = self.fresh(label)
        new = parse_database_url(target).schema
        server = self.server
        common = ["-h", server.host, "-p", str(server.port), "-U", server.user]
        dump = subprocess.run(  # noqa: S603 - pg_dump of our own bench schema
            [  # noqa: S607 - the server tools on PATH
                "pg_dump",
                *common,
                "-n",
                old,
                "--no-owner",
                server.dbname,
            ],
            check=True,
            capture_output=True,
        ).stdout
        dump = dump.replace(old.encode(), new.encode())
        subprocess.run(  # noqa: S603 - psql into our own bench schema
            [  # noqa: S607 - the server tools on PATH
                "psql",
                *common,
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                server.dbname,
            ],
            input=b"DROP SCHEMA " + new.encode() + b" CASCADE;\n" + dump,
            check=True,
            capture_output=True,
        )
        return target

    def describe(self) -> dict[str, str]:
        import psycopg

        with psycopg.connect(**self.server.conninfo()) as conn:  # type: ignore[arg-type]
            row = conn.execute("SHOW server_version").fetchone()
            fsync = conn.execute("SHOW synchronous_commit").fetchone()
        return {
            "backend": self.name,
            "server": self.server.describe(),
            "postgres_version": str(row[0] if row else "?"),
            "synchronous_commit": str(fsync[0] if fsync else "?"),
        }

    def cleanup(self) -> None:
        from infra.persistence.database import drop_schema

        for schema in self.made:
            drop_schema(self.server.with_schema(schema))


BACKENDS = {"sqlite": SQLiteBackend, "postgres": PostgresBackend}
