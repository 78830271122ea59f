"""The OpenAPI document's JSON Schemas: command bodies and the answers' shapes.

A command's body is made from its declaration (`infra/interface/vocabulary.py`), whose
fields carry the schema of what their parser takes (`infra/interface/fields.py`: decimal
strings for amounts, UTC instants ending in Z, the vocabularies of terms, methods and
channels), and is validated by that parser alone, so the document and the rules cannot
disagree about what is refused.
"""

from __future__ import annotations

from infra.interface.fields import IDENTIFIER_PATTERN, INSTANT, TEXT_PATTERN, Schema, text
from infra.interface.vocabulary import Declaration

__all__ = ["IDENTIFIER_PATTERN", "INSTANT", "TEXT_PATTERN", "Schema", "body_schema", "text"]


def body_schema(declaration: Declaration) -> Schema:
    """The JSON body of a command: its declared fields not in the path, and `at`. An
    optional field may be null: the declaration's parser takes null as not given."""
    fields = [f for f in declaration.fields if f.name not in declaration.path_fields]
    properties = {
        f.name: f.schema if f.required else {"anyOf": [f.schema, {"type": "null"}]} for f in fields
    }
    properties["at"] = {
        **INSTANT,
        "description": "when it happened (default: now); at most a few minutes ahead of the server",
    }
    required = [f.name for f in fields if f.required]
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


STRING_OR_NULL: Schema = {"type": ["string", "null"]}
MONEY_TEXT: Schema = {"type": "string", "description": 'decimal amount, e.g. "12.00"'}

PROBLEM: Schema = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "description": "RFC 9457 problem details; `code` is the SPEC error code",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "required_scope": {"type": "string"},
        "halted": {"type": "array", "items": {"type": "object"}},
    },
}

STATE: Schema = {
    "type": "object",
    "required": ["status", "access", "balance", "invoices"],
    "description": "the observed account state (scenarios/FORMAT.md)",
    "properties": {
        "status": {"type": "string"},
        "plan": STRING_OR_NULL,
        "term": STRING_OR_NULL,
        "access": {"type": "boolean"},
        "access_until": STRING_OR_NULL,
        "balance": {"type": "object", "additionalProperties": MONEY_TEXT},
        "invoices": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["n", "amount", "status"],
                "properties": {
                    "n": {"type": "integer"},
                    "issued_at": {"type": "string"},
                    "due_at": STRING_OR_NULL,
                    "amount": MONEY_TEXT,
                    "paid": MONEY_TEXT,
                    "status": {"type": "string"},
                    "net": MONEY_TEXT,
                    "tax": MONEY_TEXT,
                    "tax_rate": {"type": "string", "description": "percent (TAX-1)"},
                    "tax_category": {"type": ["string", "null"], "enum": ["S", "AE", "O", None]},
                    "kind": {"type": "string", "enum": ["term", "prepaid", "proration"]},
                },
            },
        },
        "refunds": {"type": "array", "items": {"type": "object"}},
        "notices": {"type": "array", "items": {"type": "object"}},
        "privacy": {"type": "object"},
        "scheduled_change": {
            "type": ["object", "null"],
            "description": "a downgrade or term change waiting for the next renewal (CHANGE-3)",
            "properties": {
                "plan": {"type": "string"},
                "term": {"type": "string"},
                "at": {"type": "string"},
            },
        },
        "suspension": {"type": ["string", "null"], "enum": ["vendor", "payment", None]},
        "export_until": {
            **STRING_OR_NULL,
            "description": "the end of a vendor termination's export window",
        },
    },
}

RECEIPT: Schema = {
    "type": "object",
    "required": ["ok", "command", "at", "recorded"],
    "description": "what the command did: `recorded` is false for a repeat that changed "
    "nothing (a payment reference already booked)",
    "properties": {
        "ok": {"const": True},
        "command": {"type": "string"},
        "account": {"type": "string"},
        "at": {"type": "string"},
        "recorded": {"type": "boolean"},
        "detail": {"type": "object"},
        "status": {"type": "string"},
        "access": {"type": "boolean"},
    },
}

EVENTS: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["version", "event", "recorded_at", "fields"],
        "properties": {
            "version": {"type": "integer"},
            "event": {"type": "string"},
            "at": STRING_OR_NULL,
            "recorded_at": {"type": "string"},
            "fields": {"type": "object"},
        },
    },
}

HISTORY: Schema = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["position", "version", "event", "status"],
        "properties": {
            "position": {"type": "integer"},
            "version": {"type": "integer"},
            "event": {"type": "string"},
            "at": STRING_OR_NULL,
            "recorded_at": {"type": "string"},
            "status": {"type": "string"},
            "access": {"type": "boolean"},
            "outstanding": {"type": "string"},
        },
    },
}

INVOICES: Schema = {
    "type": "object",
    "required": ["account", "invoices"],
    "properties": {"account": {"type": "string"}, "invoices": STATE["properties"]["invoices"]},
}

JOURNAL: Schema = {
    "type": "object",
    "required": ["lines", "trial_balance", "debits", "credits", "balanced"],
    "description": "double-entry lines in minor units, and the trial balance they make",
    "properties": {
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["debit", "credit", "amount"],
                "properties": {
                    "position": {"type": ["integer", "null"]},
                    "line": {"type": "integer"},
                    "account": {"type": "string"},
                    "at": {"type": "string"},
                    "debit": {"type": "string"},
                    "credit": {"type": "string"},
                    "amount": {"type": "integer", "minimum": 0},
                    "memo": {"type": "string"},
                },
            },
        },
        "trial_balance": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "debit": {"type": "integer"},
                    "credit": {"type": "integer"},
                    "net": {"type": "integer"},
                },
            },
        },
        "debits": {"type": "integer"},
        "credits": {"type": "integer"},
        "balanced": {"type": "boolean"},
    },
}

REPORT: Schema = {
    "type": "object",
    "required": ["report", "as_of", "rows"],
    "properties": {
        "report": {"type": "string"},
        "as_of": {"type": "string"},
        "rows": {"type": "array", "items": {"type": "object"}},
    },
}

PRIVACY_REPORT: Schema = {
    "type": "object",
    "required": ["as_of", "accounts"],
    "properties": {
        "as_of": {"type": "string"},
        "accounts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["account", "personal_data", "deletion_requests"],
                "properties": {
                    "account": {"type": "string"},
                    "personal_data": {"type": "string"},
                    "deletion_requests": {"type": "array"},
                },
            },
        },
    },
}

EXPORT: Schema = {
    "type": "object",
    "required": ["fields", "processing_records"],
    "description": "everything held about the customer (GDPR-4)",
    "properties": {
        "fields": {"type": "object"},
        "invoice_identity": {"type": "object"},
        "processing_records": {"type": "array"},
    },
}

FAILURE: Schema = {
    "type": "object",
    "description": "where a read model or consumer stopped, and why",
    "required": ["name", "position", "event_id", "error"],
    "properties": {
        "name": {"type": "string"},
        "position": {"type": "integer"},
        "event_id": {"type": "string"},
        "topic": {"type": "string"},
        "error": {"type": "string"},
        "failed_at": {"type": "string"},
    },
}
HEALTH: Schema = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
        "position": {"type": "integer"},
        "schema_version": {"type": ["integer", "null"]},
        "halted": {"type": "array", "items": FAILURE},
        "catch_up": {"type": ["object", "null"]},
        "detail": {"type": "string"},
    },
}
