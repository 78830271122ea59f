"""Per-account data keys outside the event table, and the sealing of personal fields.

GDPR-5: personal fields are stored in events only as AES-GCM ciphertext under a key per
account; erasure deletes the key row and touches no event. ACCOUNT-5's email cooldown
keeps only a keyed hash of the address here, dropped once the cooldown is over.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.calendar import sortable_instant
from projections.sql import SqlDialect

KEY_BYTES = 32
NONCE_BYTES = 12


class PersonalDataErasedError(Exception):
    """The key is gone: the fields can never be read again (by design)."""


class KeyStore:
    def __init__(self, datastore: Any, sql: SqlDialect) -> None:
        self.datastore = datastore
        self.sql = sql

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            if self.sql.is_sqlite:
                c.execute("PRAGMA secure_delete=ON")
            c.execute(self.sql("CREATE TABLE IF NOT EXISTS {t:email_cooldowns} ("
                               "email_hash TEXT PRIMARY KEY, until TEXT NOT NULL)"))
            c.execute(self.sql("CREATE TABLE IF NOT EXISTS {t:ledger_secrets} ("
                               "name TEXT PRIMARY KEY, secret {blob} NOT NULL)"))

    # ---- keys
    @staticmethod
    def new_key() -> bytes:
        """A fresh data key; the recorder stores it with the registration's events."""
        return AESGCM.generate_key(bit_length=KEY_BYTES * 8)

    def key(self, account_id: str) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql("SELECT data_key FROM {t:subject_keys} WHERE account_id=?"),
                      (account_id,))
            row = c.fetchone()
        return None if row is None else bytes(row["data_key"])

    def destroy_key(self, account_id: str) -> None:
        """Delete the key. On SQLite no copy is left on disk: secure_delete zeroes the freed
        cells, and a truncating checkpoint drops the write-ahead log's older page images.
        (PostgreSQL keeps a dead row until VACUUM: the GDPR issue wraps keys instead.)"""
        with self.datastore.transaction(commit=True) as c:
            if self.sql.is_sqlite:
                c.execute("PRAGMA secure_delete=ON")
            c.execute(self.sql("DELETE FROM {t:subject_keys} WHERE account_id=?"),
                      (account_id,))
        if self.sql.is_sqlite:
            with self.datastore.get_connection(commit=True) as conn:
                conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ---- sealing
    @staticmethod
    def seal(key: bytes, account_id: str, fields: dict[str, Any]) -> str:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, orjson.dumps(fields), account_id.encode())
        return base64.b64encode(nonce + ciphertext).decode()

    def open(self, account_id: str, sealed: str) -> dict[str, Any]:
        key = self.key(account_id)
        if key is None:
            raise PersonalDataErasedError(account_id)
        raw = base64.b64decode(sealed)
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], account_id.encode())
        result: dict[str, Any] = orjson.loads(plain)
        return result

    # ---- email cooldown (ACCOUNT-5)
    def _secret(self, name: str) -> bytes:
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.sql("INSERT INTO {t:ledger_secrets} VALUES (?, ?) "
                               "ON CONFLICT (name) DO NOTHING"), (name, os.urandom(32)))
            c.execute(self.sql("SELECT secret FROM {t:ledger_secrets} WHERE name=?"), (name,))
            row = c.fetchone()
            return bytes(row["secret"])

    def email_hash(self, email: str) -> str:
        secret = self._secret("email_cooldown")
        return hmac.new(secret, email.strip().lower().encode(), hashlib.sha256).hexdigest()

    def start_cooldown(self, email: str, until: datetime) -> None:
        digest = self.email_hash(email)
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.sql("INSERT INTO {t:email_cooldowns} VALUES (?, ?) ON CONFLICT "
                               "(email_hash) DO UPDATE SET until=excluded.until"),
                      (digest, sortable_instant(until)))

    def cooldown_until(self, email: str, at: datetime) -> str | None:
        digest = self.email_hash(email)
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.sql("DELETE FROM {t:email_cooldowns} WHERE until <= ?"),
                      (sortable_instant(at),))
            c.execute(self.sql("SELECT until FROM {t:email_cooldowns} WHERE email_hash=?"),
                      (digest,))
            row = c.fetchone()
        return None if row is None else str(row["until"])
