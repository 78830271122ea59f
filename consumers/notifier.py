"""Notice delivery: every notice the ledger decides (renewal reminders, price changes,
invoices, refunds, dunning) goes to the customer through the email port, and the
delivery is recorded in the ledger (`NoticeDelivered`), once per event.

Order of effects: check the ledger's record, send, record. A crash between sending and
recording sends the notice again on redelivery, with the same Message-ID; a recorded
delivery is never sent again. The address is opened from the sealed personal data at
the moment of sending and kept nowhere; an erased customer gets no email, and that is
recorded as the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from consumers.email import DELIVERABLE, Email, EmailPort, notice_text
from consumers.event_consumer import CloudEvent


class Ledger(Protocol):
    def load(self, aid: UUID) -> Any: ...

    def personal_data(self, account: Any) -> dict[str, Any] | None: ...

    def record_notice_delivery(self, aid: UUID, *, notice_id: str, kind: str, at: datetime,
                               channel: str, outcome: str) -> bool: ...


class NoticeDelivery:
    name = "notices"

    def __init__(self, ledger: Ledger, email: EmailPort, clock: Callable[[], datetime],
                 domain: str = "subledger.invalid") -> None:
        self.ledger = ledger
        self.email = email
        self.clock = clock
        self.domain = domain

    def handle(self, event: CloudEvent) -> None:
        if not event.type.startswith("subledger.account.") or event.name not in DELIVERABLE:
            return
        aid = UUID(event.subject)
        account = self.ledger.load(aid)
        if event.id in account.delivered:
            return  # delivered before: a redelivery
        text = notice_text(event.name, event.data, account.ref, account.currency)
        assert text is not None, "DELIVERABLE holds only the notices that have a text"
        kind = event.data.get("kind", event.name) if event.name == "NoticeSent" \
            else event.name
        personal = self.ledger.personal_data(account)
        address = (personal or {}).get("email")
        if address:
            subject, body = text
            self.email.send(Email(to=str(address), subject=subject, body=body,
                                  message_id=_message_id(event.id, self.domain)))
            outcome = "sent"
        else:
            outcome = "no_address"
        self.ledger.record_notice_delivery(aid, notice_id=event.id, kind=str(kind),
                                           at=self.clock(), channel="email", outcome=outcome)


def _message_id(event_id: str, domain: str) -> str:
    """RFC 5322 msg-id from the CloudEvents id (`<uuid>:<version>`; ':' is not allowed)."""
    return f"<{event_id.replace(':', '.')}@{domain}>"
