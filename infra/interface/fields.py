"""The fields commands are made of: how a value sent as text or JSON is parsed, what the
CLI says about it, and the JSON Schema the OpenAPI document states for it, side by side.

Each `Field` parses with the parsers of `domain/bounds.py` and `domain/money.py`, which
hold every limit (lengths, maxima, instants): the schemas below are written from the same
numbers, so what the document promises is what the parser takes (`tests/unit/
test_bounds.py` checks the patterns against the parsers). A command's declaration
(`vocabulary.py`) lists its fields, and says which are required.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from domain import bounds
from domain.commands import (
    DEFAULT_EXPORT_DAYS,
    MAX_EXPORT_DAYS,
    MAX_REASON_CHARS,
    NOTICE_CHANNELS,
    VAT_ID_MAX,
)
from domain.errors import invalid
from domain.money import format_amount, parse_amount, parse_percent
from domain.profiles import MANUAL_METHODS, PAYMENT_METHODS, STORED_METHODS, TERM_MONTHS

Parser = Callable[[Any, str], Any]
Schema = dict[str, Any]
_BLANK = " \t\r\n"
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_VAT_ID = re.compile(r"^[A-Za-z0-9 .\-/+*]*$")


@dataclass(frozen=True)
class Field:
    """One field of a command. `parse` never sees None: a field not given (or null) is
    left out, or refused when `required`."""

    name: str
    parse: Parser
    help: str  # the CLI's `--help` line
    schema: Schema  # the OpenAPI body's property
    required: bool = True
    whole: bool = False  # a whole number: the CLI hands digits over as one

    def optional(self) -> Field:
        return replace(self, required=False)

    @property
    def option(self) -> str:
        """How the CLI names it: `--payment-method` (ACCOUNT is positional)."""
        return "--" + self.name.replace("_", "-")


# ------------------------------------------------------------------ schemas
# no control characters (C0, DEL, C1) and at least one that is not a space: what
# `domain.bounds.bounded_text` accepts; a postal address may hold newlines
_PLAIN, _PLAIN_NL = r"[^\x00-\x1f\x7f-\x9f]", r"[^\x00-\x09\x0b-\x1f\x7f-\x9f]"
TEXT_PATTERN = rf"^{_PLAIN}*[^\s\x00-\x1f\x7f-\x9f]{_PLAIN}*$"
MULTILINE_PATTERN = rf"^{_PLAIN_NL}*[^\s\x00-\x1f\x7f-\x9f]{_PLAIN_NL}*$"
# a new identifier: letters, digits, `. _ - @ + :`, no `..` (bounds.ID_PATTERN, written
# without a look-ahead so that any JSON Schema tool can generate from it)
IDENTIFIER_PATTERN = r"^[A-Za-z0-9](\.?[A-Za-z0-9_@+:-])*\.?$"


def text(field: str) -> Schema:
    """A free-text field as `bounds.field_text` bounds it."""
    pattern = MULTILINE_PATTERN if field in bounds.MULTILINE_FIELDS else TEXT_PATTERN
    return {
        "type": "string",
        "minLength": 1,
        "pattern": pattern,
        "maxLength": bounds.TEXT_LENGTHS.get(field, bounds.TEXT_LENGTHS["text"]),
    }


def whole(field: str) -> Schema:
    """A whole-number field as `bounds.field_whole` bounds it."""
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": bounds.WHOLE_MAXIMA.get(field, bounds.WHOLE_MAXIMA["whole"]),
    }


IDENTIFIER: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": bounds.MAX_ID_LENGTH,
    "pattern": IDENTIFIER_PATTERN,
}
INSTANT: Schema = {
    "type": "string",
    "format": "date-time",
    "pattern": r"(Z|\+00:00)$",
    "maxLength": 40,
    "description": "ISO-8601 UTC instant, e.g. 2026-06-01T00:00:00Z, from "
    f"{bounds.EARLIEST_INSTANT.date()} to before "
    f"{bounds.LATEST_INSTANT.date()}",
    "example": "2026-06-01T00:00:00Z",
}
MAX_AMOUNT = format_amount(bounds.MAX_AMOUNT_MINOR)
AMOUNT: Schema = {
    "description": "A decimal amount with at most two decimals, as a string "
    '("12.00"); a whole number is taken as major units. '
    f"Never a float. At most {MAX_AMOUNT} either way (beyond: "
    "422 invalid_amount).",
    "anyOf": [
        {
            "type": "string",
            "maxLength": bounds.MAX_AMOUNT_TEXT_LENGTH,
            "pattern": r"^\s*-?[0-9]+(\.[0-9]{1,2})?\s*$",
        },
        {
            "type": "integer",
            "minimum": -(bounds.MAX_AMOUNT_MINOR // 100),
            "maximum": bounds.MAX_AMOUNT_MINOR // 100,
        },
    ],
    "example": "12.00",
}


# ------------------------------------------------------------------ parsers
def _text(value: Any, field: str) -> str:
    """A non-empty text, trimmed, of at most the field's length (`bounds.TEXT_LENGTHS`)."""
    return bounds.field_text(value, field)


