"""SPEC 2.0 section 11 (the vendor's own actions, VENDOR-1..3) and section 8's 2.0 lines,
sentence by sentence, against the pure `Account` aggregate (see test_plan_change_rules)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from account_kit import (
    ANNUAL_B2B,
    CRM_RETENTION,
    DEVICE_CLOUD,
    MONTHLY_AUTORENEW,
    Harness,
    t,
)
from test_plan_change_rules import (
    CATALOG,
    S,
    do,
    harness,
    invoices,
    one,
    rejects,
    subscribed,
    view,
)

from domain.errors import ErrorCode, Rejected
from domain.profiles import BUILT_IN_PROFILES
from infra.config import profile_from_mapping
from infra.interface.vocabulary import parse_command

B2B_START = "2026-01-05T09:00:00Z"  # annual terms to 2027-01-05T09:00:00Z


def b2b(plan: str = "standard", method: str = "bank_transfer") -> Harness:
    return subscribed(ANNUAL_B2B, plan=plan, term="annual", method=method, at=B2B_START)


def overdue_b2b(plan: str = "standard") -> Harness:
    """annual-b2b by bank transfer, never paid: due 2026-01-19T09:00Z (TERM-4), overdue
    from then with the fixed compensation (PAY-3) and suspended (PAY-2, 0 days)."""
    h = b2b(plan)
    h.advance("2026-02-01T00:00:00Z")
    assert view(h)["invoices"][0]["status"] == "overdue"
    return h


# ================================================================ VENDOR-1
def test_vendor_1_suspension_turns_access_off_at_once() -> None:
    """VENDOR-1 (scenario 08): status suspended, access off, suspension "vendor"; the term
    (access_until) is unchanged."""
    h = subscribed(plan="team")
    assert do(
        h, "suspend_account", reason="chargeback under review", at="2026-04-20T00:00:00Z"
    ) == ["SuspendedByVendor", "NoticeSent"]
    state = view(h)
    assert (state["status"], state["access"], state["suspension"], state["access_until"]) == (
        "suspended",
        False,
        "vendor",
        "2026-05-01T00:00:00Z",
    )
    assert one(h, "SuspendedByVendor").reason == "chargeback under review"


@pytest.mark.parametrize("setup", ["none", "trial", "ended"])
def test_section_8_a_vendor_suspension_shows_suspended_on_any_open_account(setup: str) -> None:
    """Section 8 (2.0): before the other rules, on any open account: nothing subscribed,
    a trial, or a subscription that has ended (which would show ended)."""
    h = harness()
    if setup == "trial":
        h.do("start_trial", plan="basic", at=S, book=h.book)
    elif setup == "ended":
        h.do("subscribe", plan="basic", term="monthly", method="bank_transfer", at=S, book=h.book)
        h.do("record_payment", amount=3000, reference="b1", at=S)
        h.advance("2026-05-02T00:00:00Z")
    do(h, "suspend_account", reason="identity check", at="2026-05-02T00:00:00Z")
    state = view(h)
    assert (state["status"], state["access"], state["suspension"]) == ("suspended", False, "vendor")


def test_vendor_1_billing_goes_on_while_suspended() -> None:
    """VENDOR-1: the renewal at E is invoiced and collected as for any customer."""
    h = subscribed(plan="team")
    do(h, "suspend_account", reason="chargeback", at="2026-04-20T00:00:00Z")
    h.advance("2026-05-01T00:00:01Z")
    assert invoices(h)[1] == (2, "term", "60.00", "2026-05-01T00:00:00Z", "paid")
    assert view(h)["status"] == "suspended"


def test_vendor_1_dunning_goes_on_while_suspended() -> None:
    """VENDOR-1: annual-b2b by bank transfer, suspended by the vendor before the due date:
    overdue after 01-19 with 240.00 compensation (20 % of 1200.00) and 12.00 interest."""
    h = b2b()
    do(h, "suspend_account", reason="credit check", at="2026-01-10T00:00:00Z")
    h.advance("2026-01-19T09:00:01Z")
    balance = view(h)["balance"]
    assert (balance["fees"], balance["interest"], balance["outstanding"]) == (
        "240.00",
        "12.00",
        "1452.00",
    )


def test_vendor_1_vendor_when_both_and_a_payment_suspension_still_needs_payment() -> None:
    """VENDOR-1: overdue annual-b2b is suspended for payment (PAY-2); suspended by the
    vendor too, the state says "vendor"; reinstated, "payment" again until everything
    overdue is paid, then active."""
    h = overdue_b2b()
    assert (view(h)["status"], view(h)["suspension"]) == ("suspended", "payment")
    do(h, "suspend_account", reason="fraud check", at="2026-02-01T00:00:00Z")
    assert view(h)["suspension"] == "vendor"
    do(h, "reinstate_account", at="2026-02-02T00:00:00Z")
    assert (view(h)["status"], view(h)["suspension"], view(h)["access"]) == (
        "suspended",
        "payment",
        False,
    )
    h.do("record_payment", amount=146400, reference="bank-1", at="2026-02-02T00:00:00Z")
    assert (view(h)["status"], view(h)["suspension"], view(h)["access"]) == ("active", None, True)


def test_vendor_1_reinstating_ends_the_vendor_suspension() -> None:
    """VENDOR-1 (scenario 08): reinstated, active with access and no suspension."""
    h = subscribed(plan="team")
    do(h, "suspend_account", reason="chargeback", at="2026-04-20T00:00:00Z")
    assert do(h, "reinstate_account", at="2026-05-02T00:00:00Z")[0] == "ReinstatedByVendor"
    state = view(h)
    assert (state["status"], state["access"], state["suspension"]) == ("active", True, None)


def test_vendor_1_already_suspended_and_not_suspended() -> None:
    """VENDOR-1: a second suspension is already_suspended; reinstating without a vendor
    suspension (a PAY-2 one is not the vendor's) is not_suspended."""
    h = overdue_b2b()
    rejects(h, ErrorCode.NOT_SUSPENDED, "reinstate_account", at="2026-02-01T00:00:00Z")
    do(h, "suspend_account", reason="check", at="2026-02-01T00:00:00Z")
    rejects(
        h, ErrorCode.ALREADY_SUSPENDED, "suspend_account", reason="again", at="2026-02-02T00:00:00Z"
    )
    do(h, "reinstate_account", at="2026-02-03T00:00:00Z")
    rejects(h, ErrorCode.NOT_SUSPENDED, "reinstate_account", at="2026-02-04T00:00:00Z")


def test_vendor_1_notices_of_suspension_and_reinstatement() -> None:
    """VENDOR-1: the customer is told, by email at once; the vendor's reason stays in the
    ledger (it may be an internal note), the reinstatement says whether a payment
    suspension remains."""
    h = overdue_b2b()
    do(h, "suspend_account", reason="internal: chargeback #4411", at="2026-02-01T00:00:00Z")
    do(h, "reinstate_account", at="2026-02-02T00:00:00Z")
    notices = [(n.kind, n.effective_at, n.details) for n in h.named("NoticeSent")]
    assert notices == [
        ("account_suspended", t("2026-02-01T00:00:00Z"), {}),
        ("account_reinstated", t("2026-02-02T00:00:00Z"), {"payment_suspension": True}),
    ]


# ================================================================ VENDOR-2
def test_vendor_2_the_subscription_ends_at_once_without_refund_or_fee() -> None:
    """VENDOR-2: a paid annual basic (300.00) terminated in month two: ended now, access
    off, no refund, no credit note, no fee; status ended (section 8)."""
    h = subscribed(term="annual")
    got = do(h, "terminate_by_vendor", reason="abuse", export_days=30, at="2026-05-15T00:00:00Z")
    assert got == ["SubscriptionEnded", "TerminatedByVendor", "NoticeSent"]
    assert one(h, "SubscriptionEnded").reason == "vendor_terminated"
    state = view(h)
    assert (state["status"], state["access"], state["access_until"]) == ("ended", False, None)
    assert state["balance"] == {
        "invoiced": "300.00",
        "paid": "300.00",
        "refunded": "0.00",
        "credit": "0.00",
        "outstanding": "0.00",
        "principal": "0.00",
        "interest": "0.00",
        "fees": "0.00",
    }
    h.advance("2027-05-01T00:00:00Z")
    assert len(invoices(h)) == 1  # never renewed


def test_vendor_2_a_trial_ends_at_once() -> None:
    """VENDOR-2: a live trial ends at t (access off): status ended, not trial_expired."""
    h = harness()
    h.do("start_trial", plan="basic", at=S, book=h.book)
    do(h, "terminate_by_vendor", reason="abuse", export_days=30, at="2026-04-03T00:00:00Z")
    ended = one(h, "TrialEnded")
    assert (ended.at, ended.outcome) == (t("2026-04-03T00:00:00Z"), "terminated")
    assert (view(h)["status"], view(h)["access"]) == ("ended", False)


def test_vendor_2_issued_invoices_stay_due_and_dunning_goes_on() -> None:
    """VENDOR-2: annual-b2b by bank transfer terminated before the due date: the invoice
    is still due 01-19, overdue after it with 240.00 compensation and 12.00 interest,
    then 12.00 a month."""
    h = b2b()
    do(h, "terminate_by_vendor", reason="breach", export_days=30, at="2026-01-10T00:00:00Z")
    h.advance("2026-02-19T09:00:01Z")
    state = view(h)
    assert state["invoices"][0]["status"] == "overdue"
    assert (state["balance"]["fees"], state["balance"]["interest"]) == ("240.00", "24.00")


def test_vendor_2_queued_prepaid_refunded_in_full_the_running_one_is_not() -> None:
    """VENDOR-2 with TERM-6: device-cloud, a running 3-month package (15.00) and a queued
    one (15.00), both paid by card: the queued one is voided and its 15.00 refunded, the
    running one ends without refund."""
    h = harness(DEVICE_CLOUD)
    h.do("purchase_prepaid", plan="cloud", months=3, method="card", at=S, book=h.book)
    h.do(
        "purchase_prepaid",
        plan="cloud",
        months=3,
        method="card",
        at="2026-04-02T00:00:00Z",
        book=h.book,
    )
    do(h, "terminate_by_vendor", reason="abuse", export_days=30, at="2026-05-01T00:00:00Z")
    assert [p.state for p in h.account.prepaid] == ["ended", "cancelled"]
    state = view(h)
    assert state["refunds"] == [{"amount": "15.00", "at": "2026-05-01T00:00:00Z"}]
    assert [(i["amount"], i["status"]) for i in state["invoices"]] == [
        ("15.00", "paid"),
        ("0.00", "void"),
    ]
    assert (state["status"], state["access"]) == ("ended", False)
    assert one(h, "QueuedPrepaidCancelled").by == "vendor"


@pytest.mark.parametrize(
    ("export_days", "until"),
    [(None, "2026-05-15T00:00:00Z"), (0, "2026-04-15T00:00:00Z"), (90, "2026-07-14T00:00:00Z")],
)
def test_vendor_2_export_until_is_t_plus_export_days_shown_in_the_state(
    export_days: int | None, until: str
) -> None:
    """VENDOR-2: export_until = t + export_days exact days (default 30), in the state."""
    fields: dict[str, Any] = {"account": "a", "reason": "abuse"}
    if export_days is not None:
        fields["export_days"] = export_days
    command = parse_command("terminate_by_vendor", fields, t("2026-04-15T00:00:00Z"))
    h = subscribed()
    do(
        h,
        "terminate_by_vendor",
        reason="abuse",
        export_days=command.export_days,  # type: ignore[attr-defined]
        at="2026-04-15T00:00:00Z",
    )
    assert one(h, "TerminatedByVendor").export_until == t(until)
    assert view(h)["export_until"] == until


@pytest.mark.parametrize("export_days", [-1, 91, "30", 1.5, True])
def test_vendor_2_export_days_outside_0_to_90_is_invalid_input(export_days: Any) -> None:
    """VENDOR-2: 0 to 90 whole days, else invalid_input naming export_days; the domain
    refuses it too, recording nothing."""
    with pytest.raises(Rejected) as caught:
        parse_command(
            "terminate_by_vendor",
            {"account": "a", "reason": "abuse", "export_days": export_days},
            t("2026-04-15T00:00:00Z"),
        )
    assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID_INPUT, "export_days")
    if isinstance(export_days, int) and not isinstance(export_days, bool):
        rejects(
            subscribed(),
            ErrorCode.INVALID_INPUT,
            "terminate_by_vendor",
            reason="x",
            export_days=export_days,
            at="2026-04-15T00:00:00Z",
        )


