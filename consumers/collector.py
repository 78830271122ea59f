"""Payment collection: answers every `CollectionRequested` through the provider port.

At-least-once by construction (the position is stored after the ledger recorded the
outcomes), exactly-once in effect: the ledger books a collection reference once, so a
redelivered request after a crash is a no-op, and the provider is asked with the same
reference (its idempotency key). A batch of answers is saved in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from consumers.log_follower import LogFollower, topic_of
from consumers.payment_provider import PaymentProvider
from domain.account import Account
from projections.store import ViewStore

Answer = Callable[[list[tuple[UUID, str, bool, datetime]]], None]


class Collector:
    name = "collector"

    def __init__(self, app: Application[UUID], store: ViewStore,
                 provider: PaymentProvider, answer: Answer) -> None:
        self.app = app
        self.provider = provider
        self.answer = answer  # records outcomes: [(account id, reference, approved, at)]
        self.follower = LogFollower(app, store, self.name,
                                    [topic_of(Account.CollectionRequested)])

    def run(self) -> int:
        return self.follower.drain(self._collect)

    def _collect(self, batch: list[Notification]) -> None:
        outcomes = []
        for notification in batch:
            event = self.app.mapper.to_domain_event(notification)
            account = self.app.repository.get(event.originator_id)
            assert isinstance(account, Account)
            approved = self.provider.collect(
                account=account.ref, reference=event.reference, amount_minor=event.amount,
                currency=account.currency, method=event.method)
            outcomes.append((event.originator_id, event.reference, approved, event.at))
        self.answer(outcomes)
