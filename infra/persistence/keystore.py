"""Per-account data keys outside the event table, and the sealing of personal fields.

GDPR-5: personal fields are stored in events only as AES-GCM ciphertext under a key per
account; erasure deletes the key row and touches no event. The data keys are stored
wrapped (AES-GCM) by the master key of the configuration, never in clear: a copy of the
database alone opens nothing. A check value written with the first key tells a wrong or
missing master key apart from a damaged one, so the ledger refuses to start instead of
reading garbage. ACCOUNT-5's email cooldown keeps only a keyed hash of the address (the
hash key derived from the master key), dropped once the cooldown is over.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from consumers.ports import PersonalDataErasedError, invoice_key_id
from domain.calendar import parse_instant, sortable_instant
from domain.email_cooldown import normalise_email
from projections.sql import SqlDialect

KEY_BYTES = 32
NONCE_BYTES = 12


CHECK = b"subledger master key check"


class MasterKeyError(Exception):
    """No master key, or not the one this ledger's data keys were wrapped with."""


def parse_master_key(text: str, where: str, what: str = "master key") -> bytes:
    """32 bytes, base64 (as `subledger init` writes them); also the audit signing seed."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise MasterKeyError(f"{where}: the {what} is not base64") from None
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{where}: the {what} must be {KEY_BYTES} bytes, not {len(key)}")
    return key


def new_master_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=KEY_BYTES * 8)).decode()


def write_master_key_file(path: Path) -> bool:
    """A new master key file, readable by its owner only; an existing one is never
    replaced (the data keys it wraps would be lost with it). True if it was made."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(new_master_key() + "\n")
    return True


__all__ = [
    "KeyStore",
    "MasterKeyError",
    "PersonalDataErasedError",
    "invoice_key_id",
    "new_master_key",
    "parse_master_key",
    "write_master_key_file",
]