def test_vendor_2_export_stays_accepted_in_the_window_and_after() -> None:
    """VENDOR-2: export_personal_data is accepted during the export window (the data is
    still there) and after it (GDPR-4: the fields then read as erased)."""
    h = subscribed()
    do(h, "terminate_by_vendor", reason="abuse", export_days=10, at="2026-04-15T00:00:00Z")
    assert h.do("export_personal_data", at="2026-04-20T00:00:00Z") == ["PersonalDataExported"]
    assert h.account.personal_state == "present"
    h.advance("2026-05-01T00:00:00Z")
    assert h.do("export_personal_data", at="2026-05-01T00:00:00Z") == ["PersonalDataExported"]
    assert h.account.personal_state == "erased"


@pytest.mark.parametrize(
    ("command", "kwargs"),
    [
        ("start_trial", {"plan": "basic"}),
        ("subscribe", {"plan": "basic", "term": "monthly", "method": "card"}),
        ("purchase_prepaid", {"plan": "cloud", "months": 1, "method": "card"}),
    ],
)
def test_vendor_2_the_account_stays_open_but_refuses_a_new_agreement(
    command: str, kwargs: dict[str, Any]
) -> None:
    """VENDOR-2: start_trial, subscribe, purchase_prepaid: vendor_terminated (003 "right
    to refuse"); the account is open (not account_closed) and takes a payment."""
    h = harness(DEVICE_CLOUD)
    do(h, "terminate_by_vendor", reason="abuse", export_days=30, at=S)
    rejects(
        h, ErrorCode.VENDOR_TERMINATED, command, at="2026-04-02T00:00:00Z", book=h.book, **kwargs
    )
    assert not h.account.is_closed
    assert h.do("record_payment", amount=100, reference="r1", at="2026-04-02T00:00:00Z") == [
        "PaymentReceived"
    ]


