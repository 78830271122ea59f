"""TAX-6: the invoice document built from the seller config, the buyer's invoice identity
(or None once erased, GDPR-3) and one invoice record as the ledger gives it
(`account_view.invoice_record`). Exact cents for TAX-1 (tax once per document, half-up)
and TAX-4 (credit note split)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from account_kit import DEVICE_CLOUD, Harness
from invoice_kit import BUYERS, SELLER, SELLER_MINIMAL, invoice, taxed

from domain.tax import TaxTable
from projections.account_view import apply, invoice_record, new_doc
from projections.invoice_document import (
    CREDIT_NOTE,
    INVOICE,
    MENTIONS,
    Buyer,
    DocumentRef,
    InvoiceDocumentError,
    Totals,
    VatBreakdown,
    build_credit_note_document,
    build_invoice_document,
    document_json,
    document_number,
    last_day,
)

B2C_FR = {"name": "Jeanne Martin", "address": "3 rue Sainte-Catherine, 33000 Bordeaux"}
CN_AT = "2026-04-01T00:00:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def build(
    inv: dict[str, Any],
    buyer: dict[str, Any] | None = BUYERS["BE"],
    seller: dict[str, Any] = SELLER,
    **kwargs: Any,
) -> Any:
    return build_invoice_document(seller, buyer, inv, account="acme", currency="EUR", **kwargs)


# (invoice, buyer) -> net, tax, gross in cents, category, rate, mention
EXACT_CENTS = {
    "TAX-2a domestic S 21 %": (
        taxed("1000.00", "210.00", "1210.00", "21", "S", "BE"),
        BUYERS["BE"],
        100000,
        21000,
        121000,
        "S",
        "21",
        None,
    ),
    "TAX-1 domestic S 21 %, half a cent rounds up": (
        taxed("12.50", "2.63", "15.13", "21", "S", "BE"),
        BUYERS["BE"],
        1250,
        263,
        1513,
        "S",
        "21",
        None,
    ),
    "TAX-2b reverse charge AE 0 %": (
        taxed("1000.00", "0.00", "1000.00", "0", "AE", "FR"),
        BUYERS["FR"],
        100000,
        0,
        100000,
        "AE",
        "0",
        MENTIONS["AE"],
    ),
    "TAX-2d outside the scope O": (
        taxed("1000.00", "0.00", "1000.00", "0", "O", "NO"),
        BUYERS["NO"],
        100000,
        0,
        100000,
        "O",
        "0",
        MENTIONS["O"],
    ),
    "TAX-1 rate 5.5 %: 16.5 cents rounds half-up to 17": (
        taxed("3.00", "0.17", "3.17", "5.5", "S", "FR"),
        B2C_FR,
        300,
        17,
        317,
        "S",
        "5.5",
        None,
    ),
}


@pytest.mark.parametrize(
    ("inv", "buyer", "net", "tax", "gross", "category", "rate", "mention"),
    EXACT_CENTS.values(),
    ids=EXACT_CENTS.keys(),
)
def test_invoice_document_exact_cents(
    inv: dict[str, Any],
    buyer: dict[str, Any],
    net: int,
    tax: int,
    gross: int,
    category: str,
    rate: str,
    mention: str | None,
) -> None:
    """TAX-1/TAX-2/TAX-6: lines, VAT breakdown, totals and mention, to the cent."""
    doc = build(inv, buyer)
    assert doc.type_code == INVOICE
    assert doc.number == "SL-acme-1"
    assert doc.issued_at == at("2026-03-02T10:00:00Z")
    assert doc.due_at == at("2026-03-16T10:00:00Z")
    assert doc.totals == Totals(net=net, tax=tax, gross=gross)
    (line,) = doc.lines
    assert (line.net, line.tax, line.tax_category, line.tax_rate) == (net, tax, category, rate)
    assert line.name == "Subscription: basic plan, annual term"
    reason = {
        "AE": ("VATEX-EU-AE", "Reverse charge"),
        "O": ("VATEX-EU-O", "Not subject to VAT"),
    }.get(category, (None, None))
    assert doc.vat_breakdown == (VatBreakdown(category, rate, net, tax, *reason),)
    assert doc.mentions == (() if mention is None else (mention,))
    assert doc.reverse_charge is (category == "AE")
    assert (doc.paid, doc.credited, doc.amount_due) == (0, 0, gross)
    assert doc.taxed


def test_tax_must_be_tax1s_half_up_not_half_even() -> None:
    """TAX-1: 3.00 at 5.5 % is 0.17; a ledger saying 0.16 (half-even) gets no document."""
    with pytest.raises(InvoiceDocumentError, match="TAX-1"):
        build(taxed("3.00", "0.16", "3.16", "5.5", "S", "FR"), B2C_FR)


def test_the_builder_takes_the_ledgers_record_as_it_is() -> None:
    """Issue 17: the builder's input is `account_view.invoice_record` itself. A real
    device-cloud account (FR consumer, 5.5 %) cancelled in its 4th started month
    (CANCEL-3): 50.00 + 2.75 issued, a credit note of 31.63 split 29.98 + 1.65 (TAX-4)."""
    h = Harness(
        DEVICE_CLOUD,
        "2026-01-20T08:00:00Z",
        country="FR",
        tax=TaxTable.parse({"seller_country": "BE", "rates": {"BE": "21", "FR": "5.5"}}),
    )
    h.do("subscribe", plan="cloud", term="annual", method="card", at="2026-01-20T08:00:00Z")
    h.do("request_cancellation", at="2026-04-25T00:00:00Z")
    view = new_doc(h.ref)
    for event in h.events:
        apply(view, event)
    record = invoice_record(view, 1)
    assert record is not None
    assert set(record) == set(invoice()), "the kit's records have the ledger's shape"
    doc = build(record, BUYERS["FR"])
    assert doc.totals == Totals(net=5000, tax=275, gross=5275)
    assert doc.credit_notes == (
        DocumentRef(
            number="SL-acme-1-C1",
            type_code=CREDIT_NOTE,
            issued_at=at("2026-04-25T00:00:00Z"),
            totals=Totals(net=2998, tax=165, gross=3163),
        ),
    )
    assert (doc.lines[0].tax_category, doc.lines[0].tax_rate) == ("S", "5.5")
    assert doc.lines[0].name == "Subscription: cloud plan, annual term"
    # 52.75 paid by card, 31.63 of it refunded: 21.12 kept, nothing due
    assert (doc.paid, doc.refunded, doc.credited, doc.amount_due, doc.status) == (
        2112,
        3163,
        3163,
        0,
        "paid",
    )
    note = build_credit_note_document(
        SELLER, BUYERS["FR"], record, 1, account="acme", currency="EUR"
    )
    assert note.totals == Totals(net=2998, tax=165, gross=3163)
    assert note.lines[0].note == (
        "Cancelled during the term: the months not started are credited (CANCEL-3)."
    )


def with_credit_note(paid: str = "0.00") -> dict[str, Any]:
    """A 1210.00 invoice after a credit note of gross 210.00 (TAX-4: tax 36.45 = half-up of
    210.00 x 21 / 121, net 173.55): the record keeps 1000.00 = 826.45 + 173.55."""
    return taxed(
        "826.45",
        "173.55",
        "1000.00",
        "21",
        "S",
        "BE",
        paid=paid,
        issued={"amount": "1210.00", "net": "1000.00", "tax": "210.00"},
        credit_notes=[
            {
                "amount": "210.00",
                "net": "173.55",
                "tax": "36.45",
                "at": CN_AT,
                "reason": "CANCEL-3 refund",
            }
        ],
    )


@pytest.mark.parametrize(("paid", "due"), [("0.00", 100000), ("400.00", 60000), ("1000.00", 0)])
def test_invoice_shows_itself_as_issued_and_its_credit_notes_apart(paid: str, due: int) -> None:
    """TAX-6 "credit notes against it, and what has been paid": the lines and totals are
    the invoice as issued; the credit note is listed with its own split; amount due =
    gross - credited - paid."""
    doc = build(with_credit_note(paid))
    assert doc.totals == Totals(net=100000, tax=21000, gross=121000)
    assert doc.credit_notes == (
        DocumentRef(
            number="SL-acme-1-C1",
            type_code=CREDIT_NOTE,
            issued_at=at(CN_AT),
            totals=Totals(net=17355, tax=3645, gross=21000),
        ),
    )
    assert doc.credited == 21000
    assert doc.amount_due == due


def test_credit_note_is_its_own_document_381() -> None:
    """TAX-4/TAX-6: the credit note, type 381, its own split, the invoice it corrects."""
    note = build_credit_note_document(
        SELLER, BUYERS["BE"], with_credit_note(), 1, account="acme", currency="EUR"
    )
    assert (note.type_code, note.number, note.is_credit_note) == (CREDIT_NOTE, "SL-acme-1-C1", True)
    assert note.issued_at == at(CN_AT)
    assert note.totals == Totals(net=17355, tax=3645, gross=21000)
    assert note.vat_breakdown == (VatBreakdown("S", "21", 17355, 3645, None, None),)
    assert note.corrects == DocumentRef(
        number="SL-acme-1",
        type_code=INVOICE,
        issued_at=at("2026-03-02T10:00:00Z"),
        totals=Totals(net=100000, tax=21000, gross=121000),
    )
    (line,) = note.lines
    assert line.name == "Credit on invoice SL-acme-1: Subscription: basic plan, annual term"
    assert line.note == "CANCEL-3 refund"  # a reason the ledger has no words for: as given
    assert (note.payment, note.due_at, note.credit_notes, note.amount_due) == (None, None, (), 0)


def test_credit_note_split_must_follow_tax4() -> None:
    """TAX-4: tax in a credit note of 210.00 at 21 % is 36.45, not 36.44."""
    inv = with_credit_note()
    inv["credit_notes"][0].update(net=17356, tax=3644)
    inv.update(net=82644, tax=17356)
    with pytest.raises(InvoiceDocumentError, match="TAX-4"):
        build(inv)


def test_credit_note_that_voids_the_invoice_takes_what_it_still_carries() -> None:
    """TAX-4 as `domain.tax.credit_split` applies it: 0.10 net at 5.5 % is 0.01 VAT, 0.11
    owed. A first note of 0.05 carries no VAT (0.26 cent); the second, 0.06, takes the
    invoice to zero, so it takes the 0.05 net and 0.01 VAT left, not round(0.06 x 5.5 /
    105.5) = 0.00: the document accepts the ledger's split and shows it."""
    inv = taxed(
        "0.00",
        "0.00",
        "0.00",
        "5.5",
        "S",
        "FR",
        status="void",
        void=True,
        issued={"amount": "0.11", "net": "0.10", "tax": "0.01"},
        credit_notes=[
            {"amount": "0.05", "net": "0.05", "tax": "0.00", "at": CN_AT},
            {"amount": "0.06", "net": "0.05", "tax": "0.01", "at": CN_AT},
        ],
    )
    doc = build(inv, B2C_FR)
    assert [note.totals for note in doc.credit_notes] == [Totals(5, 0, 5), Totals(5, 1, 6)]
    assert (doc.totals, doc.credited, doc.amount_due) == (Totals(10, 1, 11), 11, 0)
    inv["credit_notes"][1].update(net=6, tax=0)  # the per-note formula alone: refused
    with pytest.raises(InvoiceDocumentError, match="TAX-4"):
        build(inv, B2C_FR)


