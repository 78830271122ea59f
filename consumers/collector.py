"""Payment collection: answers every `CollectionRequested` through the provider port.

At-least-once by construction (the tracking row is written after the ledger recorded
the outcome), exactly-once in effect: the ledger books a collection reference once, so a
redelivered request after a crash is a no-op.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from consumers.payment_provider import PaymentProvider
from domain.account import Account
from projections.store import ViewStore

BATCH_SIZE = 500


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
        while True:
            start = (self.store.max_tracking_id(self.name) or 0) + 1
            topic = f"{Account.CollectionRequested.__module__}:" \
                    f"{Account.CollectionRequested.__qualname__}"
            notifications = self.app.recorder.select_notifications(start, BATCH_SIZE)
            if not notifications:
                return processed
            for notification in notifications:
                if notification.topic == topic:
                    event = self.app.mapper.to_domain_event(notification)
                    account = self.app.repository.get(event.originator_id)
                    approved = self.provider.collect(
                        account=account.ref, reference=event.reference,
                        amount_minor=event.amount, currency=account.currency,
                        method=event.method)
                    self.answer(account.ref, event.reference, approved, event.at)
                    processed += 1
                self.store.insert_tracking(Tracking(self.name, notification.id))