def test_vendor_2_a_second_termination_is_vendor_terminated() -> None:
    """VENDOR-2 (reading): the vendor cannot terminate twice."""
    h = subscribed()
    do(h, "terminate_by_vendor", reason="abuse", export_days=30, at="2026-04-15T00:00:00Z")
    rejects(
        h,
        ErrorCode.VENDOR_TERMINATED,
        "terminate_by_vendor",
        reason="again",
        export_days=5,
        at="2026-04-16T00:00:00Z",
    )


@pytest.mark.parametrize(
    ("profile", "plan", "path"),
    [
        # soft-deleted at export_until, anonymised 6 calendar months later (Mar 31 -> Sep 30)
        (
            ANNUAL_B2B,
            "standard",
            [
                ("PersonalDataSoftDeleted", "2026-03-31T00:00:00Z"),
                ("PersonalDataAnonymised", "2026-09-30T00:00:00Z"),
            ],
        ),
        # erasure scheduled at export_until for 6 calendar months later
        (
            CRM_RETENTION,
            "basic",
            [
                ("ErasureScheduled", "2026-03-31T00:00:00Z"),
                ("PersonalDataErased", "2026-09-30T00:00:00Z"),
            ],
        ),
        (MONTHLY_AUTORENEW, "basic", [("PersonalDataErased", "2026-03-31T00:00:00Z")]),
        (DEVICE_CLOUD, "cloud", [("PersonalDataErased", "2026-03-31T00:00:00Z")]),
    ],
    ids=lambda v: getattr(v, "name", None),
)
def test_vendor_2_the_personal_data_path_runs_counted_from_export_until(
    profile: Any, plan: str, path: list[tuple[str, str]]
) -> None:
    """VENDOR-2: terminated 2026-03-01 with 30 export days: until 03-31 nothing happens
    to the personal data; then the profile's path after a relationship ends, counted from
    export_until (not from the subscription's end); the invoice identity is retained
    (GDPR-3)."""
    term = "annual" if profile is ANNUAL_B2B else "monthly"
    h = subscribed(profile, plan=plan, term=term, at="2026-02-01T00:00:00Z")
    do(h, "terminate_by_vendor", reason="breach", export_days=30, at="2026-03-01T00:00:00Z")
    h.advance("2026-03-31T00:00:00Z")
    assert h.account.personal_state == "present"
    h.advance("2026-04-15T00:00:00Z")  # activity keeps crm's inactivity closure (ACCOUNT-3)
    h.do("record_activity", at="2026-04-15T00:00:00Z")  # after 09-30
    h.advance("2027-01-01T00:00:00Z")
    privacy = {
        "PersonalDataSoftDeleted",
        "PersonalDataAnonymised",
        "ErasureScheduled",
        "PersonalDataErased",
    }
    assert [(type(e).__name__, e.at) for e in h.events if type(e).__name__ in privacy] == [
        (name, t(at)) for name, at in path
    ]
    closed = one(h, "ExportWindowClosed")
    assert (closed.at, closed.action) == (
        t("2026-03-31T00:00:00Z"),
        {
            "soft_delete_then_anonymise": "soft_delete",
            "erase_after_end": "schedule_erasure",
            "erase_at_closure": "erase",
        }[profile.retention],
    )
    retained = h.named("InvoiceIdentityRetained")
    assert [e.at for e in retained] == [t(path[-1][1])]
    assert h.account.billing_state == "retained"


