"""The email port, its SMTP adapter, and the texts of the notices.

The Message-ID is derived from the event's CloudEvents id, so a notice sent twice (a
crash between sending and recording) carries the same id and mail systems can fold the
copies; the notifier records each delivery in the ledger so it is not sent again.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from domain.money import format_amount


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    media_type: str = "application/pdf"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    message_id: str
    attachments: tuple[Attachment, ...] = ()


class EmailPort(Protocol):
    def send(self, email: Email) -> None:
        """Hand the message over for delivery; raises when it was not accepted."""


class SmtpEmail:
    """Any SMTP relay (a local MTA, a provider's submission port)."""

    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 10.0,
                 starttls: bool = False, login: tuple[str, str] | None = None) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.timeout, self.starttls, self.login = timeout, starttls, login

    def send(self, email: Email) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = email.message_id
        message.set_content(email.body)
        for attachment in email.attachments:
            maintype, _, subtype = attachment.media_type.partition("/")
            message.add_attachment(attachment.content, maintype=maintype, subtype=subtype,
                                   filename=attachment.filename)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.login is not None:
                smtp.login(*self.login)
            smtp.send_message(message)


def _money(data: dict[str, Any], key: str) -> str:
    return format_amount(int(data.get(key, 0)))


Text = tuple[str, str]


def _notice(d: dict[str, Any], account: str, currency: str) -> Text:
    kind, details = d.get("kind", "notice"), d.get("details") or {}
    if kind == "renewal_reminder":
        return ("Your subscription renews soon", f"Account {account}: your subscription "
                f"renews on {details.get('renews_at', d.get('effective_at'))}.")
    if kind == "price_change":
        price = (f" to {format_amount(int(details['new_price']))} {currency}"
                 if "new_price" in details else "")
        when = details.get("price_effective_at", d.get("effective_at"))
        return ("A price change for your plan", f"Account {account}: the price of your "
                f"plan changes on {when}{price}.")
    return (f"Notice: {kind}", f"Account {account}: {kind} ({d.get('effective_at')}).")


_TEXTS: dict[str, Any] = {
    "NoticeSent": _notice,
    "InvoiceIssued": lambda d, account, currency: (
        f"Invoice {d.get('n')}", f"Account {account}: invoice {d.get('n')} for "
        f"{_money(d, 'amount')} {currency}, due {d.get('due_at')}."),
    "RefundIssued": lambda d, account, currency: (
        "Your refund", f"Account {account}: we refunded {_money(d, 'amount')} {currency}."),
    "InvoiceOverdue": lambda d, account, _currency: (
        f"Invoice {d.get('n')} is overdue",
        f"Account {account}: invoice {d.get('n')} is overdue since {d.get('at')}."),
    "AccessSuspended": lambda _d, account, _currency: (
        "Your access is suspended",
        f"Account {account}: access is suspended until the overdue amount is paid."),
}
DELIVERABLE = frozenset(_TEXTS)


def notice_text(name: str, data: dict[str, Any], account: str, currency: str) -> Text | None:
    """Subject and body of the notice an event calls for; None when it calls for none."""
    text = _TEXTS.get(name)
    return None if text is None else text(data, account, currency)  # type: ignore[no-any-return]
