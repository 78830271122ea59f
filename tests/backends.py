"""The two event stores every storage test runs on: a SQLite file and a PostgreSQL schema.

PostgreSQL is the server at SUBLEDGER_TEST_PG (default 127.0.0.1:5432, database `test`);
each ledger gets a schema of its own, dropped after the test, so tests never see each
other's data. Without a server the PostgreSQL half is skipped, except on CI (CI=true),
where it must run.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import pytest

from infra.config import LedgerConfig
from infra.persistence.database import Database, drop_schema, parse_database_url

PG_URL = os.environ.get("SUBLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


@cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used here, or None."""
    import psycopg

    try:
        with psycopg.connect(**parse_database_url(PG_URL).conninfo()) as conn:  # type: ignore[arg-type]
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return f"PostgreSQL at {PG_URL} is not reachable: {e}"
    return None


def require_postgres() -> None:
    problem = postgres_problem()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(problem + " (CI=true: the PostgreSQL half must run)")
    pytest.skip(problem)


@dataclass
class Backend:
    """Hands out new, empty databases of one kind, and cleans them up."""

    kind: str
    tmp_path: Path
    schemas: list[Database] = field(default_factory=list)

    def database(self, name: str = "l") -> Database:
        if self.kind == "sqlite":
            return Database(kind="sqlite", path=self.tmp_path / f"{name}.db")
        schema = f"t_{name.replace('.', '_').replace('-', '_')[:20]}_{uuid.uuid4().hex[:12]}"
        db = parse_database_url(PG_URL).with_schema(schema.lower())
        self.schemas.append(db)
        return db

    def url(self, name: str = "l") -> str:
        return self.database(name).url()

    def config(self, config: LedgerConfig, name: str = "l") -> LedgerConfig:
        db = self.database(name)
        if db.is_sqlite:
            assert db.path is not None
            return replace(config, database=db.path, database_url=None)
        return replace(config, database_url=db.url())

    def cleanup(self) -> None:
        for db in self.schemas:
            drop_schema(db)
