"""The read models' declared shapes (projections/documents.py) are the ones the folds
write: account documents, observed states, invoice records, audit records, report rows,
folded from real event histories of every profile, each checked value by value against
its TypedDict (required keys present, no key undeclared, Literal values among those
listed), so a type that drifts from the fold fails here rather than lying to mypy."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints

import pytest
from account_kit import ANNUAL_B2B, CRM_RETENTION, DEVICE_CLOUD, MONTHLY_AUTORENEW, Harness, t

from domain.tax import TaxTable
from projections import documents as d
from projections import reports
from projections.account_view import apply, invoice_record, new_doc, observe
from projections.documents import AccountDoc
from projections.event_records import from_domain_event
from projections.mrr_movements import movements
from projections.privacy_audit import audit, csv_row

TABLE = TaxTable.parse({"seller_country": "BE", "rates": {"BE": "21", "FR": "5.5"}})


def conforms(value: Any, hint: Any, where: str = "doc") -> None:
    """Assert that `value` is a value of the type `hint` (the subset of typing the
    documents use), naming the path of the first value that is not."""
    origin = get_origin(hint)
    if hint is Any:
        return
    if typing.is_typeddict(hint):
        assert isinstance(value, dict), f"{where}: {value!r} is not a {hint.__name__}"
        hints = get_type_hints(hint, include_extras=True)
        optional = {
            k for k, h in hints.items() if get_origin(h) is NotRequired or not hint.__total__
        }
        missing = set(hints) - optional - set(value)
        assert not missing, f"{where}: {hint.__name__} lacks {sorted(missing)}"
        undeclared = set(value) - set(hints)
        assert not undeclared, f"{where}: {hint.__name__} has no {sorted(undeclared)}"
        for key, item in value.items():
            conforms(item, hints[key], f"{where}.{key}")
    elif origin is NotRequired:
        conforms(value, get_args(hint)[0], where)
    elif origin is Literal:
        assert value in get_args(hint), f"{where}: {value!r} not in {get_args(hint)}"
    elif origin in (Union, types.UnionType):
        errors = []
        for option in get_args(hint):
            try:
                conforms(value, option, where)
                return
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError(" / ".join(errors))
    elif origin is list:
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        for i, item in enumerate(value):
            conforms(item, get_args(hint)[0], f"{where}[{i}]")
    elif origin is tuple:
        assert isinstance(value, tuple | list), f"{where}: {value!r} is not a tuple"
        for i, (item, item_hint) in enumerate(zip(value, get_args(hint), strict=True)):
            conforms(item, item_hint, f"{where}[{i}]")
    elif origin is dict:
        assert isinstance(value, dict), f"{where}: {value!r} is not a dict"
        key_hint, item_hint = get_args(hint)
        for key, item in value.items():
            conforms(key, key_hint, f"{where} key")
            conforms(item, item_hint, f"{where}[{key!r}]")
    elif hint is type(None) or hint is None:
        assert value is None, f"{where}: {value!r} is not None"
    elif hint is float:
        assert isinstance(value, int | float) and not isinstance(value, bool), where
    elif hint is int:
        assert isinstance(value, int) and not isinstance(value, bool), (
            f"{where}: {value!r} is not an int"
        )
    else:
        assert isinstance(value, hint), f"{where}: {value!r} is not a {hint}"


# ------------------------------------------------------------------ histories
def b2b_dunning_then_vendor_termination() -> Harness:
    """Trial, subscription on a manual method, overdue with compensation and interest,
    a dispute, part payment, a vendor suspension, then a termination and its export
    window closing (VENDOR-2), soft-deleting the data (GDPR-2)."""
    h = Harness(ANNUAL_B2B, "2026-01-05T09:00:00Z")
    h.do("start_trial", plan="b2b", at="2026-01-06T09:00:00Z")
    h.do("subscribe", plan="b2b", term="annual", method="bank_transfer", at="2026-01-10T09:00:00Z")
    h.do("dispute_invoice", n=1, reason="wrong", at="2026-01-12T09:00:00Z")
    h.advance("2026-03-15T00:00:00Z")
    h.do("record_payment", amount=50000, reference="p1", at="2026-03-15T00:00:00Z")
    h.do("suspend_account", reason="abuse", at="2026-03-16T00:00:00Z")
    h.do("terminate_by_vendor", reason="abuse", export_days=10, at="2026-03-20T00:00:00Z")
    h.advance("2026-04-15T00:00:00Z")
    return h


def device_cloud_taxed_prepaid_and_prorated_refund() -> Harness:
    """A tax table; an annual subscription cancelled with a CANCEL-3 refund and its
    credit note (TAX-4), then prepaid packages, one queued and cancelled (TERM-6), credit
    held, and an inactivity closure that waives it (ACCOUNT-3)."""
    h = Harness(DEVICE_CLOUD, "2026-01-20T08:00:00Z", tax=TABLE, country="FR")
    h.do("subscribe", plan="cloud", term="annual", method="card", at="2026-01-20T08:00:00Z")
    h.do("request_cancellation", at="2026-04-25T00:00:00Z")
    h.advance("2026-05-21T00:00:00Z")
    h.do("purchase_prepaid", plan="cloud", months=12, method="card", at="2026-05-21T00:00:00Z")
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at="2026-05-22T00:00:00Z")
    h.do("cancel_queued", at="2026-05-23T00:00:00Z")
    h.do("record_payment", amount=1000, reference="extra", at="2026-05-24T00:00:00Z")
    h.advance("2027-06-01T00:00:00Z")  # ACCOUNT-3: closed a year later, its credit waived
    return h


def monthly_plan_changes_and_closure() -> Harness:
    """An upgrade (CHANGE-2), a scheduled downgrade (CHANGE-3), a revoked cancellation
    (CHANGE-4), renewals with reminders, then the end and a closure erasing the data."""
    h = Harness(MONTHLY_AUTORENEW, "2026-01-05T09:00:00Z")
    h.do(
        "subscribe",
        plan="basic",
        term="monthly",
        method="card",
        discount_percent=Decimal(10),
        at="2026-01-05T09:00:00Z",
    )
    h.do("change_plan", plan="pro", term=None, at="2026-01-20T09:00:00Z", book=h.book)
    h.do("request_cancellation", at="2026-01-25T09:00:00Z")
    h.do("revoke_cancellation", at="2026-01-26T09:00:00Z", book=h.book)
    h.do("change_plan", plan="basic", term="annual", at="2026-02-01T09:00:00Z", book=h.book)
    h.advance("2026-06-01T00:00:00Z")
    h.do("request_cancellation", at="2026-06-01T00:00:00Z")
    h.advance("2027-05-01T00:00:00Z")
    h.do("request_account_closure", at="2027-05-01T00:00:00Z")
    return h


def crm_deletion_request_and_retention() -> Harness:
    """A deletion request (GDPR-1) with the invoice identity retained (GDPR-3), then the
    end of that retention."""
    h = Harness(CRM_RETENTION, "2026-01-05T09:00:00Z")
    h.do("subscribe", plan="pro", term="monthly", method="cash", at="2026-01-05T09:00:00Z")
    h.do("record_payment", amount=9900, reference="cash-1", at="2026-01-06T09:00:00Z")
    h.do("export_personal_data", at="2026-01-07T09:00:00Z")
    h.do("request_data_deletion", at="2026-01-08T09:00:00Z")
    h.advance("2037-01-01T00:00:00Z")
    return h


HISTORIES: dict[str, Callable[[], Harness]] = {
    "b2b": b2b_dunning_then_vendor_termination,
    "device-cloud": device_cloud_taxed_prepaid_and_prorated_refund,
    "monthly": monthly_plan_changes_and_closure,
    "crm": crm_deletion_request_and_retention,
}


def final_doc(h: Harness) -> AccountDoc:
    doc = new_doc(h.ref)
    for event in h.events:
        apply(doc, event)
    return doc


@pytest.mark.parametrize("history", HISTORIES)
def test_every_folded_document_and_answer_has_its_declared_shape(history: str) -> None:
    h = HISTORIES[history]()
    assert len(h.events) > 10
    doc = new_doc(h.ref)
    for event in h.events:  # after every event, not only at the end
        apply(doc, event)
        conforms(doc, d.AccountDoc)
        conforms(observe(doc, event.at), d.ObservedState, "state")
    conforms(audit(doc, t("2040-01-01T00:00:00Z")), d.AuditRecord, "audit")
    assert doc["invoices"], "every history issues invoices"
    for n in range(1, len(doc["invoices"]) + 1):
        conforms(invoice_record(doc, n), d.InvoiceRecord, f"invoice {n}")
    row = csv_row(audit(doc, None))
    assert all(isinstance(v, str | int) or v is None for v in row.values())


@pytest.mark.parametrize("history", HISTORIES)
def test_every_report_row_has_its_declared_shape(history: str) -> None:
    h = HISTORIES[history]()
    at = h.events[-1].at
    docs = [final_doc(h)]
    month = at.strftime("%Y-%m")
    for subscriptions in reports.subscriptions(docs):
        conforms(subscriptions, d.SubscriptionsRow)
    for mrr in reports.mrr(docs):
        conforms(mrr, d.MrrRow)
    conforms(reports.conversion(docs)[0], d.ConversionRow)
    conforms(reports.churn({"a": docs[0]}, {"a": docs[0]}, month)[0], d.ChurnRow)
    conforms(reports.revenue(docs, [], month)[0], d.RevenueRow)
    conforms(reports.ageing(docs, at)[0], d.AgeingRow)
    vat = reports.vat(docs, h.events[0].at.strftime("%Y-%m"))
    assert vat, "the first month issued an invoice"
    for vat_row in vat:
        conforms(vat_row, d.VatRow)
    records = [from_domain_event(e) for e in h.events]
    start = t(f"{month}-01T00:00:00Z")
    conforms(movements(records, start, at, month), d.MrrMovementsRow)


def test_the_observed_keys_are_the_observed_states() -> None:
    """`ObservedKey` lists `ObservedState`'s keys, for code picking some by name."""
    assert set(get_args(d.ObservedKey)) == set(get_type_hints(d.ObservedState))


def test_the_checker_refuses_what_does_not_conform() -> None:
    """The check above can fail: an undeclared key, a missing one, a wrong Literal."""
    state = observe(final_doc(b2b_dunning_then_vendor_termination()), None)
    for broken in (
        {**state, "extra": 1},
        {k: v for k, v in state.items() if k != "plan"},
        {**state, "status": "asleep"},
        {**state, "access": "yes"},
    ):
        with pytest.raises(AssertionError):
            conforms(broken, d.ObservedState)
