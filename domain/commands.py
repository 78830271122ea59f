"""Commands: what a caller asks for, apart from the events that record what happened.

Typed and already valid: the strings a caller sends are parsed into these by the command
vocabulary (`infra/interface/vocabulary.py`, with the bounds of `domain/bounds.py`), which
refuses unknown fields, missing fields, wrong types, impossible dates, non-UTC times and
amounts with more than two decimals as `invalid_input` naming the field. The rules a
command meets are the aggregate's (`domain/account.py`, `domain/pricing.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

NOTICE_CHANNELS = ("email", "courier", "mail")  # NOTICE-1
VAT_ID_MAX = 40  # the longest EU VAT id is 14 characters; room for spaces and dots
DEFAULT_EXPORT_DAYS = 30  # VENDOR-2: the export window after a vendor termination
MAX_EXPORT_DAYS = 90
MAX_REASON_CHARS = 500  # an operator's reason, bounded before it is stored


@dataclass(frozen=True)
class Command:
    at: datetime


@dataclass(frozen=True)
class RegisterAccount(Command):
    account: str
    name: str
    email: str
    phone: str | None = None
    address: str | None = None
    birth_date: date | None = None
    country: str | None = None  # ISO 3166-1 alpha-2 (TAX-2)
    vat_id: str | None = None


@dataclass(frozen=True)
class StartTrial(Command):
    account: str
    plan: str


@dataclass(frozen=True)
class Subscribe(Command):
    account: str
    plan: str
    term: str
    payment_method: str
    discount_percent: Decimal | None = None


@dataclass(frozen=True)
class PurchasePrepaid(Command):
    account: str
    plan: str
    months: int
    payment_method: str


@dataclass(frozen=True)
class CancelQueued(Command):
    account: str


@dataclass(frozen=True)
class RecordPayment(Command):
    account: str
    amount: int
    reference: str


@dataclass(frozen=True)
class RecordCollectionCost(Command):
    account: str
    amount: int


@dataclass(frozen=True)
class DisputeInvoice(Command):
    account: str
    invoice: int
    reason: str


@dataclass(frozen=True)
class RequestCancellation(Command):
    account: str


@dataclass(frozen=True)
class AnnouncePriceChange(Command):
    plan: str
    term: str
    new_price: int
    effective_at: datetime
    channel: str = "email"


@dataclass(frozen=True)
class RecordActivity(Command):
    account: str


@dataclass(frozen=True)
class UpdatePersonalData(Command):
    account: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    country: str | None = None
    vat_id: str | None = None  # "" removes it


@dataclass(frozen=True)
class RequestAccountClosure(Command):
    account: str


@dataclass(frozen=True)
class RequestDataDeletion(Command):
    account: str


@dataclass(frozen=True)
class ExportPersonalData(Command):
    account: str


@dataclass(frozen=True)
class ChangePlan(Command):
    account: str
    plan: str
    term: str | None = None


@dataclass(frozen=True)
class RevokeCancellation(Command):
    account: str


@dataclass(frozen=True)
class SuspendAccount(Command):
    account: str
    reason: str


@dataclass(frozen=True)
class ReinstateAccount(Command):
    account: str


@dataclass(frozen=True)
class TerminateByVendor(Command):
    account: str
    reason: str
    export_days: int = DEFAULT_EXPORT_DAYS


@dataclass(frozen=True)
class CancelForNonpayment(Command):
    account: str