def test_erased_buyer_shows_erased_and_changes_nothing_else() -> None:
    """GDPR-3/TAX-6: after the invoice identity is erased the buyer reads "erased"; the
    country recorded in clear stays, every amount, date and number is unchanged."""
    inv = taxed("1000.00", "0.00", "1000.00", "0", "AE", "FR")
    kept = build(inv, BUYERS["FR"])
    erased = build(inv, None)
    assert erased.buyer == Buyer(
        name="erased", address=None, country="FR", vat_id=None, erased=True
    )
    assert dataclasses.replace(erased, buyer=kept.buyer) == kept


def test_seller_with_only_name_address_vat_id() -> None:
    """Issue 17: no iban, no invoice_prefix: number `<account>-<n>`, no payment
    instructions; the country comes from the VAT id's prefix."""
    doc = build(taxed("1000.00", "210.00", "1210.00", "21", "S", "BE"), seller=SELLER_MINIMAL)
    assert doc.number == "acme-1"
    assert doc.payment is None
    assert doc.seller.iban is None
    assert doc.seller.country == "BE"


def test_payment_instructions_with_an_iban() -> None:
    doc = build(taxed("1000.00", "210.00", "1210.00", "21", "S", "BE"))
    assert doc.payment is not None
    assert (doc.payment.means_code, doc.payment.iban, doc.payment.reference) == (
        "58",
        "BE71096123456769",
        "SL-acme-1",
    )