def _email(value: Any, field: str) -> str:
    text_ = _text(value, field)
    local, _, domain = text_.partition("@")
    if not local or "." not in domain or " " in text_:
        raise invalid(f"{field} {text_!r} is not an email address", field)
    return text_


def _one_of(names: tuple[str, ...] | list[str]) -> Parser:
    def parse(value: Any, field: str) -> str:
        text_ = _text(value, field)
        if text_ not in names:
            raise invalid(f"{field} must be one of {list(names)}", field)
        return text_

    return parse


def _reason(value: Any, field: str) -> str:
    text_ = _text(value, field)
    if len(text_) > MAX_REASON_CHARS:
        raise invalid(f"{field} is at most {MAX_REASON_CHARS} characters", field)
    return text_


def _export_days(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EXPORT_DAYS:
        raise invalid(
            f"{field} must be a whole number of days from 0 to {MAX_EXPORT_DAYS} (VENDOR-2)", field
        )
    return value


def _country(value: Any, field: str) -> str:
    """Two letters, upper-cased; the application checks it is an assigned ISO code."""
    if not isinstance(value, str) or not _COUNTRY.match(value.strip(_BLANK)):
        raise invalid(f'{field} must be an ISO 3166-1 alpha-2 code such as "BE"', field)
    return value.strip(_BLANK).upper()


def _vat_id(value: Any, field: str) -> str:
    """Trimmed and upper-cased, bounded; "" means none. Its check digits are the
    application's to check (TAX-2: python-stdnum, `vat_ids.py`)."""
    if not isinstance(value, str):
        raise invalid(f'{field} must be a string such as "BE0403170701"', field)
    text_ = value.strip(_BLANK)
    if len(value) > VAT_ID_MAX or not _VAT_ID.match(text_):
        raise invalid(
            f"{field} must be a VAT id of at most {VAT_ID_MAX} letters, digits, "
            "spaces, dots or dashes",
            field,
        )
    return text_.upper()


# ------------------------------------------------------------------ the fields
ACCOUNT = Field(
    "account",
    _text,
    "the customer's account reference",
    {**text("account"), "description": "the customer's account reference", "example": "acme-1"},
)
NEW_ACCOUNT = Field(
    "account",
    bounds.identifier,
    "the new account's reference",
    {
        **IDENTIFIER,
        "description": "the new account's reference: ASCII "
        "letters, digits and `. _ - @ + :`, starting with a letter or digit, "
        "no `..`",
        "example": "acme-1",
    },
)
NAME = Field(
    "name",
    _text,
    "full name",
    {**text("name"), "description": "full name (personal data, sealed at rest)"},
)
EMAIL = Field(
    "email",
    _email,
    "email address",
    {
        "type": "string",
        "format": "email",
        "maxLength": bounds.TEXT_LENGTHS["email"],
        "description": "email address (personal data, sealed at rest)",
    },
)
PHONE = Field(
    "phone", _text, "phone number", {**text("phone"), "description": "phone number (personal data)"}
)
ADDRESS = Field(
    "address",
    _text,
    "postal address",
    {**text("address"), "description": "postal address (invoice identity); may hold newlines"},
)
BIRTH_DATE = Field(
    "birth_date",
    bounds.birth_date,
    "birth date YYYY-MM-DD (18 or older)",
    {
        "type": "string",
        "format": "date",
        "description": "YYYY-MM-DD; customers under 18 are refused (ACCOUNT-2)",
    },
)
COUNTRY = Field(
    "country",
    _country,
    "ISO 3166-1 alpha-2 country code, e.g. BE (required with a tax table, TAX-2)",
    {
        "type": "string",
        "pattern": r"^[ \t\r\n]*[A-Za-z]{2}[ \t\r\n]*$",
        "example": "BE",
        "description": "ISO 3166-1 alpha-2 country code; required when the ledger "
        "has a tax table (TAX-2)",
    },
)
VAT_ID = Field(
    "vat_id",
    _vat_id,
    "VAT id, e.g. BE0403170701, checked for the country (TAX-2; an empty string removes it)",
    {
        "type": "string",
        "maxLength": VAT_ID_MAX,
        "example": "BE0403170701",
        "pattern": r"^[ \t\r\n]*[A-Za-z0-9 .\-/+*]*[ \t\r\n]*$",
        "description": "VAT id, checked for the country by its check digits "
        "(TAX-2); part of the sealed invoice identity (GDPR-3). In "
        'an update, "" removes it',
    },
)
PLAN = Field(
    "plan",
    _text,
    "a plan of the catalog",
    {**text("plan"), "description": "a plan of the catalog", "example": "basic"},
)
# TERM-1 "another term: term_not_offered": any term a customer may name is the
# contract's to refuse (a "weekly" term is not offered, not malformed), so the field is
# only a bounded text here and the account decides
TERM = Field(
    "term",
    _text,
    " | ".join(TERM_MONTHS),
    {
        "type": "string",
        "description": f"one of {', '.join(TERM_MONTHS)} (TERM-1: another is term_not_offered)",
        "examples": list(TERM_MONTHS),
    },
)
PAYMENT_METHOD = Field(
    "payment_method",
    _one_of(sorted(PAYMENT_METHODS)),
    f"stored: {' | '.join(sorted(STORED_METHODS))}; manual: {' | '.join(sorted(MANUAL_METHODS))}",
    {"type": "string", "enum": sorted(PAYMENT_METHODS)},
)
DISCOUNT_PERCENT = Field(
    "discount_percent",
    parse_percent,
    "first-term discount in percent, e.g. 20",
    {
        "description": "first-term discount, 0 to 100, at most two decimals (TERM-5)",
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": 100},
            {"type": "string", "maxLength": 16, "pattern": r"^\s*[0-9]+(\.[0-9]{1,2})?\s*$"},
        ],
    },
)
MONTHS = Field(
    "months",
    bounds.field_whole,
    "number of months",
    {**whole("months"), "description": "number of months (TERM-6)"},
    whole=True,
)
AMOUNT_FIELD = Field("amount", parse_amount, "decimal amount, at most two decimals: 12.00", AMOUNT)
REFERENCE = Field(
    "reference",
    _text,
    "payment reference (the same one twice is a no-op)",
    {
        **text("reference"),
        "description": "the payment's reference: the same one again is a no-op (SPEC section 0)",
    },
)
INVOICE = Field(
    "invoice",
    bounds.field_whole,
    "invoice number",
    {**whole("invoice"), "description": "invoice number"},
    whole=True,
)
DISPUTE_REASON = Field(
    "reason", _text, "why, in words", {**text("reason"), "description": "why, in words"}
)
OPERATOR_REASON = Field(
    "reason", _reason, "why, in words", {**text("reason"), "description": "why, in words"}
)
NEW_PRICE = Field("new_price", parse_amount, "decimal amount: 12.00", AMOUNT)
EFFECTIVE_AT = Field(
    "effective_at", bounds.instant, "ISO-8601 UTC instant, e.g. 2026-06-01T00:00:00Z", INSTANT
)
CHANNEL = Field(
    "channel",
    _one_of(NOTICE_CHANNELS),
    " | ".join(NOTICE_CHANNELS),
    {
        "type": "string",
        "enum": list(NOTICE_CHANNELS),
        "description": "how the notice is sent (NOTICE-1)",
    },
)
EXPORT_DAYS = Field(
    "export_days",
    _export_days,
    "days the customer may still export their "
    f"data, 0 to {MAX_EXPORT_DAYS} (default {DEFAULT_EXPORT_DAYS})",
    {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_EXPORT_DAYS,
        "default": DEFAULT_EXPORT_DAYS,
        "description": "days the customer may still export their data (VENDOR-2)",
    },
    whole=True,
)
