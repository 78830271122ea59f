"""Payment collection: answers every `CollectionRequested` through the provider port,
from the event log in process (`Collector`) or from the Kafka topic (`KafkaCollector`).

At-least-once by construction (the position, or the offset, is stored after the ledger
recorded the outcomes), exactly-once in effect: the ledger books a collection reference
once, so a redelivered request after a crash is a no-op, and the provider is asked with
the same reference (its idempotency key). A batch of answers is saved in one transaction.
For a ledger whose collections go through Kafka, the inline collector is switched off
(`[kafka] collection = true`), so each request has one collector.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from consumers.log_follower import LogFollower, TrackedStore, topic_of
from consumers.ports import PaymentProvider
from domain.account import Account
from domain.calendar import parse_instant

if TYPE_CHECKING:  # the Kafka loop's types: the inline collector never loads kafka-python
    from consumers.event_consumer import CloudEvent

Answer = Callable[[list[tuple[UUID, str, bool, datetime]]], None]


class Collector:
    name = "collector"

    def __init__(
        self, app: Application[UUID], store: TrackedStore, provider: PaymentProvider, answer: Answer
    ) -> None:
        self.app = app
        self.provider = provider
        self.answer = answer  # records outcomes: [(account id, reference, approved, at)]
        self.follower = LogFollower(app, store, self.name, [topic_of(Account.CollectionRequested)])

    def run(self) -> int:
        return self.follower.drain(self._collect)

    def _collect(self, batch: list[Notification]) -> None:
        outcomes = []
        for notification in batch:
            event = self.app.mapper.to_domain_event(notification)
            assert isinstance(event, Account.CollectionRequested)
            account: Account = self.app.repository.get(event.originator_id)
            assert isinstance(account, Account)
            approved = self.provider.collect(
                account=account.ref,
                reference=event.reference,
                amount_minor=event.amount,
                currency=account.currency,
                method=event.method,
            )
            outcomes.append((event.originator_id, event.reference, approved, event.at))
        self.answer(outcomes)


class CollectionLedger(Protocol):
    """What the Kafka collector needs of the ledger (`LedgerApplication` is one)."""

    def load(self, aid: UUID) -> Any: ...

    def record_collection_outcomes(
        self, outcomes: list[tuple[UUID, str, bool, datetime]]
    ) -> None: ...


class KafkaCollector:
    """The same collection, a `consumers.event_consumer` handler of the topic."""

    name = "collector"

    def __init__(self, ledger: CollectionLedger, provider: PaymentProvider) -> None:
        self.ledger = ledger
        self.provider = provider

    def handle(self, event: CloudEvent) -> None:
        if not event.type.startswith("subledger.account.") or event.name != "CollectionRequested":
            return  # any version of the event: a v2 must not silently stop collection
        aid = UUID(event.subject)
        account = self.ledger.load(aid)
        reference = str(event.data["reference"])
        if reference in account.references:
            return  # answered before
        approved = self.provider.collect(
            account=account.ref,
            reference=reference,
            amount_minor=int(event.data["amount"]),
            currency=account.currency,
            method=str(event.data["method"]),
        )
        self.ledger.record_collection_outcomes(
            [(aid, reference, approved, parse_instant(str(event.data["at"])))]
        )
