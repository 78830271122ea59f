"""Where the benchmarks store their events: one class per database, SQLite first.

Every workload asks a `Backend` for a fresh database, a ledger on it (through the real
composition root, `build_ledger`) and the environment of a bare eventsourcing
`Application` on the same database settings (the baseline). Adding PostgreSQL later is
one more class here plus its name in `BACKENDS`; the workloads do not change.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from consumers.payment_provider import SimulatedPaymentProvider
from domain.profiles import BUILT_IN_PROFILES
from infra.config import LedgerConfig
from infra.ledger import Ledger, build_ledger

PROFILE = BUILT_IN_PROFILES["monthly-autorenew"]
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
        config = LedgerConfig(database=Path(locator), profile=PROFILE, currency=CURRENCY,
                              catalog=CATALOG)
        return build_ledger(config, SimulatedPaymentProvider())

    def library_env(self, locator: str) -> dict[str, str]:
        # the same settings build_ledger gives the product's application
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": locator,
                "SQLITE_LOCK_TIMEOUT": "30"}

    def copy(self, source: str, label: str) -> str:
        target = self.fresh(label)
        for suffix in ("", "-wal", "-shm"):
            if Path(source + suffix).exists():
                shutil.copyfile(source + suffix, target + suffix)
        return target

    def describe(self) -> dict[str, str]:
        import sqlite3

        return {"backend": self.name, "sqlite_version": sqlite3.sqlite_version,
                "workdir": str(self.root), "filesystem": _filesystem(self.root)}

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


BACKENDS = {"sqlite": SQLiteBackend}
