"""One text for each query, adapted to the database it runs on.

The read models, the key store and the recorders' extra tables are written once, in
SQL that SQLite and PostgreSQL both accept, with `?` marks and `{t}` table names.
The composition root picks the dialect; nothing here knows a driver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TABLE = re.compile(r"\{t:([a-z_]+)\}")


@dataclass(frozen=True)
class SqlDialect:
    """`{t:name}` becomes a table name (schema-qualified on PostgreSQL), `{blob}` the
    binary column type, and `?` the driver's parameter mark."""

    name: str  # "sqlite" | "postgresql"
    schema: str = ""
    tracking_table: str = "tracking"
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"

    def table(self, name: str) -> str:
        if name == "tracking":
            name = self.tracking_table
        if self.is_sqlite or not self.schema:
            return name
        return f'"{self.schema}"."{name}"'

    def __call__(self, text: str) -> str:
        cached = self._cache.get(text)
        if cached is None:
            cached = _TABLE.sub(lambda m: self.table(m.group(1)), text)
            cached = cached.replace("{blob}", "BLOB" if self.is_sqlite else "BYTEA")
            if not self.is_sqlite:
                cached = cached.replace("?", "%s")
            self._cache[text] = cached
        return cached


SQLITE = SqlDialect("sqlite")


SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")  # quoted as is, so kept to safe names


def postgres(schema: str, tracking_table: str) -> SqlDialect:
    if not SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"schema name {schema!r}: lower-case letters, digits and _ only")
    return SqlDialect("postgresql", schema, tracking_table)
