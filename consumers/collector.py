"""Payment collection: answers every `CollectionRequested` through the provider port.

At-least-once by construction (the tracking row is written after the ledger recorded
the outcome), exactly-once in effect: the ledger books a collection reference once, so a
redelivered request after a crash is a no-op.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from consumers.log_follower import follow, topic_of
from consumers.payment_provider import PaymentProvider
from domain.account import Account
from projections.store import ViewStore

_TOPICS = [topic_of(Account.CollectionRequested)]


class Collector:
    name = "collector"

    def __init__(self, app: Application[UUID], store: ViewStore,
                 provider: PaymentProvider, answer: Any) -> None:
        self.app = app
        self.store = store
        self.provider = provider
        self.answer = answer  # (ref, reference, approved, at) -> None, records the outcome

    def run(self) -> int:
        processed = 0
        for notification in follow(self.app, self.store, self.name, _TOPICS):
            event = self.app.mapper.to_domain_event(notification)
            account = self.app.repository.get(event.originator_id)
            approved = self.provider.collect(
                account=account.ref, reference=event.reference, amount_minor=event.amount,
                currency=account.currency, method=event.method)
            self.answer(account.ref, event.reference, approved, event.at)
            processed += 1
        return processed
