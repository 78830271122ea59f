"""SPEC section 8 "Balances": a double-entry journal whose debits equal its credits at every
position, and balances that agree with the journal and with the account's own books.

Each history below is a realistic account life driven through the pure aggregate
(`account_kit.Harness`); its events are turned into postings by
`projections.journal.postings_for` and folded by `projections.account_view`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from account_kit import (
    ANNUAL_B2B,
    CRM_RETENTION,
    DEVICE_CLOUD,
    MONTHLY_AUTORENEW,
    Harness,
)

from domain.money import format_amount
from domain.tax import TaxTable
from projections.account_view import apply, new_doc, observe
from projections.journal import VAT_PAYABLE, postings_for

T0 = "2026-01-05T09:00:00Z"
TAX = TaxTable.parse({"seller_country": "BE", "rates": {"BE": "21", "FR": "5.5"}})


# ---------------------------------------------------------------- histories
def b2b_late_payer() -> Harness:
    """Scenario 03 and more: overdue, interest, compensation, costs, dispute, renewal."""
    h = Harness(ANNUAL_B2B, T0)
    h.do("subscribe", plan="b2b", term="annual", method="bank_transfer", at=T0)
    h.do("dispute_invoice", n=1, reason="seats", at="2026-01-07T09:00:00Z")
    h.advance("2026-02-01T00:00:00Z")
    h.do("record_collection_cost", amount=4500, at="2026-02-01T00:00:00Z")
    h.do("record_payment", amount=50000, reference="bank-0001", at="2026-02-10T00:00:00Z")
    h.advance("2026-04-01T00:00:00Z")
    h.do("record_payment", amount=100000, reference="bank-0002", at="2026-04-01T00:00:00Z")
    h.advance("2027-01-05T09:00:01Z")  # renewal, paid partly from credit
    h.do("record_payment", amount=200000, reference="bank-0003", at="2027-01-10T00:00:00Z")
    return h


def monthly_with_credit_and_declines() -> Harness:
    """Overpayment to credit, credit set off, declined renewals, catch-up, cancellation."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("start_trial", plan="basic", at=T0)
    h.do("subscribe", plan="basic", term="monthly", method="paypal", at="2026-01-08T09:00:00Z")
    h.do("record_payment", amount=5000, reference="pp-1", at="2026-01-08T09:00:00Z")
    h.advance("2026-02-09T00:00:00Z")
    h.psp = "decline"
    h.do("subscribe", plan="basic", term="quarterly", method="card", at="2026-02-09T00:00:00Z")
    h.advance("2026-08-20T00:00:00Z")
    h.do("record_payment", amount=30000, reference="bank-9", at="2026-08-20T00:00:00Z")
    h.psp = "approve"
    h.do("request_cancellation", at="2026-08-21T00:00:00Z")
    h.advance("2026-12-01T00:00:00Z")
    return h


def device_cloud_refunded_annual() -> Harness:
    """Scenario 04: trial, annual paid by card, cancelled with a prorated refund."""
    h = Harness(DEVICE_CLOUD, "2026-01-15T08:00:00Z")
    h.do("start_trial", plan="cloud", at="2026-01-15T08:00:00Z")
    h.do("subscribe", plan="cloud", term="annual", method="card", at="2026-01-20T08:00:00Z")
    h.do("request_cancellation", at="2026-04-25T00:00:00Z")
    h.advance("2026-06-01T00:00:00Z")
    return h


def device_cloud_partly_paid_annual() -> Harness:
    """CANCEL-3 with part of the invoice received: credit note plus refund."""
    h = Harness(DEVICE_CLOUD, "2026-01-15T08:00:00Z")
    h.do(
        "subscribe", plan="cloud", term="annual", method="bank_transfer", at="2026-01-20T08:00:00Z"
    )
    h.do("record_payment", amount=3000, reference="bank-1", at="2026-01-21T08:00:00Z")
    h.advance("2026-04-25T00:00:00Z")
    h.do("request_cancellation", at="2026-04-25T00:00:00Z")
    h.do("record_payment", amount=2500, reference="bank-2", at="2026-04-26T00:00:00Z")
    h.advance("2026-06-01T00:00:00Z")
    return h