class KeyStore:
    """The `consumers.ports.SubjectKeys` port on the ledger's database."""

    def __init__(self, datastore: Any, sql: SqlDialect, master_key: bytes) -> None:
        self.datastore = datastore
        self.sql = sql
        self._master = AESGCM(master_key)
        self._master_key = master_key
        self._cooldown_secret = self.derived_key(b"subledger email cooldown")

    def derived_key(self, purpose: bytes) -> bytes:
        """A key of its own for each use of a keyed hash (HKDF of the master key), so no
        secret of ours is stored in the database."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            self._master_key
        )

    # ---- wrapping under the master key
    def wrap(self, account_id: str, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, b"data key " + account_id.encode())

    def _unwrap(self, account_id: str, blob: bytes) -> bytes:
        try:
            return self._master.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], b"data key " + account_id.encode()
            )
        except InvalidTag:
            raise MasterKeyError(
                f"the data key of {account_id} does not open with the configured master key"
            ) from None

    def check_master_key(self) -> None:
        """First open: write the check value; later: the master key must open it. Only the
        first open writes: `status`, `verify`, `db check` stay reads."""
        select = self.sql("SELECT secret FROM {t:ledger_secrets} WHERE name='master_key_check'")
        with self.datastore.transaction(commit=False) as c:
            c.execute(select)
            row = c.fetchone()
        if row is None:
            with self.datastore.transaction(commit=True) as c:
                nonce = os.urandom(NONCE_BYTES)
                c.execute(
                    self.sql(
                        "INSERT INTO {t:ledger_secrets} VALUES "
                        "('master_key_check', ?) ON CONFLICT (name) DO NOTHING"
                    ),
                    (nonce + self._master.encrypt(nonce, CHECK, b"check"),),
                )
                c.execute(select)  # another process's first open may have won
                row = c.fetchone()
        blob = bytes(row["secret"])
        try:
            self._master.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], b"check")
        except InvalidTag:
            raise MasterKeyError(
                "the configured master key is not the one this ledger's "
                "data keys were wrapped with: personal data cannot be "
                "opened (restore the right key file or "
                "SUBLEDGER_MASTER_KEY)"
            ) from None

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            if self.sql.is_sqlite:
                c.execute("PRAGMA secure_delete=ON")
            c.execute(
                self.sql(
                    "CREATE TABLE IF NOT EXISTS {t:email_cooldowns} ("
                    "email_hash TEXT PRIMARY KEY, until TEXT NOT NULL)"
                )
            )
            c.execute(
                self.sql(
                    "CREATE TABLE IF NOT EXISTS {t:ledger_secrets} ("
                    "name TEXT PRIMARY KEY, secret {blob} NOT NULL)"
                )
            )

    # ---- keys
    @staticmethod
    def new_key() -> bytes:
        """A fresh data key; the recorder stores it with the registration's events."""
        return AESGCM.generate_key(bit_length=KEY_BYTES * 8)

    def key(self, account_id: str) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql("SELECT data_key FROM {t:subject_keys} WHERE account_id=?"), (account_id,)
            )
            row = c.fetchone()
        return None if row is None else self._unwrap(account_id, bytes(row["data_key"]))

    def destroy_key(self, account_id: str) -> None:
        """Delete the key. On SQLite no copy is left on disk: secure_delete zeroes the freed
        cells, and a truncating checkpoint drops the write-ahead log's older page images.
        (PostgreSQL keeps a dead row until VACUUM: the GDPR issue wraps keys instead.)"""
        with self.datastore.transaction(commit=True) as c:
            if self.sql.is_sqlite:
                c.execute("PRAGMA secure_delete=ON")
            c.execute(self.sql("DELETE FROM {t:subject_keys} WHERE account_id=?"), (account_id,))
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

    # ---- email cooldown (ACCOUNT-5; the rule itself is domain/email_cooldown.py)
    def email_hash(self, email: str) -> str:
        """The keyed hash of the normalised address (trimmed, lower-cased): all that is
        kept of an erased customer's email, and only for the cooldown."""
        return hmac.new(
            self._cooldown_secret, normalise_email(email).encode(), hashlib.sha256
        ).hexdigest()

    def start_cooldown(self, email: str, until: datetime) -> None:
        digest = self.email_hash(email)
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "INSERT INTO {t:email_cooldowns} VALUES (?, ?) ON CONFLICT "
                    "(email_hash) DO UPDATE SET until=excluded.until"
                ),
                (digest, sortable_instant(until)),
            )

    def cooldown_end(self, email: str, now: datetime) -> datetime | None:
        """When the cooldown held for the email ends, or None; whether that restricts a
        registration is the domain's to decide (`domain/email_cooldown.py`). Ended
        cooldowns are dropped first, so no hash outlives its window."""
        self.drop_ended_cooldowns(now)
        digest = self.email_hash(email)
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql("SELECT until FROM {t:email_cooldowns} WHERE email_hash=?"), (digest,)
            )
            row = c.fetchone()
        return None if row is None else parse_instant(str(row["until"]))

    def drop_ended_cooldowns(self, at: datetime) -> int:
        """ACCOUNT-5 (1.1): the hash is kept for the cooldown and dropped after it; the
        scheduler's ticks call this, so nothing outlives its window for long. A read
        first: most ticks find nothing to drop and write nothing."""
        mark = (sortable_instant(at),)
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql("SELECT COUNT(*) AS n FROM {t:email_cooldowns} WHERE until <= ?"), mark
            )
            ended = int(c.fetchone()["n"])
        if ended:
            with self.datastore.transaction(commit=True) as c:
                c.execute(self.sql("DELETE FROM {t:email_cooldowns} WHERE until <= ?"), mark)
        return ended

    def cooldown_hashes(self) -> list[str]:
        """The hashes held now (for audits and tests: no address is ever stored)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql("SELECT email_hash FROM {t:email_cooldowns} ORDER BY email_hash"))
            return [str(r["email_hash"]) for r in c.fetchall()]
