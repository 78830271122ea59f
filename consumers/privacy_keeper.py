"""Carries out what privacy events decide, outside the event table (GDPR-5, ACCOUNT-5).

`PersonalDataErased`/`PersonalDataAnonymised` destroy the account's contact key,
`InvoiceIdentityErased` its invoice identity key (at the end of GDPR-3 retention);
`AccountClosed` under a profile with an email cooldown keeps a keyed hash of the email
until the cooldown ends. Both effects are idempotent, so redelivery is harmless. The keys
are reached through the `SubjectKeys` port (`consumers/ports.py`; the composition root
hands in `infra/persistence/keystore.py`'s `KeyStore`).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from consumers.log_follower import LogFollower, TrackedStore, topic_of
from consumers.ports import PersonalDataErasedError, SubjectKeys, invoice_key_id
from domain.account import Account
from domain.email_cooldown import cooldown_ends

_TOPICS = {
    topic_of(cls): cls.__name__
    for cls in (
        Account.PersonalDataErased,
        Account.PersonalDataAnonymised,
        Account.AccountClosed,
        Account.InvoiceIdentityErased,
    )
}


class PrivacyKeeper:
    name = "privacy_keeper"

    def __init__(self, app: Application[UUID], store: TrackedStore, keys: SubjectKeys) -> None:
        self.app = app
        self.keys = keys
        self.follower = LogFollower(app, store, self.name, list(_TOPICS))

    def run(self) -> int:
        return self.follower.drain(self._keep)

    def _keep(self, batch: list[Notification]) -> None:
        for notification in batch:
            name = _TOPICS[notification.topic]
            if name == "AccountClosed":
                self._cooldown(notification.originator_id)
            elif name == "InvoiceIdentityErased":
                self.keys.destroy_key(invoice_key_id(str(notification.originator_id)))
            else:
                self.keys.destroy_key(str(notification.originator_id))

    def _cooldown(self, originator_id: UUID | str) -> None:
        account: Account = self.app.repository.get(UUID(str(originator_id)))
        assert isinstance(account, Account)
        days = account.profile.email_cooldown_days
        if not days or account.closed_at is None:
            return
        try:
            fields = self.keys.open(str(account.id), account.personal)
        except PersonalDataErasedError:
            return
        self.keys.start_cooldown(str(fields["email"]), cooldown_ends(account.closed_at, days))