@pytest.mark.parametrize(
    ("seller", "seller_country", "country"),
    [
        ({"vat_id": "BE0403170701"}, None, "BE"),
        ({"vat_id": "EL094259216"}, None, "GR"),  # Greece writes EL in VAT ids
        ({"vat_id": "BE0403170701"}, "NL", "NL"),  # [tax] seller_country wins over the prefix
        ({"vat_id": "BE0403170701", "country": "LU"}, "NL", "LU"),
        ({"vat_id": "123456789"}, None, None),
    ],
)
def test_seller_country(
    seller: dict[str, Any], seller_country: str | None, country: str | None
) -> None:
    full = {**SELLER_MINIMAL, **seller}
    doc = build(
        taxed("1000.00", "210.00", "1210.00", "21", "S", "BE"),
        seller=full,
        seller_country=seller_country,
    )
    assert doc.seller.country == country


def test_without_a_tax_table_the_document_is_untaxed() -> None:
    """SPEC section 9 without a table: net = amount, tax 0, and no VAT category, rate or
    breakdown is invented; a credit note is all net."""
    inv = invoice(
        amount="800.00",
        net="800.00",
        issued={"amount": "1000.00", "net": "1000.00", "tax": "0.00"},
        credit_notes=[
            {"amount": "200.00", "net": "200.00", "tax": "0.00", "at": CN_AT, "reason": "CANCEL-3"}
        ],
    )
    doc = build(inv)
    assert not doc.taxed
    assert doc.totals == Totals(net=100000, tax=0, gross=100000)
    assert (doc.lines[0].tax_category, doc.lines[0].tax_rate, doc.lines[0].tax) == (None, None, 0)
    assert (doc.vat_breakdown, doc.mentions) == ((), ())
    assert doc.credit_notes[0].totals == Totals(net=20000, tax=0, gross=20000)
    assert doc.amount_due == 80000


