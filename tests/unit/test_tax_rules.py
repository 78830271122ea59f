"""SPEC section 9 (TAX-1..TAX-5) against the pure `Account` aggregate, in exact cents.

The table is {seller BE: BE 21, NL 21, FR 5.5, DE 19}; catalog prices are net. Each test
names the rule it checks; amounts are minor units, computed by hand from SPEC.md.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from account_kit import ANNUAL_B2B, DEVICE_CLOUD, MONTHLY_AUTORENEW, Harness, t

from domain.account import Account
from domain.errors import ErrorCode, Rejected
from domain.tax import TaxTable
from projections.account_view import apply, invoice_record, new_doc, observe
from projections.journal import VAT_PAYABLE, postings_for

T0 = "2026-01-05T09:00:00Z"
TABLE = TaxTable.parse(
    {"seller_country": "BE", "rates": {"BE": "21", "NL": "21", "FR": "5.5", "DE": "19"}}
)


def taxed(
    profile: Any = MONTHLY_AUTORENEW,
    country: str | None = "BE",
    vat_registered: bool = False,
    at: str = T0,
    **kwargs: Any,
) -> Harness:
    return Harness(profile, at, tax=TABLE, country=country, vat_registered=vat_registered, **kwargs)


def doc_of(h: Harness) -> dict[str, Any]:
    doc = new_doc(h.ref)
    for event in h.events:
        apply(doc, event)
    return doc


def view(h: Harness) -> dict[str, Any]:
    return observe(doc_of(h), None)


def issued(h: Harness, n: int) -> Any:
    return next(e for e in h.named("InvoiceIssued") if e.n == n)


# ---------------------------------------------------------------- TAX-1, TAX-2
def test_tax_1_domestic_invoice_is_net_plus_tax() -> None:
    """TAX-1, TAX-2 (a): a Belgian customer of a Belgian seller, annual-b2b 1200.00 net:
    252.00 VAT, 1452.00 owed; the document records its terms and the country in clear."""
    h = taxed(ANNUAL_B2B)
    h.do("subscribe", plan="b2b", term="annual", method="bank_transfer", at=T0)
    e = issued(h, 1)
    assert (e.list_price, e.discount, e.net, e.tax, e.amount) == (120000, 0, 120000, 25200, 145200)
    assert (e.tax_rate, e.tax_category, e.country, e.plan, e.term) == (
        "21",
        "S",
        "BE",
        "b2b",
        "annual",
    )
    assert view(h)["invoices"] == [
        {
            "n": 1,
            "issued_at": T0,
            "due_at": "2026-01-19T09:00:00Z",
            "amount": "1452.00",
            "paid": "0.00",
            "status": "open",
            "net": "1200.00",
            "tax": "252.00",
            "tax_rate": "21",
            "tax_category": "S",
            "kind": "term",
        }
    ]
    assert view(h)["balance"]["invoiced"] == "1452.00"


@pytest.mark.parametrize(
    ("country", "vat_registered", "rate", "category", "tax"),
    [
        ("BE", False, "21", "S", 609),  # (a)
        ("NL", True, "0", "AE", 0),  # (b) reverse charge
        ("FR", False, "5.5", "S", 160),  # (c) B2C abroad: 159.5 rounds half up
        ("DE", False, "19", "S", 551),  # (c)
        ("FR", True, "0", "AE", 0),  # (b)
        ("NO", False, "0", "O", 0),  # (d) outside the scope
        ("US", True, "0", "O", 0),  # (d)
    ],
)
def test_tax_2_categories_and_the_collected_amount(
    country: str, vat_registered: bool, rate: str, category: str, tax: int
) -> None:
    """TAX-2 (a)-(d) on a 29.00 monthly card subscription: the card is charged the
    gross amount (TERM-3), and the invoice is paid."""
    h = taxed(country=country, vat_registered=vat_registered)
    h.do("subscribe", plan="basic", term="monthly", method="card", at=T0)
    e = issued(h, 1)
    assert (e.net, e.tax, e.amount, e.tax_rate, e.tax_category) == (
        2900,
        tax,
        2900 + tax,
        rate,
        category,
    )
    assert h.named("CollectionRequested")[0].amount == 2900 + tax
    shown = view(h)["invoices"][0]
    assert (shown["status"], shown["paid"]) == ("paid", shown["amount"])
    assert invoice_record(doc_of(h), 1)["reverse_charge"] is (category == "AE")  # type: ignore[index]


def test_tax_1_discount_first_then_tax_and_renewals_at_list_price() -> None:
    """TAX-1 with TERM-5: 12.5 % off 75.00 is 65.63 net (65.625 half up), 13.78 VAT
    (13.7823), 79.41 owed; the renewal, at list price, 75.00 + 15.75 = 90.75."""
    h = taxed()
    h.do(
        "subscribe",
        plan="basic",
        term="quarterly",
        method="card",
        at=T0,
        discount_percent=Decimal("12.5"),
    )
    h.advance("2026-04-05T09:00:01Z")
    first, renewal = issued(h, 1), issued(h, 2)
    assert (first.list_price, first.discount, first.net, first.tax, first.amount) == (
        7500,
        937,
        6563,
        1378,
        7941,
    )
    assert (renewal.kind, renewal.net, renewal.tax, renewal.amount, renewal.at) == (
        "renewal",
        7500,
        1575,
        9075,
        t("2026-04-05T09:00:00Z"),
    )
    assert [i["kind"] for i in view(h)["invoices"]] == ["term", "term"]


def test_tax_1_prepaid_packages_are_taxed() -> None:
    """TAX-1 with TERM-6: the 12-month package, 55.00 net, to a French consumer at 5.5 %:
    3.03 VAT (3.025 half up), 58.03 owed."""
    h = taxed(DEVICE_CLOUD, country="FR")
    h.do("purchase_prepaid", plan="cloud", months=12, method="card", at=T0)
    e = issued(h, 1)
    assert (e.kind, e.net, e.tax, e.amount, e.tax_rate, e.plan, e.term) == (
        "prepaid",
        5500,
        303,
        5803,
        "5.5",
        "cloud",
        "prepaid",
    )
    assert view(h)["invoices"][0]["kind"] == "prepaid"


def test_tax_2_a_new_country_applies_to_later_documents_only() -> None:
    """TAX-2: update_personal_data changes country / VAT registration; documents already
    issued keep their terms, the next renewals follow."""
    h = taxed()
    h.do("subscribe", plan="basic", term="monthly", method="card", at=T0)
    h.do("update_personal_data", at="2026-01-20T00:00:00Z", personal="sealed-2", country="NO")
    h.advance("2026-02-05T09:00:01Z")
    h.do(
        "update_personal_data",
        at="2026-02-20T00:00:00Z",
        personal="sealed-3",
        billing="sealed-billing-2",
        country="FR",
        vat_registered=True,
    )
    h.advance("2026-03-05T09:00:01Z")
    h.do(
        "update_personal_data", at="2026-03-20T00:00:00Z", personal="sealed-4", vat_registered=False
    )
    h.advance("2026-04-05T09:00:01Z")
    assert [(i["amount"], i["tax_rate"], i["tax_category"]) for i in view(h)["invoices"]] == [
        ("35.09", "21", "S"),
        ("29.00", "0", "O"),
        ("29.00", "0", "AE"),
        ("30.60", "5.5", "S"),
    ]
    assert [issued(h, n).country for n in (1, 2, 3, 4)] == ["BE", "NO", "FR", "FR"]


def test_tax_2_country_is_required_with_a_table() -> None:
    """TAX-2: with a tax table, registering without a country is invalid_input naming
    `country`; without a table the country stays optional (sections 0-8 unchanged)."""
    with pytest.raises(Rejected) as caught:
        Account.register(
            ref="x",
            profile=MONTHLY_AUTORENEW,
            currency="EUR",
            at=t(T0),
            personal="p",
            birth_date=None,
            tax=TABLE,
        )
    assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID_INPUT, "country")
    with pytest.raises(Rejected) as caught:
        Account.register(
            ref="x",
            profile=MONTHLY_AUTORENEW,
            currency="EUR",
            at=t(T0),
            personal="p",
            birth_date=None,
            vat_registered=True,
        )
    assert caught.value.field == "country"
    untaxed = Account.register(
        ref="x", profile=MONTHLY_AUTORENEW, currency="EUR", at=t(T0), personal="p", birth_date=None
    )
    assert untaxed.country is None


# ---------------------------------------------------------------- TAX-4: credit notes
def test_tax_4_a_voided_prepaid_package_is_credited_net_and_tax() -> None:
    """TERM-6 with TAX-4: a queued 2-month package (10.00 + 2.10) cancelled: the credit
    note takes its whole 12.10, split 10.00 / 2.10; the money goes back."""
    h = taxed(DEVICE_CLOUD)
    h.do("purchase_prepaid", plan="cloud", months=3, method="card", at=T0)
    h.do("purchase_prepaid", plan="cloud", months=2, method="card", at="2026-01-06T09:00:00Z")
    h.do("cancel_queued", at="2026-01-07T09:00:00Z")
    note = h.named("CreditNoteIssued")[0]
    assert (note.n, note.amount, note.net, note.tax) == (2, 1210, 1000, 210)
    assert h.named("RefundIssued")[0].amount == 1210
    shown = view(h)["invoices"][1]
    assert (shown["amount"], shown["net"], shown["tax"], shown["status"]) == (
        "0.00",
        "0.00",
        "0.00",
        "void",
    )


def test_tax_4_cancel_3_unpaid_invoice_credit_note_split() -> None:
    """CANCEL-3 with TAX-4 on an unpaid annual invoice (50.00 + 10.50 = 60.50): two
    started months at the monthly price taken gross (5.00 + 1.05 = 6.05) leave 12.10
    owed; the credit note of 48.40 carries 8.40 VAT (48.40 x 21 / 121), net 40.00."""
    h = taxed(DEVICE_CLOUD, at="2026-01-20T08:00:00Z")
    h.do(
        "subscribe", plan="cloud", term="annual", method="bank_transfer", at="2026-01-20T08:00:00Z"
    )
    h.do("request_cancellation", at="2026-03-01T00:00:00Z")
    note = h.named("CreditNoteIssued")[0]
    assert (note.amount, note.net, note.tax) == (4840, 4000, 840)
    assert h.named("RefundIssued") == []
    shown = view(h)["invoices"][0]
    assert (shown["amount"], shown["net"], shown["tax"]) == ("12.10", "10.00", "2.10")
    assert view(h)["access_until"] == "2026-03-20T08:00:00Z"


def test_tax_4_cancel_3_refund_comes_with_a_credit_note_of_the_same_gross() -> None:
    """CANCEL-3 with TAX-4, a French consumer at 5.5 %: the annual 50.00 + 2.75 = 52.75
    was paid by card; cancelled in the 4th started month at 5.28 a month gross
    (5.00 + 0.275 half up), 21.12 is owed and 31.63 refunded. With a tax table the
    refund is documented: a credit note of 31.63 (1.65 VAT: 31.63 x 5.5 / 105.5 =
    1.6489..., net 29.98) drops the invoice to 21.12 = 20.02 + 1.10."""
    h = taxed(DEVICE_CLOUD, country="FR", at="2026-01-20T08:00:00Z")
    h.do("subscribe", plan="cloud", term="annual", method="card", at="2026-01-20T08:00:00Z")
    h.do("request_cancellation", at="2026-04-25T00:00:00Z")
    note, refund = h.named("CreditNoteIssued")[0], h.named("RefundIssued")[0]
    assert (note.amount, note.net, note.tax, note.reason) == (3163, 2998, 165, "CANCEL-3")
    assert (refund.amount, refund.returns, refund.at) == (
        3163,
        "overpayment",
        t("2026-04-25T00:00:00Z"),
    )
    state = view(h)
    assert state["invoices"][0] | {"issued_at": None, "due_at": None} == {
        "n": 1,
        "issued_at": None,
        "due_at": None,
        "amount": "21.12",
        "paid": "21.12",
        "status": "paid",
        "net": "20.02",
        "tax": "1.10",
        "tax_rate": "5.5",
        "tax_category": "S",
        "kind": "term",
    }
    assert state["balance"] == {
        "invoiced": "21.12",
        "paid": "52.75",
        "refunded": "31.63",
        "credit": "0.00",
        "outstanding": "0.00",
        "principal": "0.00",
        "interest": "0.00",
        "fees": "0.00",
    }
    assert state["refunds"] == [{"amount": "31.63", "at": "2026-04-25T00:00:00Z"}]
    record = invoice_record(doc_of(h), 1)
    assert record is not None
    assert record["issued"] == {"amount": 5275, "net": 5000, "tax": 275}
    assert record["credit_notes"] == [
        {
            "at": "2026-04-25T00:00:00Z",
            "amount": 3163,
            "net": 2998,
            "tax": 165,
            "reason": "CANCEL-3",
        }
    ]
    assert record["refunded"] == 3163


# ---------------------------------------------------------------- TAX-3, TAX-4: late charges
@pytest.mark.parametrize(
    ("net", "gross", "compensation", "interest"),
    [
        (120000, 145200, 29040, 1452),  # 20 % and 1 % of 1452.00
        (70000, 84700, 16940, 847),  # 20 % of the gross passes the minimum (of the net: not)
        (29000, 35090, 15000, 351),  # 70.18 is below the 150.00 minimum; 350.9 rounds up
    ],
)
def test_tax_3_4_late_charges_on_the_gross_amount_untaxed(
    net: int, gross: int, compensation: int, interest: int
) -> None:
    """PAY-3 with TAX-4: interest is 1 % of the unpaid gross principal, the compensation
    20 % of the invoice's gross amount (minimum 150.00); TAX-3: neither carries VAT, nor
    do collection costs (PAY-5); PAY-4 allocates gross money."""
    h = taxed(ANNUAL_B2B, catalog={"b2b": {"annual": net}})
    h.do("subscribe", plan="b2b", term="annual", method="bank_transfer", at=T0)
    assert issued(h, 1).amount == gross
    h.advance("2026-01-19T09:00:01Z")
    assert [e.amount for e in h.named("CompensationCharged")] == [compensation]
    assert [(e.amount, e.principal) for e in h.named("InterestCharged")] == [(interest, gross)]
    h.do("record_collection_cost", amount=4500, at="2026-01-20T00:00:00Z")
    h.do("record_payment", amount=50000, reference="bank-1", at="2026-01-21T00:00:00Z")
    principal = 50000 - 4500 - compensation - interest
    assert h.named("PaymentReceived")[0].allocations == [
        ["cost:3", 4500],
        ["comp:1", compensation],
        ["int:1:0", interest],
        ["inv:1", principal],
    ]
    untaxed = [
        p
        for e in h.events
        if type(e).__name__ in ("CompensationCharged", "InterestCharged", "CollectionCostRecorded")
        for p in postings_for(e)
    ]
    assert len(untaxed) == 3 and all(VAT_PAYABLE not in (p.debit, p.credit) for p in untaxed)
    assert view(h)["balance"]["principal"] == f"{(gross - principal) / 100:.2f}"


# ---------------------------------------------------------------- TAX-5: the journal
def test_tax_5_invoice_and_credit_note_postings() -> None:
    """TAX-5: receivable (gross) against revenue (net) and vat_payable (tax); the credit
    note reverses in its own split."""
    h = taxed(DEVICE_CLOUD, at="2026-01-20T08:00:00Z")
    h.do(
        "subscribe", plan="cloud", term="annual", method="bank_transfer", at="2026-01-20T08:00:00Z"
    )
    h.do("request_cancellation", at="2026-03-01T00:00:00Z")
    lines = [
        (p.debit, p.credit, p.amount)
        for name in ("InvoiceIssued", "CreditNoteIssued")
        for p in postings_for(h.named(name)[0])
    ]
    assert lines == [
        ("receivable:principal", "revenue:deferred", 5000),
        ("receivable:principal", VAT_PAYABLE, 1050),
        ("revenue:credit_notes", "receivable:principal", 4000),
        (VAT_PAYABLE, "receivable:principal", 840),
    ]


# ---------------------------------------------------------------- old stores
def _as_stored_before_taxes(event: Any) -> Any:
    """The event as SPEC 1.x stored it: without the fields 2.0 added."""
    added = {
        "InvoiceIssued": {"net", "tax", "tax_rate", "tax_category", "country", "plan", "term"},
        "CreditNoteIssued": {"net", "tax"},
        "Registered": {"country", "vat_registered"},
        "PersonalDataUpdated": {"country", "vat_registered"},
    }.get(type(event).__name__, set())
    old = object.__new__(type(event))
    object.__setattr__(old, "__dict__", {k: v for k, v in vars(event).items() if k not in added})
    return old


def test_events_stored_before_taxes_replay_unchanged() -> None:
    """Old InvoiceIssued / CreditNoteIssued / Registered events (no tax fields) replay to
    net = amount, tax 0, no category, and fold to the same view and postings."""
    h = Harness(DEVICE_CLOUD, "2026-01-20T08:00:00Z")
    h.do(
        "subscribe", plan="cloud", term="annual", method="bank_transfer", at="2026-01-20T08:00:00Z"
    )
    h.do("request_cancellation", at="2026-03-01T00:00:00Z")
    old = [_as_stored_before_taxes(e) for e in h.events]
    assert [e for e in old if "net" in vars(e) or "country" in vars(e)] == []
    replayed: Any = None
    for event in old:
        replayed = event.mutate(replayed)
    invoice = replayed.invoices[1]
    assert (invoice.amount, invoice.net, invoice.tax, invoice.tax_rate, invoice.tax_category) == (
        1000,
        1000,
        0,
        "0",
        None,
    )
    assert replayed.country is None and replayed.vat_registered is False
    doc = new_doc(h.ref)
    for event in old:
        apply(doc, event)
    assert observe(doc, None) == view(h)
    assert [postings_for(e) for e in old] == [postings_for(e) for e in h.events]
