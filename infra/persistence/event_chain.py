"""A hash chain over the stored events: tamper evidence for auditors (issue 7).

Each stored event gets `hash(n) = SHA-256(hash(n-1) || the event as stored)`, written in
the same transaction as the event (the recorders call `chain_rows`), so the chain can
never lag behind the log or skip an event. The event "as stored" is its aggregate id,
version, topic and state bytes, length-prefixed: the ciphertext of personal data is
covered, so crypto-shredding (which deletes keys, not events) never breaks the chain.
`verify` recomputes it from the log and names the first position where the log and the
chain disagree: a changed byte, a deleted event, two events swapped.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from projections.sql import SqlDialect

GENESIS = bytes(32)
CHAIN_TABLE = (
    "CREATE TABLE IF NOT EXISTS {t:event_chain} (position BIGINT PRIMARY KEY, hash {blob} NOT NULL)"
)


def _field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def event_digest(
    previous: bytes, originator_id: UUID | str, version: int, topic: str, state: bytes
) -> bytes:
    oid = originator_id if isinstance(originator_id, str) else str(originator_id)
    return hashlib.sha256(
        previous
        + _field(str(UUID(oid)).encode())
        + struct.pack(">q", version)
        + _field(topic.encode())
        + _field(bytes(state))
    ).digest()


def chain_rows(
    previous: bytes, positions: Sequence[int], stored_events: Sequence[Any]
) -> list[tuple[int, bytes]]:
    """The chain rows of a transaction's events, continuing from `previous`."""
    rows = []
    for position, event in zip(positions, stored_events, strict=True):
        previous = event_digest(
            previous, event.originator_id, event.originator_version, event.topic, event.state
        )
        rows.append((position, previous))
    return rows


@dataclass(frozen=True)
class Break:
    position: int
    problem: str


def extend_chain(
    c: Any, sql: SqlDialect, positions: Sequence[int], stored_events: Sequence[Any]
) -> None:
    """Chain a transaction's events onto the last hash, inside that transaction: the
    recorders call it while they hold the events' write lock, so chains grow one
    transaction at a time on either database."""
    c.execute(sql("SELECT hash FROM {t:event_chain} ORDER BY position DESC LIMIT 1"))
    row = c.fetchone()
    previous = GENESIS if row is None else bytes(row["hash"])
    c.executemany(
        sql("INSERT INTO {t:event_chain} VALUES (?, ?)"),
        chain_rows(previous, list(positions), stored_events),
    )


def verify(notifications: Iterable[Any], chain: Iterator[tuple[int, bytes]]) -> Break | None:
    """Walk the log and the chain together; the first disagreement, or None."""
    previous = GENESIS
    for notification in notifications:
        expected = next(chain, None)
        if expected is None:
            return Break(notification.id, "an event with no chain entry (inserted?)")
        position, stored = expected
        if position < notification.id:
            return Break(position, "the chain has an entry whose event is missing (deleted?)")
        if position > notification.id:
            return Break(notification.id, "an event with no chain entry (inserted?)")
        previous = event_digest(
            previous,
            notification.originator_id,
            notification.originator_version,
            notification.topic,
            notification.state,
        )
        if previous != bytes(stored):
            return Break(
                position, "the event's bytes do not match the chain (changed, or events swapped)"
            )
    left = next(chain, None)
    if left is not None:
        return Break(left[0], "the chain has an entry whose event is missing (deleted?)")
    return None


CHECKPOINT_TABLE = (
    "CREATE TABLE IF NOT EXISTS {t:chain_checkpoints} ("
    "position BIGINT PRIMARY KEY, hash {blob} NOT NULL, "
    "signature {blob} NOT NULL)"
)


def checkpoint_message(position: int, chain_hash: bytes) -> bytes:
    return b"subledger checkpoint\x00" + struct.pack(">q", position) + chain_hash


class Checkpointer:
    """Every `every` events, the chain hash at that position signed with the ledger's
    Ed25519 key (from configuration). Whoever can rewrite the database can recompute
    the chain, but not sign: `verify` checks each checkpoint against the chain and the
    public key, so a rewritten history fails at the first checkpoint it crosses."""

    def __init__(self, store: Any, signing_key: Any, every: int) -> None:
        self.store = store
        self.key = signing_key  # cryptography's Ed25519PrivateKey
        self.every = every

    def run(self) -> int:
        """Sign the checkpoints the chain has passed; returns how many were made."""
        sql = self.store.dialect
        made = 0
        with self.store.transaction(commit=True) as c:
            c.execute(sql("SELECT MAX(position) AS p FROM {t:chain_checkpoints}"))
            row = c.fetchone()
            last = int(row["p"] or 0)
            c.execute(
                sql(
                    "SELECT position, hash FROM {t:event_chain} WHERE position > ? "
                    "ORDER BY position"
                ),
                (last,),
            )
            due = [(int(r["position"]), bytes(r["hash"])) for r in c.fetchall()]
            mark = last
            for position, chain_hash in due:
                if position - mark >= self.every:
                    c.execute(
                        sql(
                            "INSERT INTO {t:chain_checkpoints} VALUES (?, ?, ?) "
                            "ON CONFLICT (position) DO NOTHING"
                        ),
                        (
                            position,
                            chain_hash,
                            self.key.sign(checkpoint_message(position, chain_hash)),
                        ),
                    )
                    mark = position
                    made += 1
        return made


def verify_checkpoints(
    checkpoints: Iterable[tuple[int, bytes, bytes]],
    chain_hash_at: Any,
    public_key: Any,
    balanced_at: Any,
) -> Break | None:
    """Each checkpoint: signed by the ledger's key, equal to the chain at its position,
    and the journal balanced there."""
    from cryptography.exceptions import InvalidSignature

    for position, chain_hash, signature in checkpoints:
        try:
            public_key.verify(signature, checkpoint_message(position, chain_hash))
        except InvalidSignature:
            return Break(position, "the checkpoint's signature is not the ledger's")
        if chain_hash_at(position) != chain_hash:
            return Break(
                position,
                "the chain differs from the signed checkpoint (history rewritten and re-chained?)",
            )
        if not balanced_at(position):
            return Break(position, "the journal does not balance at this checkpoint")
    return None