@pytest.mark.parametrize(
    ("inv", "message"),
    [
        (taxed("1000.00", "210.00", "1200.00", "21", "S", "BE"), "net 100000 \\+ tax 21000"),
        (
            invoice(net="1000.00", tax="210.00", amount="1210.00", tax_category="S", tax_rate=None),
            "needs its tax_rate",
        ),
        (taxed("1000.00", "0.00", "1000.00", "21", "AE", "FR"), "AE and O are 0 %"),
        (taxed("1000.00", "0.00", "1000.00", "0", "S", "BE"), "S is above 0 %"),
        (taxed("1000.00", "0.00", "1000.00", "0", "Z", "BE"), "not one of S, AE, O"),
        (
            {**taxed("1000.00", "210.00", "1210.00", "21", "S", "BE"), "reverse_charge": True},
            "reverse_charge",
        ),
        (invoice(tax_rate="21"), "needs a tax_category"),
        (invoice(issued_at="2026-03-02T10:00:00+01:00"), "UTC"),
        (invoice(amount=1000.0), "not an amount in minor units"),
        ({**invoice(), "amount": "1000.00"}, "not an amount in minor units"),
        (invoice(n=0), "positive integer"),
        (
            invoice(
                amount="990.00",
                net="990.00",
                issued={"amount": "1000.00", "net": "1000.00", "tax": "0.00"},
            ),
            "amount 99000 is not 100000 as issued less 0 credited",
        ),
        ({**with_credit_note(), "issued": None}, "no amount, net and tax"),
    ],
)
def test_refuses_what_would_make_a_false_document(inv: dict[str, Any], message: str) -> None:
    with pytest.raises(InvoiceDocumentError, match=message):
        build(inv)


def test_seller_needs_name_address_vat_id() -> None:
    with pytest.raises(InvoiceDocumentError, match="vat_id"):
        build(invoice(), seller={"name": "X", "address": "Y"})


def test_credit_note_number_out_of_range() -> None:
    with pytest.raises(InvoiceDocumentError, match="no credit note 2"):
        build_credit_note_document(
            SELLER, BUYERS["BE"], with_credit_note(), 2, account="acme", currency="EUR"
        )


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({}, "Subscription: basic plan, annual term"),
        ({"kind": "prepaid", "term": "prepaid_3"}, "Subscription: basic plan, prepaid, 3 months"),
        ({"kind": "prepaid", "term": None}, "Subscription: basic plan, prepaid"),
        ({"kind": "prepaid", "term": "prepaid"}, "Subscription: basic plan, prepaid"),
        (
            {"kind": "proration", "plan": "pro"},
            "Subscription: pro plan, annual term: plan change, prorated difference",
        ),
        ({"plan": None, "term": None}, "Subscription (term invoice)"),
    ],
)
def test_line_says_what_was_sold(fields: dict[str, Any], name: str) -> None:
    assert build(invoice(**fields)).lines[0].name == name


