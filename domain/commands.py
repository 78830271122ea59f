"""Commands: what a caller asks for, apart from the events that record what happened.

`parse_command` turns the scenario/CLI vocabulary (scenarios/FORMAT.md) into typed
commands, refusing unknown fields, missing fields, wrong types, impossible dates, non-UTC
times and amounts with more than two decimals as `invalid_input` naming the field.
Every parser below is bounded (domain/bounds.py: lengths and maxima by field name, no
control characters), so a new field is bounded by using one of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain import bounds
from domain.errors import invalid
from domain.money import parse_amount, parse_percent
from domain.profiles import PAYMENT_METHODS, TERM_MONTHS

NOTICE_CHANNELS = ("email", "courier", "mail")
VAT_ID_MAX = 40  # the longest EU VAT id is 14 characters; room for spaces and dots
_BLANK = " \t\r\n"
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_VAT_ID = re.compile(r"^[A-Za-z0-9 .\-/+*]*$")
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


# The vendor's own commands (SPEC section 11): the operator's, never the customer's
# activity (ACCOUNT-3); the HTTP API gives them a scope of their own.
VENDOR_COMMANDS = frozenset({"suspend_account", "reinstate_account", "terminate_by_vendor",
                             "cancel_for_nonpayment"})


# ------------------------------------------------------------------ field parsers
def _text(value: Any, field: str) -> str:
    """A non-empty text, trimmed, of at most the field's length (`bounds.TEXT_LENGTHS`)."""
    return bounds.field_text(value, field)


_new_account = bounds.identifier  # a new account's reference: usable as a URL path segment


def _opt_text(value: Any, field: str) -> str | None:
    return None if value is None else _text(value, field)


def _email(value: Any, field: str) -> str:
    text = _text(value, field)
    local, _, domain = text.partition("@")
    if not local or "." not in domain or " " in text:
        raise invalid(f"{field} {text!r} is not an email address", field)
    return text


def _opt_email(value: Any, field: str) -> str | None:
    return None if value is None else _email(value, field)


def _term(value: Any, field: str) -> str:
    text = _text(value, field)
    if text not in TERM_MONTHS:
        raise invalid(f"{field} must be one of {list(TERM_MONTHS)}", field)
    return text


def _method(value: Any, field: str) -> str:
    text = _text(value, field)
    if text not in PAYMENT_METHODS:
        raise invalid(f"{field} must be one of {sorted(PAYMENT_METHODS)}", field)
    return text


def _positive_int(value: Any, field: str) -> int:
    """1 up to the field's maximum (`bounds.WHOLE_MAXIMA`)."""
    return bounds.field_whole(value, field)


def _channel(value: Any, field: str) -> str:
    text = _text(value, field)
    if text not in NOTICE_CHANNELS:
        raise invalid(f"{field} must be one of {list(NOTICE_CHANNELS)}", field)
    return text


def _opt_term(value: Any, field: str) -> str | None:
    return None if value is None else _term(value, field)


def _reason(value: Any, field: str) -> str:
    text = _text(value, field)
    if len(text) > MAX_REASON_CHARS:
        raise invalid(f"{field} is at most {MAX_REASON_CHARS} characters", field)
    return text


