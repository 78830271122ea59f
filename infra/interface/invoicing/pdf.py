"""The invoice PDF: the page a person reads, made a Factur-X invoice (profile EN 16931) by
embedding the CII XML as `factur-x.xml` in the PDF/A-3 with the `factur-x` library.

`factur-x` attaches the XML (AFRelationship Data), writes the XMP metadata that declares
PDF/A-3B and the Factur-X conformance level, and checks the XML against its XSD again.
An untaxed document (no tax table, see `projections.invoice_document`) has no EN 16931
XML: its PDF is the page alone, still PDF/A-3B.
"""

from __future__ import annotations

import facturx

from infra.interface.invoicing.en16931 import LEVEL, render_cii
from infra.interface.invoicing.page import day, render_page
from projections.invoice_document import InvoiceDocument

ATTACHMENT = "factur-x.xml"


def render_pdf(doc: InvoiceDocument) -> bytes:
    page = render_page(doc)
    if not doc.taxed:
        return page
    kind = "Credit note" if doc.is_credit_note else "Invoice"
    metadata = {
        "author": doc.seller.name,
        "keywords": f"Factur-X, {kind}",
        "title": f"{doc.seller.name}: {kind} {doc.number}",
        "subject": f"Factur-X {kind.lower()} {doc.number} dated {day(doc.issued_at)} "
        f"issued by {doc.seller.name}",
    }
    pdf: bytes = facturx.generate_from_binary(
        page,
        render_cii(doc),
        flavor="factur-x",
        level=LEVEL,
        check_xsd=True,
        check_schematron=False,
        pdf_metadata=metadata,
        lang="en",
    )
    return pdf


def embedded_xml(pdf: bytes) -> bytes | None:
    """The Factur-X XML inside a PDF (checked against its XSD), or None."""
    _name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True, filenames=[ATTACHMENT])
    return xml or None
