"""The OpenAPI document's JSON Schemas, written to match what the parsers accept.

Request bodies are described here but validated by `domain.commands.parse_command`
alone, so the document and the rules cannot disagree about what is refused: each field
schema below says what its parser in `domain/commands.py` takes (decimal strings for
amounts, UTC instants ending in Z, the vocabularies of terms, methods and channels).
"""

from __future__ import annotations

from typing import Any

from domain import bounds
from domain.commands import DEFAULT_EXPORT_DAYS, MAX_EXPORT_DAYS, NOTICE_CHANNELS, VAT_ID_MAX
from domain.money import format_amount
from domain.profiles import PAYMENT_METHODS, TERM_MONTHS

Schema = dict[str, Any]

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
    return {"type": "string", "minLength": 1, "pattern": pattern,
            "maxLength": bounds.TEXT_LENGTHS.get(field, bounds.TEXT_LENGTHS["text"])}


def whole(field: str) -> Schema:
    """A whole-number field as `bounds.field_whole` bounds it."""
    return {"type": "integer", "minimum": 1,
            "maximum": bounds.WHOLE_MAXIMA.get(field, bounds.WHOLE_MAXIMA["whole"])}


TEXT: Schema = text("text")
IDENTIFIER: Schema = {"type": "string", "minLength": 1, "maxLength": bounds.MAX_ID_LENGTH,
                      "pattern": IDENTIFIER_PATTERN}
INSTANT: Schema = {"type": "string", "format": "date-time", "pattern": r"(Z|\+00:00)$",
                   "maxLength": 40,
                   "description": "ISO-8601 UTC instant, e.g. 2026-06-01T00:00:00Z, from "
                                  f"{bounds.EARLIEST_INSTANT.date()} to before "
                                  f"{bounds.LATEST_INSTANT.date()}",
                   "example": "2026-06-01T00:00:00Z"}
