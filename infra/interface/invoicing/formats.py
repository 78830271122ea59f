"""The forms an invoice document (`TAX-6`) is handed out in, one table for the CLI
(`--format`), the HTTP API (content negotiation) and the invoice email: JSON in the
ledger's output conventions, the Factur-X PDF, EN 16931 CII and UBL 2.1.

The invoice email's attachment is the PDF form, handed to the notice consumer by the
composition root (`infra.application.bootstrap.invoice_pdf_port`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from infra.interface.invoicing.en16931 import UntaxedDocumentError, render_cii, render_ubl
from infra.interface.invoicing.pdf import render_pdf
from infra.interface.presenter import plain
from projections.invoice_document import InvoiceDocument, document_json

__all__ = ["FORMATS", "Format", "UntaxedDocumentError", "filename"]


@dataclass(frozen=True, slots=True)
class Format:
    name: str  # as `--format` and `?format=` name it
    media_type: str
    suffix: str  # of the file name: <number><suffix>
    binary: bool  # not for a terminal
    render: Callable[[InvoiceDocument], bytes]


def _json(doc: InvoiceDocument) -> bytes:
    return orjson.dumps(plain(document_json(doc)), option=orjson.OPT_INDENT_2) + b"\n"


FORMATS: dict[str, Format] = {
    "json": Format("json", "application/json", ".json", False, _json),
    "pdf": Format("pdf", "application/pdf", ".pdf", True, render_pdf),
    "cii": Format("cii", "application/xml", ".cii.xml", False, render_cii),
    "ubl": Format("ubl", "application/xml", ".ubl.xml", False, render_ubl),
}


def filename(doc: InvoiceDocument, form: Format) -> str:
    """`SL-acme-1.pdf`; a number with a "/" (a prefix such as INV/2026/) is a file name
    with "-" instead."""
    return doc.number.replace("/", "-").replace("\\", "-") + form.suffix
