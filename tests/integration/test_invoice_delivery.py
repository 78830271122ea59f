"""The invoice email carries the invoice document (issue 17, TAX-6): the notice consumer,
fed the ledger's stored events as the relay encodes them, sends each invoice email to a
real SMTP server (aiosmtpd) with `<number>.pdf` attached, and that PDF's embedded XML is
the CII of the ledger's document, byte for byte. On both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import facturx
import pytest
from aiosmtpd.controller import Controller
from backends import Backend
from ledger_kit import open_ledger
from test_invoice_documents import BOOK, SELLER, TABLE, do, register

from consumers.event_consumer import CloudEvent
from consumers.notifier import NoticeDelivery
from infra.application.bootstrap import invoice_pdf_port
from infra.application.ledger import Ledger
from infra.interface.invoicing.en16931 import render_cii
from infra.interface.invoicing.pdf import embedded_xml
from infra.messaging.cloudevents import encode
from infra.messaging.smtp import SmtpEmail
from infra.tools.local_broker import free_port

WALL = datetime(2026, 2, 1, 12, tzinfo=UTC)  # the notifier's clock, injected


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield "127.0.0.1", port, inbox
    controller.stop()


def events(ledger: Ledger) -> list[CloudEvent]:
    """Every stored event as the relay puts it on the topic (infra/messaging/cloudevents.py)."""
    head = ledger.app.recorder.max_notification_id() or 0
    stored = ledger.app.recorder.select_notifications(1, head)
    return [CloudEvent.decode(encode(n, "subledger-test")[1]) for n in stored]


def attachments(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    found = {}
    for part in message.iter_attachments():
        content = part.get_content()
        assert isinstance(content, bytes)
        found[str(part.get_filename())] = (part.get_content_type(), content)
    return found


def test_the_invoice_email_carries_the_factur_x_pdf(
    backend: Backend, smtp: tuple[str, int, Inbox]
) -> None:
    host, port, inbox = smtp
    ledger = open_ledger(backend.database("mail"), "device-cloud", BOOK, tax=TABLE, seller=SELLER)
    register(ledger, "be2", "2026-01-06T09:00:00Z", "Veldstraat 2, 9000 Gent", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-06T09:00:00Z",
        account="be2",
        plan="cloud",
        term="annual",
        payment_method="bank_transfer",
    )
    register(ledger, "be1", "2026-01-07T09:00:00Z", "Meir 1, 2000 Antwerpen", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-07T09:00:00Z",
        account="be1",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    port_ = invoice_pdf_port(ledger)
    assert port_ is not None
    notifier = NoticeDelivery(
        ledger.app,
        SmtpEmail(host, port, "billing@example.test"),
        clock=lambda: WALL,
        invoice_pdf=port_,
    )
    published = events(ledger)
    for event in published:
        notifier.handle(event)
    invoices = {m["To"]: m for m in inbox.messages if m["Subject"] == "Invoice 1"}
    assert sorted(invoices) == ["be1@example.test", "be2@example.test"]

    # a bank transfer: the document now is the one issued; the attachment's XML is its CII
    mail = invoices["be2@example.test"]
    assert attachments(mail).keys() == {"SL-be2-1.pdf"}
    media, pdf = attachments(mail)["SL-be2-1.pdf"]
    assert media == "application/pdf"
    assert embedded_xml(pdf) == render_cii(ledger.invoice_document("be2", 1))
    parsed = facturx.parse_ubl_cii_xml(embedded_xml(pdf))
    record = ledger.invoice_record("be2", 1)
    assert (
        parsed["BT-1"],
        parsed["BT-109"],
        parsed["BT-110"],
        parsed["BT-112"],
        parsed["BT-115"],
    ) == ("SL-be2-1", "50.00", "10.50", "60.50", "60.50")
    assert record["issued"] == {"amount": 6050, "net": 5000, "tax": 1050}
    body = mail.get_body(("plain",))
    assert body is not None and "The invoice is attached: SL-be2-1.pdf." in body.get_content()

    # a card: collected right after; the email carries the invoice as it was issued
    issued = next(
        e
        for e in published
        if e.name == "InvoiceIssued" and e.subject == str(ledger.account("be1").id)
    )
    _, pdf = attachments(invoices["be1@example.test"])["SL-be1-1.pdf"]
    assert embedded_xml(pdf) == render_cii(
        ledger.invoice_document("be1", 1, position=issued.position)
    )
    assert facturx.parse_ubl_cii_xml(embedded_xml(pdf))["BT-115"] == "6.05"
    assert ledger.invoice_document("be1", 1).amount_due == 0

    # a redelivery sends nothing again; the deliveries are recorded once
    before = len(inbox.messages)
    for event in published:
        notifier.handle(event)
    assert len(inbox.messages) == before
    delivered = [e for e in ledger.events("be2") if type(e).__name__ == "NoticeDelivered"]
    assert [(e.kind, e.outcome) for e in delivered] == [
        ("InvoiceIssued", "sent"),
        ("InvoiceOverdue", "sent"),
    ]
    # only the invoice email carries the document (device-cloud: due at once, overdue)
    overdue = [m for m in inbox.messages if m["Subject"] == "Invoice 1 is overdue"]
    assert overdue and all(not list(m.iter_attachments()) for m in overdue)
    ledger.close()


def test_without_a_seller_the_email_goes_without_a_document(
    backend: Backend, smtp: tuple[str, int, Inbox]
) -> None:
    """No [seller]: no document can be made, the invoice email is sent all the same."""
    host, port, inbox = smtp
    ledger = open_ledger(backend.database("noseller"), "device-cloud", BOOK, tax=TABLE)
    register(ledger, "be2", "2026-01-06T09:00:00Z", "Veldstraat 2, 9000 Gent", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-06T09:00:00Z",
        account="be2",
        plan="cloud",
        term="annual",
        payment_method="bank_transfer",
    )
    assert invoice_pdf_port(ledger) is None
    notifier = NoticeDelivery(
        ledger.app,
        SmtpEmail(host, port, "billing@example.test"),
        clock=lambda: WALL,
        invoice_pdf=invoice_pdf_port(ledger),
    )
    for event in events(ledger):
        notifier.handle(event)
    (mail,) = inbox.messages
    assert (mail["Subject"], list(mail.iter_attachments())) == ("Invoice 1", [])
    ledger.close()