@pytest.mark.parametrize(
    ("prefix", "number"),
    [
        (None, "acme-7"),
        ("", "acme-7"),
        ("EX", "EX-acme-7"),
        ("SL-", "SL-acme-7"),
        ("INV/2026/", "INV/2026/acme-7"),
        ("A.", "A.acme-7"),
        ("A_", "A_acme-7"),
    ],
)
def test_document_number(prefix: str | None, number: str) -> None:
    """TAX-6 `<account>-<n>`, after the configured `invoice_prefix` ("EX" reads EX-<account>
    -<n>, as the config template says) with no doubled separator."""
    assert document_number({"invoice_prefix": prefix}, "acme", 7) == number


@pytest.mark.parametrize(
    ("end", "last"),
    [
        ("2027-03-02T10:00:00Z", date(2027, 3, 2)),
        ("2026-04-01T00:00:00Z", date(2026, 3, 31)),  # a period ending at midnight
    ],
)
def test_period_end_is_exclusive(end: str, last: date) -> None:
    assert last_day(at(end)) == last
    assert build(invoice(period_end=end)).lines[0].period_end == at(end).astimezone(UTC)


@pytest.mark.parametrize(
    ("rate", "text", "tax", "amount"),
    [
        ("21.00", "21", "210.00", "1210.00"),
        ("5.50", "5.5", "55.00", "1055.00"),
        (21, "21", "210.00", "1210.00"),
    ],
)
def test_rate_is_the_exact_decimal_without_trailing_zeros(
    rate: object, text: str, tax: str, amount: str
) -> None:
    """FORMAT: `tax_rate` is the percent with no trailing zeros ("21", "5.5", "0")."""
    doc = build({**taxed("1000.00", tax, amount, "21", "S", "BE"), "tax_rate": rate})
    assert doc.lines[0].tax_rate == text


def test_json_form_of_the_invoice_document() -> None:
    """TAX-6 `--format json`: section 0's output conventions (amounts "1210.00", instants
    with Z), everything the page shows."""
    out = document_json(build(with_credit_note(paid="400.00")))
    assert json.loads(json.dumps(out)) == out
    assert {
        key: out[key]
        for key in (
            "type",
            "type_code",
            "number",
            "issued_at",
            "due_at",
            "currency",
            "paid",
            "refunded",
            "credited",
            "amount_due",
            "taxed",
        )
    } == {
        "type": "invoice",
        "type_code": "380",
        "number": "SL-acme-1",
        "issued_at": "2026-03-02T10:00:00Z",
        "due_at": "2026-03-16T10:00:00Z",
        "currency": "EUR",
        "paid": "400.00",
        "refunded": "0.00",
        "credited": "210.00",
        "amount_due": "600.00",
        "taxed": True,
    }
    assert out["totals"] == {"net": "1000.00", "tax": "210.00", "gross": "1210.00"}
    assert out["lines"] == [
        {
            "name": "Subscription: basic plan, annual term",
            "period_start": "2026-03-02T10:00:00Z",
            "period_end": "2027-03-02T10:00:00Z",
            "quantity": 1,
            "net": "1000.00",
            "tax_category": "S",
            "tax_rate": "21",
            "tax": "210.00",
            "note": None,
        }
    ]
    assert out["vat_breakdown"] == [
        {
            "category": "S",
            "rate": "21",
            "taxable": "1000.00",
            "tax": "210.00",
            "exemption_code": None,
            "exemption_reason": None,
        }
    ]
    assert out["credit_notes"] == [
        {
            "number": "SL-acme-1-C1",
            "type_code": "381",
            "issued_at": CN_AT,
            "net": "173.55",
            "tax": "36.45",
            "gross": "210.00",
        }
    ]
    assert out["buyer"] == {
        "name": "Antwerp NV",
        "address": "Meir 1\n2000 Antwerpen",
        "country": "BE",
        "vat_id": None,
        "erased": False,
    }
    assert out["payment"] == {
        "means_code": "58",
        "iban": "BE71096123456769",
        "reference": "SL-acme-1",
    }
    assert out["corrects"] is None


def test_json_form_of_a_credit_note_names_its_invoice() -> None:
    out = document_json(
        build_credit_note_document(
            SELLER, None, with_credit_note(), 1, account="acme", currency="EUR"
        )
    )
    assert (out["type"], out["number"], out["amount_due"], out["payment"]) == (
        "credit_note",
        "SL-acme-1-C1",
        "0.00",
        None,
    )
    assert out["corrects"] == {
        "number": "SL-acme-1",
        "type_code": "380",
        "issued_at": "2026-03-02T10:00:00Z",
        "net": "1000.00",
        "tax": "210.00",
        "gross": "1210.00",
    }
    assert out["buyer"] == {
        "name": "erased",
        "address": None,
        "country": "BE",
        "vat_id": None,
        "erased": True,
    }
