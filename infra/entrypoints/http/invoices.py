"""The invoice documents over HTTP (SPEC `TAX-6`): `GET /accounts/{account}/invoices/{n}`
and `.../credit-notes/{k}`, in the forms the CLI's `subledger invoice` gives.

The form is negotiated: `Accept: application/json` (the default, also for `*/*`),
`application/pdf` (the Factur-X PDF, EN 16931 CII embedded) or `application/xml` /
`text/xml` (the EN 16931 CII alone); the `format` query parameter (json, pdf, cii, ubl)
names one outright, which is how UBL 2.1 (also `application/xml`) is asked for, and must
still be acceptable to the Accept header when one is sent. Refusals are problems: 404
`unknown_account` / `unknown_invoice`, 406 `not_acceptable` (no form the client accepts)
or `untaxed_document` (CII/UBL of a document issued without a tax table: EN 16931 needs a
VAT category), 503 `seller_not_configured` (no `[seller]`: nobody to name as issuer).
A query: it reads, records nothing, and needs the `read` scope.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures at runtime.
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import quote

import mimeparse
import orjson
from fastapi import FastAPI, Header, Path, Query
from starlette.responses import Response

from infra.application.ledger import Ledger
from infra.entrypoints.http import schemas
from infra.entrypoints.http.problems import MEDIA_TYPE, problem
from infra.interface.invoicing.formats import FORMATS, Format, UntaxedDocumentError, filename
from infra.interface.presenter import plain
from projections.invoice_document import (
    InvoiceDocument,
    SellerNotConfiguredError,
    document_json,
)

# what Accept can choose, in rising preference: ties (*/*, application/*) go to JSON
NEGOTIABLE = {
    "text/xml": "cii",
    "application/xml": "cii",
    "application/pdf": "pdf",
    "application/json": "json",
}
FormatName = Literal["json", "pdf", "cii", "ubl"]

_TOTALS = {"net": schemas.MONEY_TEXT, "tax": schemas.MONEY_TEXT, "gross": schemas.MONEY_TEXT}
_REF: schemas.Schema = {
    "type": "object",
    "required": ["number", "type_code", "issued_at", "gross"],
    "properties": {
        "number": {"type": "string"},
        "type_code": {"type": "string"},
        "issued_at": {"type": "string"},
        **_TOTALS,
    },
}
INVOICE_DOCUMENT: schemas.Schema = {
    "type": "object",
    "description": "the invoice or credit note document (TAX-6); amounts are decimal "
    "strings, instants ISO-8601 UTC",
    "required": [
        "type",
        "type_code",
        "number",
        "account",
        "issued_at",
        "currency",
        "seller",
        "buyer",
        "lines",
        "vat_breakdown",
        "totals",
        "credit_notes",
        "paid",
        "refunded",
        "credited",
        "amount_due",
        "taxed",
    ],
    "properties": {
        "type": {"type": "string", "enum": ["invoice", "credit_note"]},
        "type_code": {
            "type": "string",
            "enum": ["380", "381"],
            "description": "UNTDID 1001: 380 invoice, 381 credit note",
        },
        "number": {"type": "string"},
        "account": {"type": "string"},
        "issued_at": {"type": "string"},
        "due_at": schemas.STRING_OR_NULL,
        "currency": {"type": "string"},
        "seller": {
            "type": "object",
            "required": ["name", "address", "vat_id"],
            "properties": {
                "name": {"type": "string"},
                "address": {"type": "string"},
                "vat_id": {"type": "string"},
                "country": schemas.STRING_OR_NULL,
                "iban": schemas.STRING_OR_NULL,
            },
        },
        "buyer": {
            "type": "object",
            "required": ["name", "erased"],
            "description": "the invoice identity when the invoice was issued; name "
            '"erased" once GDPR-3 erased it',
            "properties": {
                "name": {"type": "string"},
                "address": schemas.STRING_OR_NULL,
                "country": schemas.STRING_OR_NULL,
                "vat_id": schemas.STRING_OR_NULL,
                "erased": {"type": "boolean"},
            },
        },
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "quantity", "net", "tax"],
                "properties": {
                    "name": {"type": "string"},
                    "period_start": schemas.STRING_OR_NULL,
                    "period_end": schemas.STRING_OR_NULL,
                    "quantity": {"type": "integer"},
                    "net": schemas.MONEY_TEXT,
                    "tax_category": schemas.STRING_OR_NULL,
                    "tax_rate": schemas.STRING_OR_NULL,
                    "tax": schemas.MONEY_TEXT,
                    "note": schemas.STRING_OR_NULL,
                },
            },
        },
        "vat_breakdown": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["category", "rate", "taxable", "tax"],
                "properties": {
                    "category": {"type": "string"},
                    "rate": {"type": "string"},
                    "taxable": schemas.MONEY_TEXT,
                    "tax": schemas.MONEY_TEXT,
                    "exemption_code": schemas.STRING_OR_NULL,
                    "exemption_reason": schemas.STRING_OR_NULL,
                },
            },
        },
        "totals": {"type": "object", "required": list(_TOTALS), "properties": _TOTALS},
        "mentions": {"type": "array", "items": {"type": "string"}},
        "credit_notes": {"type": "array", "items": _REF},
        "corrects": {"anyOf": [_REF, {"type": "null"}]},
        "paid": schemas.MONEY_TEXT,
        "refunded": schemas.MONEY_TEXT,
        "credited": schemas.MONEY_TEXT,
        "amount_due": schemas.MONEY_TEXT,
        "status": schemas.STRING_OR_NULL,
        "payment": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "taxed": {"type": "boolean", "description": "false without a tax table: no CII/UBL"},
    },
}


def responses(auth_problems: Mapping[int | str, Any]) -> dict[int | str, Any]:
    """The OpenAPI answers: the document in each form, and the problems."""
    problems = {MEDIA_TYPE: {"schema": schemas.PROBLEM}}
    return {
        200: {
            "description": "the document, in the negotiated form",
            "headers": {
                "Content-Disposition": {
                    "schema": {"type": "string"},
                    "description": "inline, with the file name <number>.pdf, "
                    "<number>.cii.xml or <number>.ubl.xml",
                }
            },
            "content": {
                "application/json": {"schema": INVOICE_DOCUMENT},
                "application/pdf": {
                    "schema": {"type": "string", "format": "binary"},
                    "description": "Factur-X (EN 16931), PDF/A-3",
                },
                "application/xml": {
                    "schema": {"type": "string"},
                    "description": "EN 16931 CII, or UBL 2.1 with format=ubl",
                },
            },
        },
        404: {"description": "unknown_account or unknown_invoice", "content": problems},
        406: {
            "description": "not_acceptable: no form the Accept header allows; "
            "untaxed_document: no CII/UBL without a tax table",
            "content": problems,
        },
        503: {
            "description": "seller_not_configured: the configuration has no [seller]",
            "content": problems,
        },
        **auth_problems,
    }


def add_invoice_routes(
    app: FastAPI, ledger: Ledger, read: Any, auth_problems: Mapping[int | str, Any]
) -> None:
    """Registers the two document routes on the API (`infra.entrypoints.http.app`), `read` scope."""
    account_path = Annotated[str, Path(description="the account reference")]
    invoice_path = Annotated[int, Path(ge=1, description="the invoice number n")]
    format_query = Annotated[
        FormatName | None,
        Query(
            description="the form, whatever Accept prefers: json, pdf (Factur-X), cii "
            "(EN 16931 CII XML) or ubl (UBL 2.1 XML)"
        ),
    ]
    accept_header = Annotated[str | None, Header(include_in_schema=False)]
    options: dict[str, Any] = {
        "tags": ["queries"],
        "dependencies": [read],
        "responses": responses(auth_problems),
        "response_class": Response,
    }

    @app.get(
        "/accounts/{account}/invoices/{invoice}",
        **options,
        summary="Invoice n as its document (TAX-6): JSON, the Factur-X PDF "
        "(Accept: application/pdf), EN 16931 CII or UBL 2.1 XML",
    )
    def invoice_document(
        account: account_path,
        invoice: invoice_path,
        format: format_query = None,
        accept: accept_header = None,
    ) -> Response:
        return _answer(ledger, account, invoice, None, format, accept)

    @app.get(
        "/accounts/{account}/invoices/{invoice}/credit-notes/{credit_note}",
        **options,
        summary="The k-th credit note against invoice n as its own document (type "
        "381, TAX-4 split, TAX-6), in the same forms",
    )
    def credit_note_document(
        account: account_path,
        invoice: invoice_path,
        credit_note: Annotated[int, Path(ge=1, description="k: the k-th credit note, from 1")],
        format: format_query = None,
        accept: accept_header = None,
    ) -> Response:
        return _answer(ledger, account, invoice, credit_note, format, accept)


def _answer(
    ledger: Ledger,
    account: str,
    n: int,
    credit_note: int | None,
    wanted: str | None,
    accept: str | None,
) -> Response:
    form = negotiate(wanted, accept)
    if isinstance(form, Response):
        return form
    try:
        doc = ledger.invoice_document(account, n, credit_note)
    except SellerNotConfiguredError as e:
        return _problem(503, "seller_not_configured", str(e))
    if form.name == "json":
        return Response(
            orjson.dumps(plain(document_json(doc))),
            200,
            {"Vary": "Accept"},
            media_type=form.media_type,
        )
    try:
        body = form.render(doc)
    except UntaxedDocumentError as e:
        return _problem(
            406, "untaxed_document", f"{e}; the JSON and PDF forms exist", field="format"
        )
    return Response(
        body,
        200,
        {"Vary": "Accept", "Content-Disposition": _disposition(doc, form)},
        media_type=form.media_type,
    )


def negotiate(wanted: str | None, accept: str | None) -> Format | Response:
    """The form to answer in, or the 406 problem: `format` when given (if Accept allows
    its media type), else Accept's best choice; no Accept, or an empty one, is JSON."""
    accept = (accept or "").strip()
    try:
        if wanted is not None:
            form = FORMATS[wanted]
            if not accept or mimeparse.quality(form.media_type, accept) > 0:
                return form
        elif not accept:
            return FORMATS["json"]
        else:
            best = mimeparse.best_match(list(NEGOTIABLE), accept)
            if best:
                return FORMATS[NEGOTIABLE[best]]
    except (mimeparse.MimeTypeParseException, ValueError):
        pass
    offered = ", ".join(sorted(set(NEGOTIABLE) - {"text/xml"}))
    asked = f"format={wanted} ({FORMATS[wanted].media_type}) and " if wanted else ""
    return _problem(
        406,
        "not_acceptable",
        f"{asked}Accept: {accept!r} leave nothing to "
        f"answer with; the document comes as {offered} (format=ubl: UBL 2.1 "
        "as application/xml)",
        field="Accept",
    )


def _disposition(doc: InvoiceDocument, form: Format) -> str:
    """inline, with the file name; RFC 6266/8187 for a name that is not plain ASCII."""
    name = filename(doc, form)
    if name.isascii() and '"' not in name and "\\" not in name:
        return f'inline; filename="{name}"'
    return f"inline; filename*=UTF-8''{quote(name, safe='')}"


def _problem(status: int, code: str, detail: str, **extensions: Any) -> Response:
    return Response(
        orjson.dumps(problem(status, code, detail, **extensions)),
        status,
        {"Vary": "Accept"},
        media_type=MEDIA_TYPE,
    )