def device_cloud_prepaid_queue_cancelled() -> Harness:
    """TERM-6: a paid queued package cancelled for a full refund, then the rollover."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("purchase_prepaid", plan="cloud", months=3, method="card", at=T0)
    h.do("purchase_prepaid", plan="cloud", months=2, method="card", at="2026-01-06T09:00:00Z")
    h.do("cancel_queued", at="2026-01-07T09:00:00Z")
    h.do(
        "purchase_prepaid",
        plan="cloud",
        months=12,
        method="direct_debit",
        at="2026-02-01T09:00:00Z",
    )
    h.advance("2026-05-01T00:00:00Z")
    return h


def crm_erased_customer() -> Harness:
    """Scenario 05: money stays when the personal data goes."""
    h = Harness(CRM_RETENTION, "2026-01-02T10:00:00Z")
    h.do("subscribe", plan="basic", term="monthly", method="card", at="2026-01-02T10:00:00Z")
    h.do("request_data_deletion", at="2026-01-09T10:00:00Z")
    h.advance("2026-03-01T00:00:00Z")
    return h


def discounted_quarterly() -> Harness:
    """TERM-5 with half-up rounding, renewal reminders and renewals at list price."""
    h = Harness(MONTHLY_AUTORENEW, "2026-03-31T10:00:00Z")
    h.do(
        "subscribe",
        plan="basic",
        term="quarterly",
        method="card",
        at="2026-03-31T10:00:00Z",
        discount_percent=Decimal("12.5"),
    )
    h.advance("2026-10-01T00:00:00Z")
    return h


def taxed_b2b_late_payer() -> Harness:
    """TAX-3/4/5: a Belgian customer at 21 %, late: untaxed charges on the gross amount."""
    h = Harness(ANNUAL_B2B, T0, tax=TAX, country="BE")
    h.do(
        "subscribe",
        plan="b2b",
        term="annual",
        method="bank_transfer",
        at=T0,
        discount_percent=Decimal("7.5"),
    )
    h.advance("2026-02-01T00:00:00Z")
    h.do("record_collection_cost", amount=4500, at="2026-02-01T00:00:00Z")
    h.do("record_payment", amount=100000, reference="bank-1", at="2026-02-10T00:00:00Z")
    h.advance("2027-01-05T09:00:01Z")  # a renewal at list price, taxed
    h.do("record_payment", amount=300000, reference="bank-2", at="2027-01-10T00:00:00Z")
    return h


def taxed_device_cloud_refunds() -> Harness:
    """TAX-4: a French consumer at 5.5 %: a CANCEL-3 refund with its credit note, then a
    voided queued package (credit note and refund)."""
    h = Harness(DEVICE_CLOUD, "2026-01-15T08:00:00Z", tax=TAX, country="FR")
    h.do("subscribe", plan="cloud", term="annual", method="card", at="2026-01-20T08:00:00Z")
    h.do("record_payment", amount=1234, reference="bank-1", at="2026-02-01T08:00:00Z")
    h.do("request_cancellation", at="2026-04-25T00:00:00Z")
    h.advance("2026-06-01T00:00:00Z")
    h.do("purchase_prepaid", plan="cloud", months=3, method="card", at="2026-06-01T00:00:00Z")
    h.do("purchase_prepaid", plan="cloud", months=12, method="card", at="2026-06-02T00:00:00Z")
    h.do("cancel_queued", at="2026-06-03T00:00:00Z")
    return h


def b2b_upgraded_then_cancelled_for_nonpayment() -> Harness:
    """SPEC 2.0: an upgrade's proration invoice (CHANGE-2), then VENDOR-3: liquidated
    damages as a fee, the proration invoice accelerated, overdue, part-paid."""
    h = Harness(ANNUAL_B2B, T0, catalog={"b2b": {"annual": 120000}, "b2b-plus": {"annual": 180000}})
    h.do("subscribe", plan="b2b", term="annual", method="bank_transfer", at=T0)
    h.advance("2026-05-31T09:00:00Z")
    h.do("change_plan", plan="b2b-plus", term=None, at="2026-05-31T09:00:00Z", book=h.book)
    h.advance("2026-06-01T00:00:00Z")
    h.do("cancel_for_nonpayment", at="2026-06-01T00:00:00Z")
    h.advance("2026-07-01T00:00:00Z")
    h.do("record_payment", amount=90000, reference="bank-1", at="2026-07-01T00:00:00Z")
    h.advance("2026-09-01T00:00:00Z")
    return h


def device_cloud_terminated_with_a_queue() -> Harness:
    """VENDOR-2: a running package ends unrefunded, the queued one is refunded in full."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("purchase_prepaid", plan="cloud", months=3, method="card", at=T0)
    h.do("purchase_prepaid", plan="cloud", months=12, method="card", at="2026-01-06T09:00:00Z")
    h.do("suspend_account", reason="chargeback", at="2026-01-07T09:00:00Z")
    h.do("terminate_by_vendor", reason="fraud", export_days=0, at="2026-02-01T09:00:00Z")
    h.advance("2026-03-01T00:00:00Z")
    return h


HISTORIES: dict[str, Callable[[], Harness]] = {
    f.__name__: f
    for f in (
        b2b_late_payer,
        monthly_with_credit_and_declines,
        device_cloud_refunded_annual,
        device_cloud_partly_paid_annual,
        device_cloud_prepaid_queue_cancelled,
        crm_erased_customer,
        discounted_quarterly,
        taxed_b2b_late_payer,
        taxed_device_cloud_refunds,
        b2b_upgraded_then_cancelled_for_nonpayment,
        device_cloud_terminated_with_a_queue,
    )
}


@pytest.fixture(params=sorted(HISTORIES), scope="module")
def history(request: pytest.FixtureRequest) -> Harness:
    return HISTORIES[request.param]()


