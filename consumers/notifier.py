"""Notice delivery: every notice the ledger decides (renewal reminders, price changes,
invoices, refunds, dunning) goes to the customer through the email port, and the
delivery is recorded in the ledger (`NoticeDelivered`), once per event.

Order of effects: check the ledger's record, send, record. A crash between sending and
recording sends the notice again on redelivery, with the same Message-ID; a recorded
delivery is never sent again. The address is opened from the sealed personal data at
the moment of sending and kept nowhere; an erased customer gets no email, and that is
recorded as the outcome.

The invoice email carries the invoice document (`TAX-6`) as `<number>.pdf`, the Factur-X
PDF of the invoice as its InvoiceIssued event left it: the composition root hands in the
renderer (`consumers.ports.InvoicePdf`), so this package needs nothing of infra.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from consumers.event_consumer import CloudEvent
from consumers.notice_texts import DELIVERABLE, notice_text
from consumers.ports import Attachment, Email, EmailPort, InvoicePdf


class Ledger(Protocol):
    def load(self, aid: UUID) -> Any: ...

    def personal_data(self, account: Any) -> dict[str, Any] | None: ...

    def record_notice_delivery(
        self, aid: UUID, *, notice_id: str, kind: str, at: datetime, channel: str, outcome: str
    ) -> bool: ...


class NoticeDelivery:
    name = "notices"

    def __init__(
        self,
        ledger: Ledger,
        email: EmailPort,
        clock: Callable[[], datetime],
        domain: str = "subledger.invalid",
        *,
        invoice_pdf: InvoicePdf | None = None,
    ) -> None:
        self.ledger = ledger
        self.email = email
        self.clock = clock
        self.domain = domain
        self.invoice_pdf = invoice_pdf

    def handle(self, event: CloudEvent) -> None:
        if not event.type.startswith("subledger.account.") or event.name not in DELIVERABLE:
            return
        aid = UUID(event.subject)
        account = self.ledger.load(aid)
        if event.id in account.delivered:
            return  # delivered before: a redelivery
        text = notice_text(event.name, event.data, account.ref, account.currency)
        assert text is not None, "DELIVERABLE holds only the notices that have a text"
        kind = event.data.get("kind", event.name) if event.name == "NoticeSent" else event.name
        personal = self.ledger.personal_data(account)
        address = (personal or {}).get("email")
        if address:
            subject, body = text
            attachments: tuple[Attachment, ...] = ()
            if event.name == "InvoiceIssued" and self.invoice_pdf is not None:
                pdf = self.invoice_pdf(account.ref, int(event.data["n"]), event.position or None)
                attachments = (pdf,)
                body += f"\n\nThe invoice is attached: {pdf.filename}."
            self.email.send(
                Email(
                    to=str(address),
                    subject=subject,
                    body=body,
                    message_id=_message_id(event.id, self.domain),
                    attachments=attachments,
                )
            )
            outcome = "sent"
        else:
            outcome = "no_address"
        self.ledger.record_notice_delivery(
            aid,
            notice_id=event.id,
            kind=str(kind),
            at=self.clock(),
            channel="email",
            outcome=outcome,
        )


def _message_id(event_id: str, domain: str) -> str:
    """RFC 5322 msg-id from the CloudEvents id (`<uuid>:<version>`; ':' is not allowed)."""
    return f"<{event_id.replace(':', '.')}@{domain}>"
