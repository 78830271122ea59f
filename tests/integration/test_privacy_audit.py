"""The GDPR audit (GDPR-1..3, GDPR-6) on the scenario clock, on both stores: deletion
requests with deadlines and overdue flags, retention schedules, financial retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger_kit import LedgerFactory

from domain.calendar import parse_instant
from infra.application.ledger import Ledger
from infra.interface.vocabulary import parse_command


def t(text: str) -> datetime:
    return parse_instant(text)


def do(ledger: Ledger, command: str, at: str, **fields: Any) -> None:
    ledger.execute(parse_command(command, fields, t(at)))


def audit_of(ledger: Ledger, ref: str, at: str) -> dict[str, Any]:
    found = [a for a in ledger.privacy_report(as_of=t(at)) if a["account"] == ref]
    assert len(found) == 1
    return found[0]


def customer(
    ledger: Ledger,
    ref: str,
    at: str,
    plan: str = "basic",
    term: str = "monthly",
    method: str = "card",
) -> None:
    do(ledger, "register_account", at, account=ref, name=f"N {ref}", email=f"{ref}@x.test")
    do(ledger, "subscribe", at, account=ref, plan=plan, term=term, payment_method=method)


def test_gdpr_1_crm_deadline_15_working_days_erased_at_once_invoice_identity_retained(
    make_ledger: LedgerFactory,
) -> None:
    ledger = make_ledger("crm-retention")
    customer(ledger, "dora", "2026-01-02T10:00:00Z")
    do(ledger, "request_data_deletion", "2026-01-09T10:00:00Z", account="dora")
    record = audit_of(ledger, "dora", "2026-01-20T00:00:00Z")
    assert record["deletion_requests"] == [
        {
            "requested_at": "2026-01-09T10:00:00Z",
            "due_at": "2026-01-30T10:00:00Z",
            "completed_at": "2026-01-09T10:00:00Z",
            "overdue": False,
        }
    ]
    assert record["personal_data"] == "erased" and record["erased_at"] == "2026-01-09T10:00:00Z"
    # GDPR-3: why the billing name and address stay, and until when (invoice 1 + 10 years)
    identity = record["invoice_identity"]
    assert (identity["state"], identity["retained_until"]) == ("retained", "2036-01-02T10:00:00Z")
    assert "accounting law" in identity["reason"]
    assert (
        audit_of(ledger, "dora", "2026-02-01T00:00:00Z")["deletion_requests"][0]["overdue"] is False
    )  # done before the deadline, and stays so after it
    assert [r["what"] for r in record["processing_records"]] == [
        "registration",
        "deletion_request",
        "erasure",
        "retention of the invoice identity (billing name, address)",
    ]
    assert record["financial_records_kept_until"] == "2036-01-02T10:00:00Z"


def test_the_overdue_flag_is_set_when_a_request_is_not_done_by_its_deadline() -> None:
    """The flag's rule, on a request recorded without its erasure (as an older ledger
    version recorded them): open after the deadline means overdue."""
    from projections.privacy_audit import audit

    doc = {
        "ref": "x",
        "profile": "crm-retention",
        "privacy": {
            "personal_data": "present",
            "erased_at": None,
            "records": [],
            "requests": [
                {
                    "requested_at": "2026-01-09T10:00:00Z",
                    "due_at": "2026-01-30T10:00:00Z",
                    "completed_at": None,
                }
            ],
        },
    }
    assert audit(doc, t("2026-01-30T10:00:00Z"))["deletion_requests"][0]["overdue"] is False
    assert audit(doc, t("2026-01-30T10:00:01Z"))["deletion_requests"][0]["overdue"] is True
    doc["privacy"]["requests"][0]["completed_at"] = "2026-02-02T00:00:00Z"
    assert audit(doc, None)["deletion_requests"][0]["overdue"] is True  # done, but late


def test_gdpr_1_monthly_autorenew_30_days(make_ledger: LedgerFactory) -> None:
    ledger = make_ledger("monthly-autorenew")
    customer(ledger, "mo", "2026-03-01T08:00:00Z")
    do(ledger, "request_data_deletion", "2026-03-10T08:00:00Z", account="mo")
    assert (
        audit_of(ledger, "mo", "2026-03-10T08:00:00Z")["deletion_requests"][0]["due_at"]
        == "2026-04-09T08:00:00Z"
    )


def test_gdpr_2_crm_retention_six_months_after_the_end_then_erased(
    make_ledger: LedgerFactory,
) -> None:
    ledger = make_ledger("crm-retention")
    customer(ledger, "cr", "2026-01-05T09:00:00Z")
    do(ledger, "request_cancellation", "2026-01-10T09:00:00Z", account="cr")
    ledger.tick(t("2026-02-06T00:00:00Z"))  # the term ended on 2026-02-05
    scheduled = audit_of(ledger, "cr", "2026-02-06T00:00:00Z")
    assert scheduled["personal_data"] == "present"
    assert scheduled["retention"]["action"] == "erase"
    assert scheduled["retention"]["at"] == "2026-08-05T09:00:00Z"
    ledger.tick(t("2026-08-05T09:00:01Z"))
    erased = audit_of(ledger, "cr", "2026-08-06T00:00:00Z")
    assert (erased["personal_data"], erased["retention"]) == ("erased", None)
    assert erased["deletion_requests"] == []  # retention, not a request


def test_gdpr_2_b2b_soft_delete_then_anonymise_six_months_later(make_ledger: LedgerFactory) -> None:
    ledger = make_ledger("annual-b2b")
    customer(ledger, "bv", "2026-01-05T09:00:00Z", term="annual", method="card")
    do(ledger, "request_cancellation", "2026-06-01T09:00:00Z", account="bv")
    ledger.tick(t("2027-01-06T00:00:00Z"))  # deactivated at the end of access
    soft = audit_of(ledger, "bv", "2027-01-06T00:00:00Z")
    assert soft["personal_data"] == "soft_deleted"
    assert soft["retention"]["action"] == "anonymise"
    assert soft["retention"]["at"] == "2027-07-05T09:00:00Z"
    ledger.tick(t("2027-07-06T00:00:00Z"))
    assert audit_of(ledger, "bv", "2027-07-06T00:00:00Z")["personal_data"] == "anonymised"


def test_the_audit_is_rebuilt_from_the_log_alone(make_ledger: LedgerFactory) -> None:
    ledger = make_ledger("crm-retention")
    customer(ledger, "dora", "2026-01-02T10:00:00Z")
    do(ledger, "request_data_deletion", "2026-01-09T10:00:00Z", account="dora")
    ledger.tick(t("2026-02-01T00:00:00Z"))
    before = ledger.privacy_report(as_of=t("2026-02-01T00:00:00Z"))
    ledger.rebuild()
    assert ledger.privacy_report(as_of=t("2026-02-01T00:00:00Z")) == before


def test_vendor_2_the_export_window_and_what_ran_at_its_end(make_ledger: LedgerFactory) -> None:
    """VENDOR-2 in the audit: until when the customer may export, what will run at the
    window's end and, once it has, what ran (annual-b2b: soft-deleted at 03-31, anonymised
    6 calendar months later, 09-30); one CSV line says the same."""
    from projections.privacy_audit import csv_row

    ledger = make_ledger("annual-b2b")
    customer(ledger, "bv", "2026-01-05T09:00:00Z", term="annual", method="card")
    do(
        ledger,
        "terminate_by_vendor",
        "2026-03-01T00:00:00Z",
        account="bv",
        reason="breach of art. 7",
        export_days=30,
    )
    open_window = audit_of(ledger, "bv", "2026-03-10T00:00:00Z")
    assert open_window["export_window"] == {
        "terminated_at": "2026-03-01T00:00:00Z",
        "export_until": "2026-03-31T00:00:00Z",
        "closed_at": None,
        "action": None,
    }
    assert open_window["retention"]["action"] == "soft_delete"
    assert open_window["retention"]["at"] == "2026-03-31T00:00:00Z"
    assert open_window["personal_data"] == "present"
    ledger.tick(t("2026-04-01T00:00:00Z"))
    closed = audit_of(ledger, "bv", "2026-04-01T00:00:00Z")
    assert closed["export_window"]["closed_at"] == "2026-03-31T00:00:00Z"
    assert closed["export_window"]["action"] == "soft_delete"
    assert closed["personal_data"] == "soft_deleted"
    assert (closed["retention"]["action"], closed["retention"]["at"]) == (
        "anonymise",
        "2026-09-30T00:00:00Z",
    )
    row = csv_row(closed)
    assert (row["export_until"], row["export_window_closed_at"], row["export_window_action"]) == (
        "2026-03-31T00:00:00Z",
        "2026-03-31T00:00:00Z",
        "soft_delete",
    )


def test_vendor_2_crm_retention_schedules_erasure_at_the_window_end(
    make_ledger: LedgerFactory,
) -> None:
    """VENDOR-2: crm-retention erases 6 calendar months after export_until (03-31 ->
    09-30), not after the subscription's end (03-01); the audit shows the schedule."""
    ledger = make_ledger("crm-retention")
    customer(ledger, "cr", "2026-02-01T00:00:00Z")
    do(ledger, "terminate_by_vendor", "2026-03-01T00:00:00Z", account="cr", reason="fraud")
    assert (
        audit_of(ledger, "cr", "2026-03-02T00:00:00Z")["retention"]["action"] == "schedule_erasure"
    )
    do(ledger, "record_activity", "2026-04-15T00:00:00Z", account="cr")  # no ACCOUNT-3 yet
    record = audit_of(ledger, "cr", "2026-04-15T00:00:00Z")
    assert record["export_window"]["action"] == "schedule_erasure"
    assert (record["retention"]["action"], record["retention"]["at"]) == (
        "erase",
        "2026-09-30T00:00:00Z",
    )
    ledger.tick(t("2026-09-30T00:00:01Z"))
    assert audit_of(ledger, "cr", "2026-10-01T00:00:00Z")["erased_at"] == "2026-09-30T00:00:00Z"