def test_vendor_2_a_deletion_request_in_the_window_leaves_nothing_for_its_end() -> None:
    """VENDOR-2 with GDPR-1: erased on request during the window; at its end nothing more
    runs, and the ledger says so."""
    h = subscribed()
    do(h, "terminate_by_vendor", reason="abuse", export_days=30, at="2026-04-15T00:00:00Z")
    h.do("request_data_deletion", at="2026-04-20T00:00:00Z")
    h.advance("2026-06-01T00:00:00Z")
    assert one(h, "ExportWindowClosed").action == "none"
    assert len(h.named("PersonalDataErased")) == 1


def test_vendor_2_the_termination_notice_names_the_export_deadline() -> None:
    """VENDOR-2: the customer is told at once, with the export deadline."""
    h = subscribed()
    do(h, "terminate_by_vendor", reason="abuse", export_days=30, at="2026-04-15T00:00:00Z")
    notice = one(h, "NoticeSent")
    assert (notice.kind, notice.at, notice.details) == (
        "vendor_termination",
        t("2026-04-15T00:00:00Z"),
        {"export_until": "2026-05-15T00:00:00+00:00"},
    )


# ================================================================ VENDOR-3
def test_vendor_3_the_subscription_ends_with_liquidated_damages() -> None:
    """VENDOR-3: overdue standard 1200.00: cancelled 02-01, access off, never renewed;
    liquidated damages 20 % of 1200.00 = 240.00 as a fee, beside the 240.00 fixed
    compensation: fees 480.00, plus 12.00 interest."""
    h = overdue_b2b()
    got = do(h, "cancel_for_nonpayment", at="2026-02-01T00:00:00Z")
    assert got[:2] == ["SubscriptionEnded", "LiquidatedDamagesCharged"]
    assert one(h, "SubscriptionEnded").reason == "nonpayment"
    damages = one(h, "LiquidatedDamagesCharged")
    assert (damages.amount, damages.basis, damages.at) == (24000, 120000, t("2026-02-01T00:00:00Z"))
    state = view(h)
    assert (state["status"], state["access"]) == ("ended", False)
    assert (
        state["balance"]["fees"],
        state["balance"]["interest"],
        state["balance"]["principal"],
    ) == ("480.00", "12.00", "1200.00")
    h.advance("2027-01-06T00:00:00Z")
    assert len(invoices(h)) == 1


