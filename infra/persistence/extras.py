"""The rows a save writes beside its events, in the same transaction.

As in eventsourcing's searchabletimestamps example, the event recorders are extended so
that neither index can lag behind or outlive the events that make it:

- `deadlines`: each saved account's next deadline, computed by the domain from the
  aggregate being saved; the scheduler reads it, and it is never stale.
- `subject_keys`: the data key sealing a new account's personal fields (GDPR-5); a
  registration that fails to save leaves no orphan key.
- `price_schedule_version`: not a row but a check: the version of the price schedule the
  saving process priced with (it keeps its price book in memory) must still be the
  stored one, or the save fails as a conflict and the command is retried with the book
  read again; made under the events' write lock, so no announcement slips in between.
- `idempotency_keys.committed`: the HTTP request(s) (API key, Idempotency-Key) whose
  command(s) this save records (several when commands are grouped in one transaction,
  `infra/application/group_commit.py`), so that a retry after a crash between the
  command's commit and its answer's knows the command took effect and does not run it
  again. The request mark travels as an argument of the save
  (`LedgerApplication.save(request_mark=...)`), which the library hands to the recorder
  with the others, as the searchabletimestamps example passes its extra rows; the table
  is the one of `idempotency.py`, beside this. A `RequestClaim` (what the HTTP API
  passes) claims the key in this transaction itself, instead of marking a claim committed
  earlier: no durable commit of its own. If another request holds the key by then,
  `IdempotencyKeyTaken` rolls the whole save back (a group's too: its commands then run
  alone).

Rows are written in account-id order, so two transactions never wait on each other's
rows in opposite orders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import RecordConflictError

from domain.calendar import sortable_instant
from domain.pricing import PRICE_SCHEDULE_ID
from projections.sql import SqlDialect

EXTRA_TABLES = [
    "CREATE TABLE IF NOT EXISTS {t:deadlines} (account_id TEXT PRIMARY KEY, due_at TEXT)",
    "CREATE INDEX IF NOT EXISTS deadlines_due ON {t:deadlines} (due_at, account_id)",
    "CREATE TABLE IF NOT EXISTS {t:subject_keys} ("
    "account_id TEXT PRIMARY KEY, data_key {blob} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {t:subledger_meta} (name TEXT PRIMARY KEY, value TEXT)",
]


STALE_SECONDS = 60  # a claim without an answer or a commit: its request died
RETAIN_SECONDS = 24 * 3600  # how long an Idempotency-Key is kept (as Stripe)


@dataclass
class RequestClaim:
    """An HTTP request's Idempotency-Key, claimed by its command's own transaction: the
    row is written there, already `committed`. A key free, expired, or held by a claim
    that died before its commit is taken; one held by any other request is not.
    `written`: a save wrote the row (a save that then failed undid it, and raised)."""

    api_key: str
    idem_key: str
    fingerprint: bytes
    claimed_at: int
    written: bool = False


class IdempotencyKeyTaken(Exception):
    """Another request with this Idempotency-Key committed first: the save is undone."""


# The HTTP request whose command a save records, passed by `Ledger.execute` to that
# command's save only (not to the scheduled work before it): (API key id,
# Idempotency-Key) of a claim made before, or a claim made by this save.
RequestMark = tuple[str, str] | RequestClaim

CLAIM_IN_TRANSACTION = (
    "INSERT INTO {t:idempotency_keys} AS k VALUES (?, ?, ?, ?, NULL, NULL, 1) "
    "ON CONFLICT (api_key, idem_key) DO UPDATE SET fingerprint=excluded.fingerprint, "
    "claimed_at=excluded.claimed_at, status=NULL, response=NULL, committed=1 "
    "WHERE k.claimed_at < ? OR (k.status IS NULL AND k.committed=0 AND k.claimed_at < ?) "
    "RETURNING api_key"
)


def _mark_order(mark: RequestMark) -> tuple[str, str]:
    """Keys in one order in every transaction, so that two never wait on each other."""
    return (mark.api_key, mark.idem_key) if isinstance(mark, RequestClaim) else mark


class PriceScheduleChangedError(RecordConflictError):
    """Another process announced a price change since this one read its price book."""


def check_price_schedule(c: Any, sql: SqlDialect, events: str, kwargs: Mapping[str, Any]) -> None:
    """Under the events' write lock: the schedule is still at the version priced with.

    The statement itself fails when it is not (a division by zero, on both backends'
    SQL), so the transaction is aborted in the database whatever the recorder does with
    the exception: eventsourcing's PostgreSQL recorder holds an error raised after its
    insert and commits before re-raising it, which only a failed statement turns into a
    rollback."""
    priced_with: int | None = kwargs.get("price_schedule_version")
    if priced_with is None:
        return
    try:
        c.execute(
            sql(
                "SELECT 1 / (CASE WHEN COALESCE(MAX(originator_version), 0) = ? THEN 1 ELSE 0 END)"  # noqa: S608 - the recorder's table
                f" AS ok FROM {{t:{events}}} WHERE originator_id=?"
            ),
            (priced_with, PRICE_SCHEDULE_ID.hex if sql.is_sqlite else PRICE_SCHEDULE_ID),
        )
        row = c.fetchone()
    except Exception as e:  # PostgreSQL: division by zero, the transaction aborted
        raise PriceScheduleChangedError(
            f"the price schedule moved from version {priced_with}"
        ) from e
    if row is None or row["ok"] is None:  # SQLite divides by zero into NULL
        raise PriceScheduleChangedError(f"the price schedule moved from version {priced_with}")


def write_extras(c: Any, sql: SqlDialect, kwargs: Mapping[str, Any]) -> None:
    deadlines: Sequence[tuple[str, datetime | None]] = kwargs.get("deadlines", ())
    for account_id, due in sorted(deadlines, key=lambda d: d[0]):
        if due is None:
            c.execute(sql("DELETE FROM {t:deadlines} WHERE account_id=?"), (account_id,))
        else:
            c.execute(
                sql(
                    "INSERT INTO {t:deadlines} VALUES (?, ?) ON CONFLICT (account_id) "
                    "DO UPDATE SET due_at=excluded.due_at"
                ),
                (account_id, sortable_instant(due)),
            )
    for account_id, key in sorted(kwargs.get("new_keys", ())):
        c.execute(sql("INSERT INTO {t:subject_keys} VALUES (?, ?)"), (account_id, key))
    marks: list[RequestMark] = list(kwargs.get("request_marks", ()))
    mark: RequestMark | None = kwargs.get("request_mark")
    if mark is not None:
        marks.append(mark)
    for mark in sorted(marks, key=_mark_order):
        if isinstance(mark, RequestClaim):
            c.execute(
                sql(CLAIM_IN_TRANSACTION),
                (
                    mark.api_key,
                    mark.idem_key,
                    mark.fingerprint,
                    mark.claimed_at,
                    mark.claimed_at - RETAIN_SECONDS,
                    mark.claimed_at - STALE_SECONDS,
                ),
            )
            if c.fetchone() is None:
                raise IdempotencyKeyTaken(mark.idem_key)
            mark.written = True
            continue
        c.execute(
            sql("UPDATE {t:idempotency_keys} SET committed=1 WHERE api_key=? AND idem_key=?"), mark
        )
