"""The forms an invoice document (`TAX-6`) is handed out in, one table for the CLI
(`--format`), the HTTP API (content negotiation) and the invoice email: JSON in the
ledger's output conventions, the Factur-X PDF, EN 16931 CII and UBL 2.1.

`invoice_pdf_port` is the composition root's side of the notice consumer's port
(`consumers.notifier.InvoicePdf`): consumers/ never imports infra, it is handed this
callable instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from consumers.email import Attachment
from infra.cli_output import plain
from infra.invoicing.en16931 import UntaxedDocumentError, render_cii, render_ubl
from infra.invoicing.pdf import render_pdf
from projections.invoice_document import InvoiceDocument, document_json

if TYPE_CHECKING:
    from consumers.notifier import InvoicePdf
    from infra.ledger import Ledger

__all__ = ["FORMATS", "Format", "UntaxedDocumentError", "filename", "invoice_pdf_port"]


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


def invoice_pdf_port(ledger: Ledger) -> InvoicePdf | None:
    """The invoice email's attachment (issue 17): the Factur-X PDF of invoice n as its
    InvoiceIssued event left it (the event's log position), so a redelivered notice
    carries the same document. None without a `[seller]`: no document can be made."""
    if ledger.seller is None:
        return None
    pdf = FORMATS["pdf"]

    def attachment(ref: str, n: int, position: int | None) -> Attachment:
        doc = ledger.invoice_document(ref, n, position=position)
        return Attachment(filename=filename(doc, pdf), content=pdf.render(doc),
                          media_type=pdf.media_type)

    return attachment