MAX_AMOUNT = format_amount(bounds.MAX_AMOUNT_MINOR)
AMOUNT: Schema = {"description": "A decimal amount with at most two decimals, as a string "
                                 "(\"12.00\"); a whole number is taken as major units. "
                                 f"Never a float. At most {MAX_AMOUNT} either way (beyond: "
                                 "422 invalid_amount).",
                  "anyOf": [{"type": "string", "maxLength": bounds.MAX_AMOUNT_TEXT_LENGTH,
                             "pattern": r"^\s*-?[0-9]+(\.[0-9]{1,2})?\s*$"},
                            {"type": "integer",
                             "minimum": -(bounds.MAX_AMOUNT_MINOR // 100),
                             "maximum": bounds.MAX_AMOUNT_MINOR // 100}],
                  "example": "12.00"}
WHOLE: Schema = whole("whole")

FIELD_SCHEMAS: dict[str, Schema] = {
    "account": {**text("account"), "description": "the customer's account reference",
                "example": "acme-1"},
    "name": {**text("name"), "description": "full name (personal data, sealed at rest)"},
    "email": {"type": "string", "format": "email", "maxLength": bounds.TEXT_LENGTHS["email"],
              "description": "email address (personal data, sealed at rest)"},
    "phone": {**text("phone"), "description": "phone number (personal data)"},
    "address": {**text("address"), "description": "postal address (invoice identity); "
                                                  "may hold newlines"},
    "birth_date": {"type": "string", "format": "date",
                   "description": "YYYY-MM-DD; customers under 18 are refused (ACCOUNT-2)"},
    "plan": {**text("plan"), "description": "a plan of the catalog", "example": "basic"},
    "term": {"type": "string", "enum": list(TERM_MONTHS)},
    "payment_method": {"type": "string", "enum": sorted(PAYMENT_METHODS)},
    "discount_percent": {"description": "first-term discount, 0 to 100, at most two "
                                        "decimals (TERM-5)",
                         "anyOf": [{"type": "integer", "minimum": 0, "maximum": 100},
                                   {"type": "string", "maxLength": 16,
                                    "pattern": r"^\s*[0-9]+(\.[0-9]{1,2})?\s*$"}]},
    "months": {**whole("months"), "description": "number of months (TERM-6)"},
    "amount": AMOUNT,
    "reference": {**text("reference"), "description": "the payment's reference: the same "
                                                      "one again is a no-op (SPEC section 0)"},
    "invoice": {**whole("invoice"), "description": "invoice number"},
    "reason": {**text("reason"), "description": "why, in words"},
    "new_price": AMOUNT,
    "effective_at": INSTANT,
    "channel": {"type": "string", "enum": list(NOTICE_CHANNELS),
                "description": "how the notice is sent (NOTICE-1)"},
    "country": {"type": "string", "pattern": r"^[ \t\r\n]*[A-Za-z]{2}[ \t\r\n]*$",
                "example": "BE",
                "description": "ISO 3166-1 alpha-2 country code; required when the ledger "
                               "has a tax table (TAX-2)"},
    "vat_id": {"type": "string", "maxLength": VAT_ID_MAX, "example": "BE0403170701",
               "pattern": r"^[ \t\r\n]*[A-Za-z0-9 .\-/+*]*[ \t\r\n]*$",
               "description": "VAT id, checked for the country by its check digits "
                              "(TAX-2); part of the sealed invoice identity (GDPR-3). In "
                              "an update, \"\" removes it"},
    "export_days": {"type": "integer", "minimum": 0, "maximum": MAX_EXPORT_DAYS,
                    "default": DEFAULT_EXPORT_DAYS,
                    "description": "days the customer may still export their data "
                                   "(VENDOR-2)"},
}


def _field_schema(field: str, parser: Any) -> Schema:
    if parser is bounds.identifier:  # a new account's reference
        return {**IDENTIFIER, "description": "the new account's reference: ASCII letters, "
                "digits and `. _ - @ + :`, starting with a letter or digit, no `..`",
                "example": "acme-1"}
    return FIELD_SCHEMAS[field]


def body_schema(spec: dict[str, tuple[Any, bool]], path_fields: frozenset[str]) -> Schema:
    """The JSON body of a command: its vocabulary fields not in the path, and `at`. An
    optional field may be null: `parse_command` takes null as not given."""
    properties = {f: _field_schema(f, parser) if needed else
                  {"anyOf": [_field_schema(f, parser), {"type": "null"}]}
                  for f, (parser, needed) in spec.items() if f not in path_fields}
    properties["at"] = {**INSTANT, "description": "when it happened (default: now); at "
                                                  "most a few minutes ahead of the server"}
    required = [f for f, (_, needed) in spec.items() if needed and f not in path_fields]
    schema: Schema = {"type": "object", "properties": properties,
                      "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


STRING_OR_NULL: Schema = {"type": ["string", "null"]}
MONEY_TEXT: Schema = {"type": "string", "description": "decimal amount, e.g. \"12.00\""}

PROBLEM: Schema = {
    "type": "object", "required": ["type", "title", "status", "detail", "code"],
    "description": "RFC 9457 problem details; `code` is the SPEC error code",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"},
                   "code": {"type": "string"}, "field": {"type": "string"},
                   "reasons": {"type": "array", "items": {"type": "string"}},
                   "required_scope": {"type": "string"},
                   "halted": {"type": "array", "items": {"type": "object"}}}}

STATE: Schema = {
    "type": "object", "required": ["status", "access", "balance", "invoices"],
    "description": "the observed account state (scenarios/FORMAT.md)",
    "properties": {
        "status": {"type": "string"}, "plan": STRING_OR_NULL, "term": STRING_OR_NULL,
        "access": {"type": "boolean"}, "access_until": STRING_OR_NULL,
        "balance": {"type": "object", "additionalProperties": MONEY_TEXT},
        "invoices": {"type": "array", "items": {
            "type": "object", "required": ["n", "amount", "status"],
            "properties": {"n": {"type": "integer"}, "issued_at": {"type": "string"},
                           "due_at": STRING_OR_NULL, "amount": MONEY_TEXT,
                           "paid": MONEY_TEXT, "status": {"type": "string"},
                           "net": MONEY_TEXT, "tax": MONEY_TEXT,
                           "tax_rate": {"type": "string", "description": "percent (TAX-1)"},
                           "tax_category": {"type": ["string", "null"],
                                            "enum": ["S", "AE", "O", None]},
                           "kind": {"type": "string",
                                    "enum": ["term", "prepaid", "proration"]}}}},
        "refunds": {"type": "array", "items": {"type": "object"}},
        "notices": {"type": "array", "items": {"type": "object"}},
        "privacy": {"type": "object"},
        "scheduled_change": {"type": ["object", "null"],
                             "description": "a downgrade or term change waiting for the "
                                            "next renewal (CHANGE-3)",
                             "properties": {"plan": {"type": "string"},
                                            "term": {"type": "string"},
                                            "at": {"type": "string"}}},
        "suspension": {"type": ["string", "null"], "enum": ["vendor", "payment", None]},
        "export_until": {**STRING_OR_NULL, "description": "the end of a vendor "
                                                          "termination's export window"}}}

RECEIPT: Schema = {
    "type": "object", "required": ["ok", "command", "at", "recorded"],
    "description": "what the command did: `recorded` is false for a repeat that changed "
                   "nothing (a payment reference already booked)",
    "properties": {"ok": {"const": True}, "command": {"type": "string"},
                   "account": {"type": "string"}, "at": {"type": "string"},
                   "recorded": {"type": "boolean"}, "detail": {"type": "object"},
                   "status": {"type": "string"}, "access": {"type": "boolean"}}}

EVENTS: Schema = {"type": "array", "items": {
    "type": "object", "required": ["version", "event", "recorded_at", "fields"],
    "properties": {"version": {"type": "integer"}, "event": {"type": "string"},
                   "at": STRING_OR_NULL, "recorded_at": {"type": "string"},
                   "fields": {"type": "object"}}}}

HISTORY: Schema = {"type": "array", "items": {
    "type": "object", "required": ["position", "version", "event", "status"],
    "properties": {"position": {"type": "integer"}, "version": {"type": "integer"},
                   "event": {"type": "string"}, "at": STRING_OR_NULL,
                   "recorded_at": {"type": "string"}, "status": {"type": "string"},
                   "access": {"type": "boolean"}, "outstanding": {"type": "string"}}}}

INVOICES: Schema = {"type": "object", "required": ["account", "invoices"],
                    "properties": {"account": {"type": "string"},
                                   "invoices": STATE["properties"]["invoices"]}}

JOURNAL: Schema = {
    "type": "object", "required": ["lines", "trial_balance", "debits", "credits", "balanced"],
    "description": "double-entry lines in minor units, and the trial balance they make",
    "properties": {
        "lines": {"type": "array", "items": {
            "type": "object", "required": ["debit", "credit", "amount"],
            "properties": {"position": {"type": ["integer", "null"]},
                           "line": {"type": "integer"}, "account": {"type": "string"},
                           "at": {"type": "string"}, "debit": {"type": "string"},
                           "credit": {"type": "string"},
                           "amount": {"type": "integer", "minimum": 0},
                           "memo": {"type": "string"}}}},
        "trial_balance": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {"debit": {"type": "integer"},
                                             "credit": {"type": "integer"},
                                             "net": {"type": "integer"}}}},
        "debits": {"type": "integer"}, "credits": {"type": "integer"},
        "balanced": {"type": "boolean"}}}

REPORT: Schema = {"type": "object", "required": ["report", "as_of", "rows"],
                  "properties": {"report": {"type": "string"}, "as_of": {"type": "string"},
                                 "rows": {"type": "array", "items": {"type": "object"}}}}

PRIVACY_REPORT: Schema = {
    "type": "object", "required": ["as_of", "accounts"],
    "properties": {"as_of": {"type": "string"}, "accounts": {"type": "array", "items": {
        "type": "object", "required": ["account", "personal_data", "deletion_requests"],
        "properties": {"account": {"type": "string"}, "personal_data": {"type": "string"},
                       "deletion_requests": {"type": "array"}}}}}}

EXPORT: Schema = {"type": "object", "required": ["fields", "processing_records"],
                  "description": "everything held about the customer (GDPR-4)",
                  "properties": {"fields": {"type": "object"},
                                 "invoice_identity": {"type": "object"},
                                 "processing_records": {"type": "array"}}}

FAILURE: Schema = {
    "type": "object", "description": "where a read model or consumer stopped, and why",
    "required": ["name", "position", "event_id", "error"],
    "properties": {"name": {"type": "string"}, "position": {"type": "integer"},
                   "event_id": {"type": "string"}, "topic": {"type": "string"},
                   "error": {"type": "string"}, "failed_at": {"type": "string"}}}
HEALTH: Schema = {"type": "object", "required": ["status"],
                  "properties": {"status": {"type": "string",
                                            "enum": ["ok", "degraded", "unavailable"]},
                                 "position": {"type": "integer"},
                                 "schema_version": {"type": ["integer", "null"]},
                                 "halted": {"type": "array", "items": FAILURE},
                                 "catch_up": {"type": ["object", "null"]},
                                 "detail": {"type": "string"}}}
