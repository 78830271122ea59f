"""Payment collection from the topic: each `CollectionRequested` is put to the payment
provider and its answer recorded through the ledger, once per reference.

The provider is asked with the collection's reference as its idempotency key, and the
ledger books a reference once, so a redelivered request changes nothing. For a ledger
whose collections go through Kafka, the inline collector is switched off
(`[kafka] collection = true`), so each request has one collector.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from consumers.event_consumer import CloudEvent
from consumers.payment_provider import PaymentProvider
from domain.calendar import parse_instant


class Ledger(Protocol):
    def load(self, aid: UUID) -> Any: ...

    def record_collection_outcomes(
            self, outcomes: list[tuple[UUID, str, bool, datetime]]) -> None: ...


class KafkaCollector:
    name = "collector"

    def __init__(self, ledger: Ledger, provider: PaymentProvider) -> None:
        self.ledger = ledger
        self.provider = provider

    def handle(self, event: CloudEvent) -> None:
        if not event.type.startswith("subledger.account.") or \
                event.name != "CollectionRequested":
            return  # any version of the event: a v2 must not silently stop collection
        aid = UUID(event.subject)
        account = self.ledger.load(aid)
        reference = str(event.data["reference"])
        if reference in account.references:
            return  # answered before
        approved = self.provider.collect(
            account=account.ref, reference=reference, amount_minor=int(event.data["amount"]),
            currency=account.currency, method=str(event.data["method"]))
        self.ledger.record_collection_outcomes(
            [(aid, reference, approved, parse_instant(str(event.data["at"])))])