def test_vendor_3_liquidated_damages_at_least_100() -> None:
    """VENDOR-3: starter 300.00: 20 % is 60.00, so the 100.00 minimum."""
    h = overdue_b2b("starter")
    do(h, "cancel_for_nonpayment", at="2026-02-01T00:00:00Z")
    assert one(h, "LiquidatedDamagesCharged").amount == 10000


def test_vendor_3_damages_count_proration_and_acceleration_makes_it_due_at_once() -> None:
    """VENDOR-3: standard 1200.00 upgraded to premium on 05-31 with 219 of 365 days left:
    proration 600 x 219/365 = 360.00, due 06-14; the price paid so far is 1560.00, so the
    damages are 312.00. Cancelled 06-01: invoice 2 falls due at once (acceleration) and
    PAY-2/PAY-3 apply from then: overdue after 06-01 with the 150.00 minimum
    compensation and 3.60 interest (1 % of 360.00)."""
    h = overdue_b2b()
    h.advance("2026-05-31T09:00:00Z")
    do(h, "change_plan", plan="premium", at="2026-05-31T09:00:00Z")
    h.advance("2026-06-01T00:00:00Z")
    got = do(h, "cancel_for_nonpayment", at="2026-06-01T00:00:00Z")
    assert "InvoiceAccelerated" in got
    assert one(h, "LiquidatedDamagesCharged").amount == 31200
    accelerated = one(h, "InvoiceAccelerated")
    assert (accelerated.n, accelerated.due_at) == (2, t("2026-06-01T00:00:00Z"))
    assert view(h)["invoices"][1]["due_at"] == "2026-06-01T00:00:00Z"
    h.advance("2026-06-01T00:00:01Z")
    assert [(e.n, e.at) for e in h.named("InvoiceOverdue")][-1] == (2, t("2026-06-01T00:00:00Z"))
    compensation = [e for e in h.named("CompensationCharged") if e.n == 2]
    interest = [e for e in h.named("InterestCharged") if e.n == 2]
    assert [(e.amount, e.at) for e in compensation] == [(15000, t("2026-06-01T00:00:00Z"))]
    assert [(e.amount, e.at) for e in interest] == [(360, t("2026-06-01T00:00:00Z"))]


