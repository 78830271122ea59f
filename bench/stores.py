"""Event stores of a given size, written fast: real `Account` aggregates, bulk-saved.

Running 200k-1M events through `Ledger.execute` would take longer than the benchmarks
themselves, so histories are produced by calling the domain in memory (register,
subscribe by card, each month's renewal and its approved collection) and saving many
aggregates per `app.save`, month by month so that accounts interleave in the log as they
do in production. Nothing is settled: projections and consumers start at position 0.
The events are the ones the ledger records; only the command handlers are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.account import Account
from domain.calendar import add_months
from infra.application.ledger import Ledger
from infra.persistence.keystore import KeyStore

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EVENTS_FIRST_MONTH = 5  # Registered, Subscribed, InvoiceIssued, CollectionRequested, Payment
EVENTS_PER_RENEWAL = 4  # Renewed, InvoiceIssued, CollectionRequested, PaymentReceived
SAVE_CHUNK = 250  # aggregates per transaction while generating
# personal fields are sealed as the application seals them; the key is not stored, since
# nothing in the benchmarks opens them (the ciphertext has the production size)
_KEY = AESGCM.generate_key(bit_length=256)


@dataclass(frozen=True)
class Generated:
    accounts: int
    months: int
    events: int
    refs: list[str]


def events_per_account(months: int) -> int:
    return EVENTS_FIRST_MONTH + EVENTS_PER_RENEWAL * (months - 1)


def accounts_for(events: int, months: int = 12) -> int:
    return math.ceil(events / events_per_account(months))


def _register(ledger: Ledger, ref: str, at: datetime) -> Account:
    app = ledger.app
    aid = str(Account.create_id(ref))
    personal = KeyStore.seal(
        _KEY,
        aid,
        {
            "name": f"Customer {ref}",
            "email": f"{ref}@example.org",
            "phone": None,
            "address": None,
            "birth_date": None,
        },
    )
    account = Account.register(
        ref=ref,
        profile=app.profile,
        currency=app.currency,
        at=at,
        personal=personal,
        birth_date=None,
    )
    account.subscribe(plan="basic", term="monthly", method="card", at=at, book=app.price_book())
    account.collection_succeeded(reference=f"collect:{ref}:1", at=at)
    return account


def monthly_card_accounts(
    ledger: Ledger, *, accounts: int, months: int, prefix: str = "acct", start: datetime = START
) -> Generated:
    """`accounts` monthly card subscribers, each with `months` months of history.

    Month m's renewals of every account are saved before month m+1's, like real time.
    Returns what was written; the store's next deadlines are at start + months months.
    """
    app = ledger.app
    book = app.price_book()
    refs = [f"{prefix}{i:07d}" for i in range(accounts)]
    # one second apart, so every account has its own anchor and the order is stable
    live = [_register(ledger, ref, start + timedelta(seconds=i)) for i, ref in enumerate(refs)]
    _save_all(ledger, live)
    for month in range(1, months):
        boundary = add_months(start, month) + timedelta(seconds=accounts + 1)
        for account in live:
            n = account.run_due(before=boundary, book=book)
            assert n is not None, "every account renews monthly"
            account.collection_succeeded(
                reference=f"collect:{account.ref}:{month + 1}",
                at=add_months(account.registered_at, month),
            )
        _save_all(ledger, live)
    return Generated(
        accounts=accounts, months=months, events=accounts * events_per_account(months), refs=refs
    )


def _save_all(ledger: Ledger, aggregates: list[Account]) -> None:
    for i in range(0, len(aggregates), SAVE_CHUNK):
        ledger.app.save(*aggregates[i : i + SAVE_CHUNK])


def settle_generated(ledger: Ledger) -> None:
    """Make a generated store look like a live ledger's: projections caught up, and the
    consumers past the history (its collections were answered when it was generated)."""
    from eventsourcing.persistence import Tracking

    ledger.projections.run()
    head = ledger.app.recorder.max_notification_id() or 0
    for consumer in (ledger.collector.name, ledger.privacy.name):
        if head and (ledger.store.max_tracking_id(consumer) or 0) < head:
            ledger.store.insert_tracking(Tracking(consumer, head))
