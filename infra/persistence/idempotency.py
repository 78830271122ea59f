"""`Idempotency-Key`: a retried POST gets the first answer instead of a second effect.

The first request with a key claims it (a row keyed by the API key's id and the
Idempotency-Key, with a fingerprint of method, path and body), runs, and stores its
response; a repeat with the same fingerprint gets that response back, byte for byte; a
repeat with another body is refused (422), and one that arrives while the first still
runs is told to retry (409). A claim whose request died (a crashed process) is taken
over after `STALE_SECONDS`. Keys are kept for `RETAIN_SECONDS` (24 hours, as Stripe).

The command's events and the mark that they answer this key are one transaction
(`committed`, written by the recorder: infra/persistence/extras.py). A process killed after
that commit but before the answer is stored leaves a committed claim: the retry gets a
receipt rebuilt from the ledger (`recorded: true` and the state now) and the command is
not run again. A claim that died before the commit is run again after `STALE_SECONDS`.

The HTTP API takes the short road (issue 16): it only looks (`peek`, a read), and the
command's own transaction claims the key (`RequestClaim`, extras.py), so a request costs
one durable commit here, its answer's (`answer`), instead of three. Two requests with
one key racing past the look are kept apart by that transaction: the second one's save
fails on the row and is rolled back (`IdempotencyKeyTaken`), and it answers from the row.
A command that records nothing (refused, or nothing to do) writes its row with its answer.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from infra.persistence.extras import RETAIN_SECONDS, STALE_SECONDS, RequestClaim
from projections.sql import SqlDialect


class ClaimState(Enum):
    CLAIMED = "claimed"  # go on: this request runs
    MISMATCH = "mismatch"  # the key was used with another request
    IN_FLIGHT = "in_flight"  # the first request with this key still runs
    REPLAY = "replay"  # answered before: `stored` is the response
    COMMITTED = "committed"  # its command was recorded, its answer lost: answer, don't run


@dataclass(frozen=True)
class StoredResponse:
    status: int
    media_type: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    stored: StoredResponse | None = None
    claimed_at: int = 0


def fingerprint(secret: bytes, method: str, path: str, body: bytes) -> bytes:
    """The same JSON document in other whitespace or key order is the same request. Keyed
    (HMAC, a key derived from the master key): a body holds personal data, and a plain
    hash of it could be confirmed by guessing."""
    try:
        canonical = orjson.dumps(orjson.loads(body or b"{}"), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, TypeError):  # not JSON, or nested past orjson's limit
        canonical = body
    return hmac.new(
        secret, method.encode() + b" " + path.encode() + b"\n" + canonical, hashlib.sha256
    ).digest()


class IdempotencyStore:
    def __init__(self, datastore: Any, sql: SqlDialect) -> None:
        self.datastore = datastore
        self.sql = sql

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "CREATE TABLE IF NOT EXISTS {t:idempotency_keys} ("
                    "api_key TEXT NOT NULL, idem_key TEXT NOT NULL, "
                    "fingerprint {blob} NOT NULL, claimed_at BIGINT NOT NULL, "
                    "status INTEGER, response {blob}, "
                    "committed INTEGER NOT NULL DEFAULT 0, "
                    "PRIMARY KEY (api_key, idem_key))"
                )
            )

    def prune(self, now: int) -> None:
        """Forget keys older than a day; also run by the server's ticker, so that an idle
        API does not keep them (their fingerprints hash request bodies)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql("DELETE FROM {t:idempotency_keys} WHERE claimed_at < ?"),
                (now - RETAIN_SECONDS,),
            )

    def claim(self, api_key: str, key: str, print_: bytes, now: int) -> Claim:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql("DELETE FROM {t:idempotency_keys} WHERE claimed_at < ?"),
                (now - RETAIN_SECONDS,),
            )
            c.execute(
                self.sql(
                    "INSERT INTO {t:idempotency_keys} VALUES (?, ?, ?, ?, NULL, "
                    "NULL, 0) ON CONFLICT (api_key, idem_key) DO NOTHING "
                    "RETURNING api_key"
                ),
                (api_key, key, print_, now),
            )
            if c.fetchone() is not None:
                return Claim(ClaimState.CLAIMED)
            c.execute(
                self.sql("SELECT * FROM {t:idempotency_keys} WHERE api_key=? AND idem_key=?"),
                (api_key, key),
            )
            found = _judge(c.fetchone(), print_, now)
            if found.state is ClaimState.CLAIMED:  # a dead claim, taken over
                c.execute(
                    self.sql(
                        "UPDATE {t:idempotency_keys} SET claimed_at=? WHERE "
                        "api_key=? AND idem_key=?"
                    ),
                    (now, api_key, key),
                )
            return found

    def peek(self, api_key: str, key: str, print_: bytes, now: int) -> Claim:
        """What `claim` would say, writing nothing: CLAIMED means the key is free (or
        expired, or its claim died), and the command's transaction will take it."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql("SELECT * FROM {t:idempotency_keys} WHERE api_key=? AND idem_key=?"),
                (api_key, key),
            )
            return _judge(c.fetchone(), print_, now)

    def answer(self, claim: RequestClaim, response: StoredResponse) -> bool:
        """Keep the answer of a request that ran under `claim`: on the row its command's
        transaction wrote (`claim.written`), else on a new row (its command saved nothing:
        refused, or nothing to do).
        False: another request holds the key (it raced this one), and its row answers."""
        blob = _blob(response)
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql("DELETE FROM {t:idempotency_keys} WHERE claimed_at < ?"),
                (claim.claimed_at - RETAIN_SECONDS,),
            )
            if claim.written:
                c.execute(
                    self.sql(
                        "UPDATE {t:idempotency_keys} SET status=?, response=? WHERE "
                        "api_key=? AND idem_key=? AND status IS NULL AND committed=1 "
                        "AND fingerprint=? AND claimed_at=? RETURNING api_key"
                    ),
                    (
                        response.status,
                        blob,
                        claim.api_key,
                        claim.idem_key,
                        claim.fingerprint,
                        claim.claimed_at,
                    ),
                )
                if c.fetchone() is not None:
                    return True
            # no save, or one without the claim: a row of its own, unless
            # another request's (a claim that died before its commit is taken over)
            c.execute(
                self.sql(
                    "INSERT INTO {t:idempotency_keys} AS k VALUES (?, ?, ?, ?, ?, ?, 0) "
                    "ON CONFLICT (api_key, idem_key) DO UPDATE SET "
                    "fingerprint=excluded.fingerprint, claimed_at=excluded.claimed_at, "
                    "status=excluded.status, response=excluded.response "
                    "WHERE k.status IS NULL AND k.committed=0 AND k.claimed_at < ? "
                    "RETURNING api_key"
                ),
                (
                    claim.api_key,
                    claim.idem_key,
                    claim.fingerprint,
                    claim.claimed_at,
                    response.status,
                    blob,
                    claim.claimed_at - STALE_SECONDS,
                ),
            )
            return c.fetchone() is not None

    def complete(self, api_key: str, key: str, response: StoredResponse) -> None:
        blob = _blob(response)
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "UPDATE {t:idempotency_keys} SET status=?, response=? "
                    "WHERE api_key=? AND idem_key=?"
                ),
                (response.status, blob, api_key, key),
            )

    def release(self, api_key: str, key: str) -> None:
        """The request failed on our side before its command was recorded: the key is
        free for a retry. A claim its command's transaction marked committed is never
        released: its retry gets the receipt, not a second run."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                self.sql(
                    "DELETE FROM {t:idempotency_keys} WHERE api_key=? AND "
                    "idem_key=? AND status IS NULL AND committed=0"
                ),
                (api_key, key),
            )


def _blob(response: StoredResponse) -> bytes:
    return orjson.dumps(
        {
            "media_type": response.media_type,
            "body": response.body.decode(),
            "headers": response.headers,
        }
    )


def _judge(row: Any, print_: bytes, now: int) -> Claim:
    """What a request with this fingerprint meets in the key's row (None: no row)."""
    if row is None or int(row["claimed_at"]) < now - RETAIN_SECONDS:
        return Claim(ClaimState.CLAIMED)  # free, or expired (pruned by the next write)
    if bytes(row["fingerprint"]) != print_:
        return Claim(ClaimState.MISMATCH)
    if row["status"] is None:
        claimed_at = int(row["claimed_at"])
        if claimed_at >= now - STALE_SECONDS:
            return Claim(ClaimState.IN_FLIGHT)
        if row["committed"]:
            return Claim(ClaimState.COMMITTED, claimed_at=claimed_at)
        return Claim(ClaimState.CLAIMED)  # its request died before its commit
    stored = orjson.loads(bytes(row["response"]))
    return Claim(
        ClaimState.REPLAY,
        StoredResponse(
            int(row["status"]), stored["media_type"], stored["body"].encode(), stored["headers"]
        ),
    )