def test_vendor_3_damages_are_allocated_with_the_fixed_compensation() -> None:
    """VENDOR-3 with PAY-4: a payment pays collection costs, then fixed compensation and
    the damages (oldest first), then interest, then principal. 500.00 after the
    cancellation: 240.00 compensation, 240.00 damages, 12.00 interest, 8.00 principal."""
    h = overdue_b2b()
    do(h, "cancel_for_nonpayment", at="2026-02-01T00:00:00Z")
    h.do("record_payment", amount=50000, reference="bank-1", at="2026-02-02T00:00:00Z")
    paid = h.named("PaymentReceived")[-1]
    assert [tuple(line) for line in paid.allocations] == [
        ("comp:1", 24000),
        ("ld:3", 24000),
        ("int:1:0", 1200),
        ("inv:1", 800),
    ]


def test_vendor_3_soft_deletes_at_once() -> None:
    """VENDOR-3 with GDPR-2 (1.1): annual-b2b soft-deletes at the cancellation, and
    anonymises 6 calendar months later."""
    h = overdue_b2b()
    do(h, "cancel_for_nonpayment", at="2026-02-01T00:00:00Z")
    soft = one(h, "PersonalDataSoftDeleted")
    assert (soft.at, soft.anonymise_at) == (t("2026-02-01T00:00:00Z"), t("2026-08-01T00:00:00Z"))
    assert view(h)["privacy"]["personal_data"] == "soft_deleted"