def _export_days(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 0 <= value <= MAX_EXPORT_DAYS:
        raise invalid(f"{field} must be a whole number of days from 0 to {MAX_EXPORT_DAYS} "
                      "(VENDOR-2)", field)
    return value


def _opt_percent(value: Any, field: str) -> Decimal | None:
    return None if value is None else parse_percent(value, field)


def _opt_date(value: Any, field: str) -> date | None:
    return None if value is None else bounds.birth_date(value, field)


def _opt_country(value: Any, field: str) -> str | None:
    """Two letters, upper-cased; the application checks it is an assigned ISO code."""
    if value is None:
        return None
    if not isinstance(value, str) or not _COUNTRY.match(value.strip(_BLANK)):
        raise invalid(f"{field} must be an ISO 3166-1 alpha-2 code such as \"BE\"", field)
    return value.strip(_BLANK).upper()


def _opt_vat_id(value: Any, field: str) -> str | None:
    """Trimmed and upper-cased, bounded; "" means none. Its check digits are the
    application's to check (TAX-2: python-stdnum), not the pure domain's."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{field} must be a string such as \"BE0403170701\"", field)
    text = value.strip(_BLANK)
    if len(value) > VAT_ID_MAX or not _VAT_ID.match(text):
        raise invalid(f"{field} must be a VAT id of at most {VAT_ID_MAX} letters, digits, "
                      "spaces, dots or dashes", field)
    return text.upper()


Parser = Callable[[Any, str], Any]

# do -> (command class, {field: (parser, required)})
VOCABULARY: dict[str, tuple[type[Command], dict[str, tuple[Parser, bool]]]] = {
    "register_account": (RegisterAccount, {
        "account": (_new_account, True), "name": (_text, True), "email": (_email, True),
        "phone": (_opt_text, False), "address": (_opt_text, False),
        "birth_date": (_opt_date, False), "country": (_opt_country, False),
        "vat_id": (_opt_vat_id, False)}),
    "start_trial": (StartTrial, {"account": (_text, True), "plan": (_text, True)}),
    "subscribe": (Subscribe, {
        "account": (_text, True), "plan": (_text, True), "term": (_term, True),
        "payment_method": (_method, True), "discount_percent": (_opt_percent, False)}),
    "purchase_prepaid": (PurchasePrepaid, {
        "account": (_text, True), "plan": (_text, True), "months": (_positive_int, True),
        "payment_method": (_method, True)}),
    "cancel_queued": (CancelQueued, {"account": (_text, True)}),
    "record_payment": (RecordPayment, {
        "account": (_text, True), "amount": (parse_amount, True),
        "reference": (_text, True)}),
    "record_collection_cost": (RecordCollectionCost, {
        "account": (_text, True), "amount": (parse_amount, True)}),
    "dispute_invoice": (DisputeInvoice, {
        "account": (_text, True), "invoice": (_positive_int, True),
        "reason": (_text, True)}),
    "request_cancellation": (RequestCancellation, {"account": (_text, True)}),
    "announce_price_change": (AnnouncePriceChange, {
        "plan": (_text, True), "term": (_term, True), "new_price": (parse_amount, True),
        "effective_at": (bounds.instant, True), "channel": (_channel, False)}),
    "record_activity": (RecordActivity, {"account": (_text, True)}),
    "update_personal_data": (UpdatePersonalData, {
        "account": (_text, True), "name": (_opt_text, False), "email": (_opt_email, False),
        "phone": (_opt_text, False), "address": (_opt_text, False),
        "country": (_opt_country, False), "vat_id": (_opt_vat_id, False)}),
    "request_account_closure": (RequestAccountClosure, {"account": (_text, True)}),
    "request_data_deletion": (RequestDataDeletion, {"account": (_text, True)}),
    "export_personal_data": (ExportPersonalData, {"account": (_text, True)}),
    "change_plan": (ChangePlan, {
        "account": (_text, True), "plan": (_text, True), "term": (_opt_term, False)}),
    "revoke_cancellation": (RevokeCancellation, {"account": (_text, True)}),
    "suspend_account": (SuspendAccount, {"account": (_text, True), "reason": (_reason, True)}),
    "reinstate_account": (ReinstateAccount, {"account": (_text, True)}),
    "terminate_by_vendor": (TerminateByVendor, {
        "account": (_text, True), "reason": (_reason, True),
        "export_days": (_export_days, False)}),
    "cancel_for_nonpayment": (CancelForNonpayment, {"account": (_text, True)}),
}


def parse_command(do: str, fields: Mapping[str, Any], at: datetime) -> Command:
    """Build a typed command; `fields` excludes `do` and `at`."""
    if do not in VOCABULARY:
        raise invalid(f"unknown command {do!r}; known: {', '.join(VOCABULARY)}", "do")
    cls, spec = VOCABULARY[do]
    unknown = sorted(set(fields) - set(spec))
    if unknown:
        raise invalid(f"{do} has no field(s) {', '.join(unknown)}", unknown[0])
    values: dict[str, Any] = {}
    for field, (parser, required) in spec.items():
        if field not in fields or fields[field] is None:
            if required:
                raise invalid(f"{do} needs {field}", field)
            continue
        values[field] = parser(fields[field], field)
    if isinstance(cls, type) and cls is UpdatePersonalData and len(values) == 1:
        raise invalid("update_personal_data needs at least one of name, email, phone, "
                      "address, country, vat_id", "name")
    return cls(at=at, **values)
