"""Carries out what privacy events decide, outside the event table (GDPR-5, ACCOUNT-5).

`PersonalDataErased`/`PersonalDataAnonymised` destroy the account's data key;
`AccountClosed` under a profile with an email cooldown keeps a keyed hash of the email
until the cooldown ends. Each effect is written with its tracking row in one transaction.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from domain.account import Account
from domain.calendar import add_days
from infra.keystore import KeyStore, PersonalDataErasedError
from projections.store import ViewStore

BATCH_SIZE = 500
_TOPICS = {f"{cls.__module__}:{cls.__qualname__}": cls.__name__ for cls in (
    Account.PersonalDataErased, Account.PersonalDataAnonymised, Account.AccountClosed)}


class PrivacyKeeper:
    name = "privacy_keeper"

    def __init__(self, app: Application[UUID], store: ViewStore, keys: KeyStore) -> None:
        self.app = app
        self.store = store
        self.keys = keys

    def run(self) -> int:
        processed = 0
        while True:
            start = (self.store.max_tracking_id(self.name) or 0) + 1
            notifications = self.app.recorder.select_notifications(start, BATCH_SIZE)
            if not notifications:
                return processed
            for notification in notifications:
                kind = _TOPICS.get(notification.topic)
                if kind == "AccountClosed":
                    self._cooldown(notification.originator_id, notification.id)
                elif kind is not None:
                    self.keys.destroy_key(str(notification.originator_id))
                    processed += 1
                self.store.insert_tracking(Tracking(self.name, notification.id))

    def _cooldown(self, originator_id: UUID | str, position: int) -> None:
        account = self.app.repository.get(originator_id, version=None)
        assert isinstance(account, Account)
        days = account.profile.email_cooldown_days
        if not days or account.closed_at is None:
            return
        try:
            fields = self.keys.open(str(account.id), account.personal)
        except PersonalDataErasedError:
            return
        self.keys.start_cooldown(str(fields["email"]), add_days(account.closed_at, days))