# ---------------------------------------------------------------- checks
def test_every_posting_is_a_positive_two_sided_entry(history: Harness) -> None:
    """Section 8 Balances: each posting debits one ledger account and credits another."""
    postings = [p for e in history.events for p in postings_for(e)]
    assert postings, "a realistic history produces postings"
    for posting in postings:
        assert posting.debit != posting.credit, posting
        assert isinstance(posting.amount, int) and posting.amount > 0, posting
        assert posting.memo


def test_debits_equal_credits_at_every_position(history: Harness) -> None:
    """Section 8 Balances: debits equal credits at every position of the journal."""
    debits: dict[str, int] = defaultdict(int)
    credits: dict[str, int] = defaultdict(int)
    for event in history.events:
        for posting in postings_for(event):
            debits[posting.debit] += posting.amount
            credits[posting.credit] += posting.amount
        assert sum(debits.values()) == sum(credits.values())
    doc = new_doc(history.ref)
    for event in history.events:
        apply(doc, event)
        assert sum(d for d, _ in doc["ledger"].values()) == sum(
            c for _, c in doc["ledger"].values()
        )


def _balances_from_postings(events: list[Any]) -> dict[str, int]:
    """Balances computed here from the postings, independently of the account view."""
    net: dict[str, int] = defaultdict(int)  # debit-positive
    debited: dict[str, int] = defaultdict(int)
    credited: dict[str, int] = defaultdict(int)
    for event in events:
        for p in postings_for(event):
            net[p.debit] += p.amount
            net[p.credit] -= p.amount
            debited[p.debit] += p.amount
            credited[p.credit] += p.amount
    principal = net["receivable:principal"]
    interest = net["receivable:interest"]
    fees = net["receivable:fees"]
    return {  # gross: revenue (net) and VAT (TAX-5), both after credit notes
        "invoiced": credited["revenue:deferred"]
        - debited["revenue:credit_notes"]
        - net[VAT_PAYABLE],
        "paid": debited["cash"],
        "refunded": credited["cash"],
        "credit": -net["liability:customer_credit"],
        "outstanding": principal + interest + fees,
        "principal": principal,
        "interest": interest,
        "fees": fees,
    }


def test_observed_balances_equal_the_postings(history: Harness) -> None:
    """Section 8 Balances: what `observe` reports is what the journal says, at every position."""
    doc = new_doc(history.ref)
    for i, event in enumerate(history.events, start=1):
        apply(doc, event)
        reported = observe(doc, None)["balance"]
        computed = _balances_from_postings(history.events[:i])
        assert reported == {k: format_amount(v) for k, v in computed.items()}, (
            f"after event {i} {type(event).__name__}"
        )


def _books_of_the_aggregate(h: Harness) -> dict[str, int]:
    """The same balances from the aggregate's decision state and its money events."""
    account = h.account
    principal = sum(i.unpaid for i in account.invoices.values())
    interest = sum(c.unpaid for c in account.charges.values() if c.kind == "interest")
    fees = sum(
        c.unpaid for c in account.charges.values() if c.kind in ("compensation", "collection_cost")
    )
    return {
        "invoiced": sum(i.amount for i in account.invoices.values()),
        "paid": sum(e.amount for e in h.named("PaymentReceived")),
        "refunded": sum(e.amount for e in h.named("RefundIssued")),
        "credit": account.credit,
        "outstanding": account.outstanding(),
        "principal": principal,
        "interest": interest,
        "fees": fees,
    }


def test_journal_agrees_with_the_account_books(history: Harness) -> None:
    """Section 8 Balances / FORMAT.md: outstanding = principal + interest + fees still owed,
    credit is money held, paid/refunded are money in and out: the journal must agree with
    what the account itself says is owed."""
    assert _balances_from_postings(history.events) == _books_of_the_aggregate(history)


def test_tax_5_vat_payable_is_the_tax_of_the_documents(history: Harness) -> None:
    """TAX-5: what vat_payable holds is the tax still on the invoices, and revenue is
    their net: both read from the aggregate's own books."""
    net: dict[str, int] = defaultdict(int)
    for event in history.events:
        for p in postings_for(event):
            net[p.debit] += p.amount
            net[p.credit] -= p.amount
    invoices = history.account.invoices.values()
    assert -net[VAT_PAYABLE] == sum(i.tax for i in invoices)
    assert -net["revenue:deferred"] - net["revenue:credit_notes"] == sum(i.net for i in invoices)
    assert all(i.net + i.tax == i.amount for i in invoices)


def test_proration_invoices_and_liquidated_damages_are_posted() -> None:
    """SPEC 2.0 journal: a proration invoice (CHANGE-2) is revenue deferred over the rest
    of the term like any invoice, 360.00 here; VENDOR-3's liquidated damages are a fee
    (receivable:fees), their own income, 312.00 = 20 % of 1200.00 + 360.00."""
    h = b2b_upgraded_then_cancelled_for_nonpayment()
    postings = [(p.debit, p.credit, p.amount) for e in h.events for p in postings_for(e)]
    assert ("receivable:principal", "revenue:deferred", 36000) in postings
    assert ("receivable:fees", "income:liquidated_damages", 31200) in postings