def test_vendor_3_nothing_overdue() -> None:
    """VENDOR-3: before the due date nothing is overdue: nothing_overdue; also once
    everything overdue is paid."""
    h = b2b()
    rejects(h, ErrorCode.NOTHING_OVERDUE, "cancel_for_nonpayment", at="2026-01-19T09:00:00Z")
    g = overdue_b2b()
    g.do("record_payment", amount=145200, reference="bank-1", at="2026-02-01T00:00:00Z")
    rejects(g, ErrorCode.NOTHING_OVERDUE, "cancel_for_nonpayment", at="2026-02-02T00:00:00Z")


def test_vendor_3_no_live_subscription_is_no_subscription() -> None:
    """VENDOR-3 (reading): overdue but nothing live to cancel (the vendor terminated it):
    no_subscription."""
    h = overdue_b2b()
    do(h, "terminate_by_vendor", reason="breach", export_days=30, at="2026-02-01T00:00:00Z")
    rejects(h, ErrorCode.NO_SUBSCRIPTION, "cancel_for_nonpayment", at="2026-02-02T00:00:00Z")


@pytest.mark.parametrize(
    "profile", [MONTHLY_AUTORENEW, CRM_RETENTION, DEVICE_CLOUD], ids=lambda p: p.name
)
def test_vendor_3_other_profiles_not_offered(profile: Any) -> None:
    """VENDOR-3: every other profile: not_offered, even with an invoice overdue."""
    plan = "cloud" if profile is DEVICE_CLOUD else "basic"
    h = subscribed(profile, plan=plan, method="bank_transfer")
    h.advance("2026-04-02T00:00:00Z")
    assert view(h)["invoices"][0]["status"] == "overdue"
    rejects(h, ErrorCode.NOT_OFFERED, "cancel_for_nonpayment", at="2026-04-02T00:00:00Z")


def test_vendor_3_the_numbers_are_profile_data() -> None:
    """VENDOR-3: percent and minimum live in the profile, absent from those that refuse;
    a fifth profile sets its own (10 %, at least 50.00) and gets the remedy."""
    assert {
        name: (p.nonpayment_damages_percent, p.nonpayment_damages_min_minor)
        for name, p in BUILT_IN_PROFILES.items()
    } == {
        "monthly-autorenew": (None, 0),
        "annual-b2b": (Decimal(20), 10000),
        "crm-retention": (None, 0),
        "device-cloud": (None, 0),
    }
    fifth = profile_from_mapping(
        {"nonpayment_damages_percent": "10", "nonpayment_damages_min_minor": 5000},
        base=MONTHLY_AUTORENEW,
        where="profiles.fifth",
    )
    h = Harness(fifth, S, catalog=CATALOG)
    h.do("subscribe", plan="team", term="monthly", method="bank_transfer", at=S, book=h.book)
    h.advance("2026-04-02T00:00:00Z")
    do(h, "cancel_for_nonpayment", at="2026-04-02T00:00:00Z")
    assert one(h, "LiquidatedDamagesCharged").amount == 5000  # 10 % of 60.00 < 50.00
    assert view(h)["status"] == "ended"


def test_vendor_3_the_customer_is_told() -> None:
    """VENDOR-3: a notice with the damages and the invoices made due at once."""
    h = overdue_b2b()
    do(h, "cancel_for_nonpayment", at="2026-02-01T00:00:00Z")
    notice = one(h, "NoticeSent")
    assert (notice.kind, notice.details) == (
        "nonpayment_cancellation",
        {"damages": 24000, "accelerated": []},
    )
