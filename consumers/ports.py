"""The ports through which consumers reach the outside: they declare what they need, and
the composition root (`infra/application/bootstrap.py`) hands in what does it.

`consumers/` never imports `infra/`: the payment provider (TERM-3), the email relay and
the invoice PDF of a notice (TAX-6), and the subject keys that erasure destroys (GDPR-5)
and the email cooldown keeps a hash of (ACCOUNT-5) are protocols here, implemented in
`infra/` (`infra/persistence/keystore.py`, `infra/messaging/smtp.py`, ...) and by the
simulated provider of scenarios and demos (`consumers/payment_provider.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class PaymentProvider(Protocol):
    def collect(
        self, *, account: str, reference: str, amount_minor: int, currency: str, method: str
    ) -> bool:
        """Charge a stored method; True when the money was collected."""


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


# (account ref, invoice n, log position of its InvoiceIssued event or None) -> the PDF
InvoicePdf = Callable[[str, int, int | None], Attachment]


class PersonalDataErasedError(Exception):
    """The key is gone: the fields can never be read again (by design)."""


def invoice_key_id(account_id: str) -> str:
    """The invoice identity's key sits beside the contact key, under its own id."""
    return f"{account_id}:invoice"


class SubjectKeys(Protocol):
    """The per-account data keys outside the event table (GDPR-5) and the email
    cooldown's keyed hashes (ACCOUNT-5)."""

    def open(self, account_id: str, sealed: str) -> dict[str, Any]:
        """The sealed fields in clear; `PersonalDataErasedError` once the key is gone."""

    def destroy_key(self, account_id: str) -> None:
        """Delete the key: what it sealed can never be read again."""

    def start_cooldown(self, email: str, until: datetime) -> None:
        """Keep a keyed hash of the address until `until` (ACCOUNT-5)."""
