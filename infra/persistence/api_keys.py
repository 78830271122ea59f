"""API keys: who may call the HTTP API, and for what (scopes `read`, `write`, `privacy`,
`operator`).

A key is shown once, when it is made (`subledger apikey create`), and stored only as the
SHA-256 of its secret beside a public id: the database alone lets nobody in. The secret
is 32 random bytes, so a plain hash is enough (nothing to brute-force, unlike a password);
the comparison runs in constant time. The id in the key (`slk_<id>_<secret>`) finds the row
and is what logs show; the secret is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.calendar import format_instant
from infra.interface.vocabulary import Scope  # each command declares the scope it needs
from projections.sql import SqlDialect

__all__ = ["ApiKey", "ApiKeyStore", "Scope", "UnknownKeyError", "parse_scopes"]
PREFIX = "slk"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    label: str
    scopes: frozenset[Scope]
    created_at: str
    revoked_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.key_id,
            "label": self.label,
            "scopes": sorted(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


class UnknownKeyError(LookupError):
    """No such key id (apikey revoke)."""


def parse_scopes(names: list[str]) -> frozenset[Scope]:
    wanted = set()
    for part in (p.strip() for name in names for p in name.split(",")):
        if part:
            try:
                wanted.add(Scope(part))
            except ValueError:
                raise ValueError(
                    f"unknown scope {part!r}; scopes: {', '.join(s.value for s in Scope)}"
                ) from None
    if not wanted:
        raise ValueError(f"a key needs at least one scope: {', '.join(s.value for s in Scope)}")
    return frozenset(wanted)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class ApiKeyStore:
    def __init__(self, datastore: Any, sql: SqlDialect) -> None:
        self.datastore = datastore
        self.sql = sql

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "CREATE TABLE IF NOT EXISTS {t:api_keys} ("
                    "key_id TEXT PRIMARY KEY, secret_hash {blob} NOT NULL, "
                    "label TEXT NOT NULL, scopes TEXT NOT NULL, "
                    "created_at TEXT NOT NULL, revoked_at TEXT)"
                )
            )

    def create(self, scopes: frozenset[Scope], label: str, now: datetime) -> tuple[str, ApiKey]:
        """A new key: the full key (shown once) and what is kept of it."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        created = format_instant(now)
        assert created is not None
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql("INSERT INTO {t:api_keys} VALUES (?, ?, ?, ?, ?, NULL)"),
                (key_id, _digest(secret), label, ",".join(sorted(scopes)), created),
            )
        return f"{PREFIX}_{key_id}_{secret}", ApiKey(key_id, label, scopes, created)

    def authenticate(self, presented: str) -> ApiKey | None:
        """The live key a presented token belongs to, or None (unknown, wrong, revoked)."""
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != PREFIX or not key_id or not secret:
            return None
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql("SELECT * FROM {t:api_keys} WHERE key_id=?"), (key_id,))
            row = c.fetchone()
        if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), _digest(secret)):
            return None
        key = _key(row)
        return None if key.revoked_at is not None else key

    def list(self) -> list[ApiKey]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql("SELECT * FROM {t:api_keys} ORDER BY created_at, key_id"))
            return [_key(row) for row in c.fetchall()]

    def revoke(self, key_id: str, now: datetime) -> ApiKey:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "UPDATE {t:api_keys} SET revoked_at=? WHERE key_id=? AND revoked_at IS NULL"
                ),
                (format_instant(now), key_id),
            )
            c.execute(self.sql("SELECT * FROM {t:api_keys} WHERE key_id=?"), (key_id,))
            row = c.fetchone()
        if row is None:
            raise UnknownKeyError(key_id)
        return _key(row)


def _key(row: Any) -> ApiKey:
    return ApiKey(
        row["key_id"],
        row["label"],
        frozenset(Scope(s) for s in row["scopes"].split(",")),
        row["created_at"],
        row["revoked_at"],
    )
