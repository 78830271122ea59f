"""The baseline: the bare eventsourcing library, doing the same writes as the ledger.

A trivial aggregate (`Tally`, one integer) in a plain `Application`, on the same database
settings and the same aggregate-cache size as the ledger's application, written in the
same get-call-save form with the same number of events per transaction. Whatever the
ledger is slower by is the cost of the ledger's own code, not of the library or SQLite.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.backends import Backend
from infra.application.handlers import LedgerApplication

# events per transaction of one account's commands through `LedgerApplication.handle`:
# register (Registered), subscribe by card (Subscribed, InvoiceIssued,
# CollectionRequested), record_payment (PaymentReceived), request_cancellation
COMMAND_EVENTS = (1, 3, 1, 1)
# one account's month boundary: the renewal (Renewed, InvoiceIssued,
# CollectionRequested), then the collection's answer (PaymentReceived)
MONTH_EVENTS = (3, 1)


class Tally(Aggregate):
    """The trivial aggregate: nothing but a counter."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.total = 0

    @event("Counted")
    def count(self, at: datetime) -> None:
        self.total += 1


class BareApplication(Application[UUID]):
    name = "bare"


def bare_app(backend: Backend, locator: str) -> BareApplication:
    cache = LedgerApplication.env.get("AGGREGATE_CACHE_MAXSIZE", "")
    env = {**backend.library_env(locator), "AGGREGATE_CACHE_MAXSIZE": cache}
    return BareApplication(env=env)


def create(app: BareApplication, ref: str) -> UUID:
    tally = Tally(ref)
    app.save(tally)
    return tally.id


def update(app: BareApplication, tally_id: UUID, events: int, at: datetime) -> None:
    """One command: get, record `events` events, save them in one transaction."""
    tally: Tally = app.repository.get(tally_id)
    for _ in range(events):
        tally.count(at)
    app.save(tally)


def account_commands(app: BareApplication, ref: str, at: datetime) -> int:
    """The baseline twin of one account's four commands; returns events written."""
    tally_id = create(app, ref)
    for events in COMMAND_EVENTS[1:]:
        update(app, tally_id, events, at)
    return sum(COMMAND_EVENTS)
