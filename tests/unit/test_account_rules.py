"""The rules of SPEC sections 1-7, checked against the pure `Account` aggregate.

No database: `account_kit.Harness` registers an account, calls its command methods, runs
its scheduled work with `run_due` and answers its collection requests like the simulated
payment provider. Status and balance checks fold the recorded events through the real
account projection (`projections.account_view`), as the ledger does.
"""

from __future__ import annotations

import copy
import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from account_kit import (
    ANNUAL_B2B,
    CRM_RETENTION,
    DEVICE_CLOUD,
    MONTHLY_AUTORENEW,
    SECOND,
    Harness,
    advance,
    book,
    names,
    t,
)

from domain.account import Account
from domain.allocation import Owed, allocate
from domain.calendar import add_months
from domain.errors import ErrorCode, Rejected
from domain.pricing import PriceChange
from domain.profiles import BUILT_IN_PROFILES, Period
from projections.account_view import apply, new_doc, observe

T0 = "2026-01-05T09:00:00Z"  # a Monday


# ---------------------------------------------------------------- helpers
def view(h: Harness, as_of: datetime | str | None = None) -> dict[str, Any]:
    """The observed state (scenarios/FORMAT.md) folded from everything recorded."""
    doc = new_doc(h.ref)
    for event in h.events:
        apply(doc, event)
    return observe(doc, t(as_of) if isinstance(as_of, str) else as_of)


def _decision_state(account: Account) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(account).items() if k != "_pending_events"})


def rejects(h: Harness, code: ErrorCode, command: str, **kwargs: Any) -> Rejected:
    """Section 0: the command is refused with `code` and records (and changes) nothing."""
    assert h.account.collect_events() == []
    before = _decision_state(h.account)
    with pytest.raises(Rejected) as caught:
        h.do(command, **kwargs)
    assert caught.value.code is code, caught.value.message
    assert h.account.collect_events() == [], "a rejected command left pending events"
    assert _decision_state(h.account) == before, "a rejected command changed the state"
    return caught.value


def of(h: Harness, name: str) -> list[Any]:
    return h.named(name)


def one(h: Harness, name: str) -> Any:
    found = h.named(name)
    assert len(found) == 1, f"{name}: {len(found)} recorded, events {h.event_names()}"
    return found[0]


def subscribed(
    profile: Any = MONTHLY_AUTORENEW,
    *,
    plan: str = "basic",
    term: str = "monthly",
    method: str = "card",
    at: str = T0,
    psp: str = "approve",
    **kwargs: Any,
) -> Harness:
    h = Harness(profile, at, psp=psp)
    h.do("subscribe", plan=plan, term=term, method=method, at=at, **kwargs)
    return h


# ================================================================ 1. trials
@pytest.mark.parametrize(
    "profile", [MONTHLY_AUTORENEW, ANNUAL_B2B, DEVICE_CLOUD], ids=lambda p: p.name
)
def test_trial_1_one_trial_per_account_ever(profile: Any) -> None:
    """TRIAL-1: a second start_trial, during or after the first, is trial_already_used."""
    h = Harness(profile, T0)
    assert h.do("start_trial", plan="basic", at=T0) == ["TrialStarted"]
    rejects(h, ErrorCode.TRIAL_ALREADY_USED, "start_trial", plan="basic", at="2026-01-06T09:00:00Z")
    h.advance("2026-03-01T00:00:00Z")  # the trial has expired by now
    assert one(h, "TrialEnded").outcome == "expired"
    rejects(h, ErrorCode.TRIAL_ALREADY_USED, "start_trial", plan="pro", at="2026-03-01T00:00:00Z")


@pytest.mark.parametrize(
    ("profile", "ends_at"),
    [
        (MONTHLY_AUTORENEW, "2026-01-12T09:00:00Z"),  # 7 days
        (ANNUAL_B2B, "2026-01-20T09:00:00Z"),  # 15 days from the trial start
        (DEVICE_CLOUD, "2026-01-19T09:00:00Z"),  # 14 days
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_trial_2_trial_length_per_profile(profile: Any, ends_at: str) -> None:
    """TRIAL-2: 7 / 15 / 14 days, exact 24-hour days from the trial start."""
    h = Harness(profile, "2026-01-04T15:00:00Z")
    h.do("start_trial", plan="basic", at=T0)
    assert one(h, "TrialStarted").ends_at == t(ends_at)
    assert view(h)["access_until"] == ends_at
    assert view(h)["status"] == "trial"


def test_trial_2_crm_retention_offers_no_trial() -> None:
    """TRIAL-2: crm-retention offers none: trial_not_offered."""
    h = Harness(CRM_RETENTION, T0)
    rejects(h, ErrorCode.TRIAL_NOT_OFFERED, "start_trial", plan="basic", at=T0)


def test_trial_3_trial_end_expires_without_invoice() -> None:
    """TRIAL-3: access, no invoice; after its end (strictly past it) status trial_expired."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("start_trial", plan="basic", at=T0)
    state = view(h)
    assert (state["status"], state["access"]) == ("trial", True)
    assert h.advance("2026-01-12T09:00:00Z") == []  # exactly at the end: still a trial
    assert view(h)["status"] == "trial"
    assert h.advance("2026-01-12T09:00:01Z") == ["TrialEnded"]
    ended = one(h, "TrialEnded")
    assert (ended.at, ended.outcome) == (t("2026-01-12T09:00:00Z"), "expired")
    state = view(h)
    assert (state["status"], state["access"], state["access_until"]) == (
        "trial_expired",
        False,
        None,
    )
    assert of(h, "InvoiceIssued") == []
    assert state["balance"]["invoiced"] == "0.00"


def test_trial_4_subscribing_during_trial_ends_it_and_starts_the_first_term() -> None:
    """TRIAL-4: the trial ends at the subscription instant; first term and invoice start then."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("start_trial", plan="basic", at=T0)
    got = h.do("subscribe", plan="basic", term="monthly", method="card", at="2026-01-10T12:00:00Z")
    assert got[:3] == ["TrialEnded", "Subscribed", "InvoiceIssued"]
    ended = one(h, "TrialEnded")
    assert (ended.at, ended.outcome) == (t("2026-01-10T12:00:00Z"), "converted")
    invoice = one(h, "InvoiceIssued")
    assert invoice.at == invoice.period_start == t("2026-01-10T12:00:00Z")
    assert invoice.period_end == t("2026-02-10T12:00:00Z")
    assert invoice.amount == 2900
    state = view(h)
    assert (state["status"], state["access_until"]) == ("active", "2026-02-10T12:00:00Z")
    # the trial's own end no longer does anything
    assert "TrialEnded" not in h.advance("2026-01-12T09:00:01Z")


def test_trial_5_device_cloud_trial_cannot_be_cancelled() -> None:
    """TRIAL-5: device-cloud: request_cancellation in a trial is trial_not_cancellable."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("start_trial", plan="cloud", at=T0)
    rejects(h, ErrorCode.TRIAL_NOT_CANCELLABLE, "request_cancellation", at="2026-01-07T09:00:00Z")
    assert h.account.live_trial() is not None
    assert view(h)["status"] == "trial"


def test_trial_5_other_profiles_trial_is_cancellable() -> None:
    """TRIAL-5 (contrast): a monthly-autorenew trial can be cancelled."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("start_trial", plan="basic", at=T0)
    assert h.do("request_cancellation", at="2026-01-07T09:00:00Z") == ["TrialEnded"]
    assert h.account.live_trial() is None
    assert view(h)["access"] is False


# ================================================================ 2. subscribing
@pytest.mark.parametrize(
    ("profile", "plan", "term", "code"),
    [
        (MONTHLY_AUTORENEW, "basic", "monthly", None),
        (MONTHLY_AUTORENEW, "basic", "quarterly", None),
        (MONTHLY_AUTORENEW, "basic", "semiannual", None),
        (MONTHLY_AUTORENEW, "basic", "annual", None),
        (ANNUAL_B2B, "basic", "annual", None),
        (ANNUAL_B2B, "basic", "monthly", ErrorCode.TERM_NOT_OFFERED),
        (ANNUAL_B2B, "basic", "quarterly", ErrorCode.TERM_NOT_OFFERED),
        (ANNUAL_B2B, "basic", "semiannual", ErrorCode.TERM_NOT_OFFERED),
        (CRM_RETENTION, "basic", "monthly", None),
        (CRM_RETENTION, "basic", "annual", None),
        (CRM_RETENTION, "basic", "quarterly", ErrorCode.TERM_NOT_OFFERED),
        (CRM_RETENTION, "basic", "semiannual", ErrorCode.TERM_NOT_OFFERED),
        (DEVICE_CLOUD, "cloud", "monthly", None),
        (DEVICE_CLOUD, "cloud", "annual", None),
        (DEVICE_CLOUD, "basic", "quarterly", ErrorCode.TERM_NOT_OFFERED),
        (DEVICE_CLOUD, "basic", "semiannual", ErrorCode.TERM_NOT_OFFERED),
        (MONTHLY_AUTORENEW, "pro", "quarterly", ErrorCode.TERM_NOT_OFFERED),  # not priced
        (MONTHLY_AUTORENEW, "gold", "monthly", ErrorCode.UNKNOWN_PLAN),
        (ANNUAL_B2B, "gold", "annual", ErrorCode.UNKNOWN_PLAN),
        (DEVICE_CLOUD, "gold", "monthly", ErrorCode.UNKNOWN_PLAN),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_term_1_terms_offered(profile: Any, plan: str, term: str, code: ErrorCode | None) -> None:
    """TERM-1: terms per profile; another term is term_not_offered; unknown_plan."""
    h = Harness(profile, T0)
    if code is None:
        assert h.do("subscribe", plan=plan, term=term, method="card", at=T0)[:2] == [
            "Subscribed",
            "InvoiceIssued",
        ]
        assert h.account.live_subscription() is not None
    else:
        rejects(h, code, "subscribe", plan=plan, term=term, method="card", at=T0)


def test_term_1_already_subscribed_while_live() -> None:
    """TERM-1: subscribing while a subscription is live (even pending cancellation)."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly")
    rejects(
        h,
        ErrorCode.ALREADY_SUBSCRIBED,
        "subscribe",
        plan="pro",
        term="monthly",
        method="card",
        at="2026-01-06T09:00:00Z",
    )
    h.do("request_cancellation", at="2026-01-20T09:00:00Z")
    rejects(
        h,
        ErrorCode.ALREADY_SUBSCRIBED,
        "subscribe",
        plan="basic",
        term="annual",
        method="card",
        at="2026-01-21T09:00:00Z",
    )
    h.advance("2026-02-05T09:00:01Z")
    assert view(h)["status"] == "ended"
    h.do("subscribe", plan="pro", term="monthly", method="card", at="2026-02-06T09:00:00Z")
    assert view(h)["status"] == "active"


def test_term_2_each_term_invoiced_at_its_start_numbered_per_account() -> None:
    """TERM-2: an invoice per term at its start, for the catalog price; numbered 1, 2, ..."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly", at="2026-01-31T10:00:00Z")
    h.advance("2026-04-01T00:00:00Z")
    issued = of(h, "InvoiceIssued")
    assert [i.n for i in issued] == [1, 2, 3]
    assert [i.at for i in issued] == [
        t("2026-01-31T10:00:00Z"),
        t("2026-02-28T10:00:00Z"),
        t("2026-03-31T10:00:00Z"),
    ]
    assert all(i.at == i.period_start for i in issued)
    assert [i.amount for i in issued] == [2900, 2900, 2900]
    other = subscribed(MONTHLY_AUTORENEW, term="annual")
    assert [i.n for i in of(other, "InvoiceIssued")] == [1]  # per account
    assert one(other, "InvoiceIssued").amount == 29000


@pytest.mark.parametrize(
    ("method", "collected"),
    [
        ("card", True),
        ("direct_debit", True),
        ("paypal", False),
        ("cash", False),
        ("one_time", False),
        ("bank_transfer", False),
    ],
)
def test_term_3_stored_methods_collected_manual_not(method: str, collected: bool) -> None:
    """TERM-3: card and direct_debit are collected on the invoice date; manual methods not."""
    h = subscribed(MONTHLY_AUTORENEW, term="annual", method=method)
    requests = of(h, "CollectionRequested")
    if collected:
        assert len(requests) == 1
        request = requests[0]
        assert (request.n, request.at, request.amount, request.method) == (1, t(T0), 29000, method)
        assert one(h, "PaymentReceived").amount == 29000
        assert view(h)["invoices"][0]["status"] == "paid"
    else:
        assert requests == []
        assert of(h, "PaymentReceived") == []
        assert view(h)["balance"]["outstanding"] == "290.00"


@pytest.mark.parametrize(
    ("profile", "plan", "term", "method", "psp", "due"),
    [
        (ANNUAL_B2B, "basic", "annual", "card", "approve", T0),
        (ANNUAL_B2B, "basic", "annual", "card", "decline", "2026-01-19T09:00:00Z"),
        (ANNUAL_B2B, "basic", "annual", "bank_transfer", "approve", "2026-01-19T09:00:00Z"),
        (MONTHLY_AUTORENEW, "basic", "monthly", "card", "decline", T0),
        (MONTHLY_AUTORENEW, "basic", "monthly", "paypal", "approve", T0),
        (CRM_RETENTION, "basic", "annual", "cash", "approve", T0),
        (DEVICE_CLOUD, "cloud", "annual", "one_time", "approve", T0),
        (DEVICE_CLOUD, "cloud", "annual", "direct_debit", "decline", T0),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_term_4_due_dates(
    profile: Any, plan: str, term: str, method: str, psp: str, due: str
) -> None:
    """TERM-4: collected invoices are due on the invoice date; failed or manual: +terms days."""
    h = subscribed(profile, plan=plan, term=term, method=method, psp=psp)
    assert view(h)["invoices"][0]["due_at"] == due
    assert h.account.invoices[1].due_at == t(due)


def test_term_4_failed_collection_is_overdue_only_after_payment_terms() -> None:
    """TERM-4 + PAY-2: a declined b2b collection is due 14 days later, not at once."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual", psp="decline")
    assert one(h, "CollectionFailed").due_at == t("2026-01-19T09:00:00Z")
    assert h.advance("2026-01-19T09:00:00Z") == []
    assert view(h)["status"] == "active"
    assert "InvoiceOverdue" in h.advance("2026-01-19T09:00:01Z")


def test_term_5_discount_on_first_term_only() -> None:
    """TERM-5: discount_percent applies to the first term only, never to a renewal."""
    h = subscribed(
        MONTHLY_AUTORENEW, term="quarterly", at="2026-03-31T10:00:00Z", discount_percent=Decimal(20)
    )
    first = one(h, "InvoiceIssued")
    assert (first.list_price, first.discount, first.amount) == (7500, 1500, 6000)
    h.advance("2026-07-01T00:00:00Z")
    renewal = of(h, "InvoiceIssued")[1]
    assert (renewal.at, renewal.discount, renewal.amount) == (t("2026-06-30T10:00:00Z"), 0, 7500)
    assert view(h)["balance"]["invoiced"] == "135.00"


@pytest.mark.parametrize(
    ("percent", "amount"),
    [
        ("12.5", 2538),  # 87.5% of 29.00 = 25.375: the charge rounds half-up to 25.38
        ("20", 2320),
        ("33.33", 1933),  # 66.67% of 29.00 = 19.3343 -> 19.33
        ("0", 2900),
        ("100", 0),
    ],
)
def test_term_5_discounted_charge_rounds_half_up_once(percent: str, amount: int) -> None:
    """TERM-5 + section 0: the computed charge (the discounted price) rounds half-up to the
    cent once, when it is charged."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly", discount_percent=Decimal(percent))
    invoice = one(h, "InvoiceIssued")
    assert invoice.amount == amount
    assert invoice.list_price - invoice.discount == amount


def test_term_6_prepaid_price_and_immediate_effect() -> None:
    """TERM-6: N x monthly price (or the catalog package), effective at once, collected."""
    h = Harness(DEVICE_CLOUD, T0)
    got = h.do("purchase_prepaid", plan="cloud", months=3, method="card", at=T0)
    assert got == ["PrepaidPurchased", "InvoiceIssued", "CollectionRequested", "PaymentReceived"]
    purchase = one(h, "PrepaidPurchased")
    assert (purchase.starts_at, purchase.ends_at, purchase.queued) == (
        t(T0),
        t("2026-04-05T09:00:00Z"),
        False,
    )
    assert one(h, "InvoiceIssued").amount == 3 * 500
    state = view(h)
    assert (state["status"], state["access"], state["access_until"]) == (
        "active",
        True,
        "2026-04-05T09:00:00Z",
    )

    package = Harness(DEVICE_CLOUD, T0, ref="pkg")
    package.do("purchase_prepaid", plan="cloud", months=12, method="card", at=T0)
    assert one(package, "InvoiceIssued").amount == 5500  # the catalog's prepaid_12


def test_term_6_prepaid_does_not_renew_and_is_not_cancellable() -> None:
    """TERM-6: no auto-renew; request_cancellation is prepaid_not_cancellable."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at=T0)
    rejects(h, ErrorCode.PREPAID_NOT_CANCELLABLE, "request_cancellation", at="2026-01-10T09:00:00Z")
    assert h.advance("2026-02-05T09:00:00Z") == []
    assert h.advance("2026-02-05T09:00:01Z") == ["PrepaidEnded"]
    assert len(of(h, "InvoiceIssued")) == 1
    assert (view(h)["status"], view(h)["access"]) == ("ended", False)


def test_term_6_queued_package_invoiced_at_purchase_starts_when_current_ends() -> None:
    """TERM-6: bought while another is unexpired: queued, invoiced and collected at purchase."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at=T0)
    got = h.do("purchase_prepaid", plan="cloud", months=2, method="card", at="2026-01-20T09:00:00Z")
    assert "CollectionRequested" in got
    queued = of(h, "PrepaidPurchased")[1]
    assert (queued.queued, queued.starts_at, queued.ends_at) == (
        True,
        t("2026-02-05T09:00:00Z"),
        t("2026-04-05T09:00:00Z"),
    )
    second = of(h, "InvoiceIssued")[1]
    assert (second.at, second.amount) == (t("2026-01-20T09:00:00Z"), 1000)
    assert h.advance("2026-02-05T09:00:01Z") == ["PrepaidEnded", "PrepaidStarted"]
    assert view(h)["access_until"] == "2026-04-05T09:00:00Z"
    assert view(h)["status"] == "active"


def test_term_6_cancel_queued_refunds_in_full_until_it_starts() -> None:
    """TERM-6: a queued package is cancellable (cancel_queued) for a full refund."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("purchase_prepaid", plan="cloud", months=3, method="card", at=T0)
    h.do("purchase_prepaid", plan="cloud", months=2, method="card", at="2026-01-06T09:00:00Z")
    got = h.do("cancel_queued", at="2026-01-07T09:00:00Z")
    assert got[0] == "QueuedPrepaidCancelled"
    assert one(h, "RefundIssued").amount == 1000
    state = view(h)
    assert state["refunds"] == [{"amount": "10.00", "at": "2026-01-07T09:00:00Z"}]
    assert state["invoices"][1]["status"] == "void"
    assert state["invoices"][1]["amount"] == "0.00"
    # money: 25.00 received, 10.00 returned, the 15.00 package is all that is invoiced
    assert state["balance"] == {
        "invoiced": "15.00",
        "paid": "25.00",
        "refunded": "10.00",
        "credit": "0.00",
        "outstanding": "0.00",
        "principal": "0.00",
        "interest": "0.00",
        "fees": "0.00",
    }
    assert state["access_until"] == "2026-04-05T09:00:00Z"
    assert "PrepaidStarted" not in h.advance("2026-04-05T09:00:01Z")


def test_term_6_cancel_queued_needs_a_queued_package() -> None:
    """TERM-6 / section 0: cancel_queued with nothing queued is nothing_to_cancel."""
    h = Harness(DEVICE_CLOUD, T0)
    rejects(h, ErrorCode.NOTHING_TO_CANCEL, "cancel_queued", at=T0)
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at=T0)
    rejects(h, ErrorCode.NOTHING_TO_CANCEL, "cancel_queued", at="2026-01-06T09:00:00Z")
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at="2026-01-07T09:00:00Z")
    h.advance("2026-02-05T09:00:01Z")  # the queued package has started
    rejects(h, ErrorCode.NOTHING_TO_CANCEL, "cancel_queued", at="2026-02-05T09:00:01Z")


def test_term_6_prepaid_and_subscription_exclude_each_other() -> None:
    """TERM-1/TERM-6: no subscription over a running package, no package over a subscription."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do("purchase_prepaid", plan="cloud", months=1, method="card", at=T0)
    rejects(
        h,
        ErrorCode.ALREADY_SUBSCRIBED,
        "subscribe",
        plan="cloud",
        term="monthly",
        method="card",
        at="2026-01-06T09:00:00Z",
    )
    s = subscribed(DEVICE_CLOUD, plan="cloud", term="monthly")
    rejects(
        s,
        ErrorCode.ALREADY_SUBSCRIBED,
        "purchase_prepaid",
        plan="cloud",
        months=3,
        method="card",
        at="2026-01-06T09:00:00Z",
    )


def test_term_6_prepaid_only_where_offered() -> None:
    """TERM-6: prepaid packages are a device-cloud offer; elsewhere term_not_offered."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    rejects(
        h,
        ErrorCode.TERM_NOT_OFFERED,
        "purchase_prepaid",
        plan="basic",
        months=3,
        method="card",
        at=T0,
    )
    d = Harness(DEVICE_CLOUD, T0)
    rejects(
        d, ErrorCode.UNKNOWN_PLAN, "purchase_prepaid", plan="gold", months=3, method="card", at=T0
    )


# ================================================================ 3. renewal
def test_renew_1_renews_same_length_from_the_anchor_at_price_in_force() -> None:
    """RENEW-1: same term length (series from the anchor), new invoice at the price then."""
    change = PriceChange("basic", "monthly", 3500, t("2026-03-01T00:00:00Z"), 0)
    h = Harness(MONTHLY_AUTORENEW, "2026-01-31T10:00:00Z", changes=[change])
    h.do("subscribe", plan="basic", term="monthly", method="card", at="2026-01-31T10:00:00Z")
    h.advance("2026-04-01T00:00:00Z")
    renewals = of(h, "Renewed")
    assert [r.at for r in renewals] == [t("2026-02-28T10:00:00Z"), t("2026-03-31T10:00:00Z")]
    assert [r.term_end for r in renewals] == [t("2026-03-31T10:00:00Z"), t("2026-04-30T10:00:00Z")]
    assert [i.amount for i in of(h, "InvoiceIssued")] == [2900, 2900, 3500]
    assert [i.kind for i in of(h, "InvoiceIssued")] == ["subscription", "renewal", "renewal"]
    assert view(h)["access_until"] == "2026-04-30T10:00:00Z"


@pytest.mark.parametrize(
    ("profile", "plan", "term", "method", "renews"),
    [
        (MONTHLY_AUTORENEW, "basic", "monthly", "card", True),
        (MONTHLY_AUTORENEW, "basic", "monthly", "direct_debit", True),
        (MONTHLY_AUTORENEW, "basic", "monthly", "paypal", False),
        (MONTHLY_AUTORENEW, "basic", "monthly", "cash", False),
        (MONTHLY_AUTORENEW, "basic", "quarterly", "one_time", False),
        (ANNUAL_B2B, "basic", "annual", "bank_transfer", True),
        (ANNUAL_B2B, "basic", "annual", "card", True),
        (CRM_RETENTION, "basic", "monthly", "card", True),
        (CRM_RETENTION, "basic", "monthly", "cash", False),
        (DEVICE_CLOUD, "cloud", "monthly", "direct_debit", True),
        (DEVICE_CLOUD, "cloud", "annual", "card", True),
        (DEVICE_CLOUD, "cloud", "monthly", "paypal", False),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_renew_2_who_auto_renews(
    profile: Any, plan: str, term: str, method: str, renews: bool
) -> None:
    """RENEW-2: stored methods renew; b2b always; a manual method ends at term end."""
    h = subscribed(profile, plan=plan, term=term, method=method)
    h.do("record_activity", at="2026-01-06T09:00:00Z")  # keep ACCOUNT-3 out of the way
    end = add_months(t(T0), {"monthly": 1, "quarterly": 3, "annual": 12}[term])
    for invoice in list(h.account.invoices.values()):  # pay manual invoices: no arrears noise
        if invoice.unpaid:
            h.do("record_payment", amount=invoice.unpaid, reference=f"pay-{invoice.n}", at=T0)
    h.advance(end + SECOND)
    if renews:
        assert one(h, "Renewed").at == end
        assert len(of(h, "InvoiceIssued")) == 2
        assert view(h)["status"] in ("active", "past_due")
    else:
        ended = one(h, "SubscriptionEnded")
        assert (ended.at, ended.reason) == (end, "not_renewed")
        assert len(of(h, "InvoiceIssued")) == 1
        assert (view(h)["status"], view(h)["access"]) == ("ended", False)


def test_renew_3_reminder_30_days_before_every_term_of_3_months_or_more() -> None:
    """RENEW-3: monthly-autorenew emails a renewal_reminder 30 days before each term end."""
    h = subscribed(MONTHLY_AUTORENEW, term="quarterly", at="2026-03-31T10:00:00Z")
    assert h.advance("2026-05-31T10:00:00Z") == []
    assert h.advance("2026-05-31T10:00:01Z") == ["NoticeSent"]
    h.advance("2026-10-01T00:00:00Z")
    notices = [(n.kind, n.at, n.effective_at, n.channel) for n in of(h, "NoticeSent")]
    assert notices == [
        ("renewal_reminder", t("2026-05-31T10:00:00Z"), t("2026-05-31T10:00:00Z"), "email"),
        ("renewal_reminder", t("2026-08-31T10:00:00Z"), t("2026-08-31T10:00:00Z"), "email"),
    ]
    assert [n["kind"] for n in view(h)["notices"]] == ["renewal_reminder"] * 2


@pytest.mark.parametrize(
    ("profile", "plan", "term"),
    [
        (MONTHLY_AUTORENEW, "basic", "monthly"),  # shorter than 3 months
        (ANNUAL_B2B, "basic", "annual"),
        (CRM_RETENTION, "basic", "annual"),
        (DEVICE_CLOUD, "cloud", "annual"),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_renew_3_no_reminder(profile: Any, plan: str, term: str) -> None:
    """RENEW-3: no reminder for monthly terms, nor from any other profile."""
    h = subscribed(profile, plan=plan, term=term)
    h.advance("2027-02-01T00:00:00Z")
    assert of(h, "NoticeSent") == []


def test_renew_4_cancellation_at_the_cutoff_stops_renewal() -> None:
    """RENEW-4: a request at exactly term_end - 15 days is on time and stops the renewal."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual")
    h.at_then("2026-12-21T09:00:00Z", "request_cancellation")
    request = one(h, "CancellationRequested")
    assert (request.stops_renewal, request.ends_at) == (True, t("2027-01-05T09:00:00Z"))
    h.advance("2027-01-05T09:00:01Z")
    assert one(h, "SubscriptionEnded").at == t("2027-01-05T09:00:00Z")
    assert len(of(h, "InvoiceIssued")) == 1
    assert view(h)["status"] == "ended"


def test_renew_4_late_cancellation_renews_and_ends_after_next_term() -> None:
    """RENEW-4: one second past the cutoff: renewal invoiced, ends at the next term's end."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual")
    h.at_then("2026-12-21T09:00:01Z", "request_cancellation")
    request = one(h, "CancellationRequested")
    assert (request.stops_renewal, request.ends_at) == (False, t("2028-01-05T09:00:00Z"))
    assert view(h)["status"] == "pending_cancellation"
    h.advance("2027-01-05T09:00:01Z")
    assert one(h, "Renewed").at == t("2027-01-05T09:00:00Z")
    renewal = of(h, "InvoiceIssued")[1]
    assert (renewal.n, renewal.at, renewal.amount) == (2, t("2027-01-05T09:00:00Z"), 120000)
    state = view(h)
    assert (state["status"], state["access_until"]) == (
        "pending_cancellation",
        "2028-01-05T09:00:00Z",
    )
    h.advance("2028-01-05T09:00:01Z")
    assert one(h, "SubscriptionEnded").at == t("2028-01-05T09:00:00Z")
    assert len(of(h, "InvoiceIssued")) == 2


# ================================================================ 4. price changes
def test_price_1_notice_to_live_subscriptions_on_that_plan_and_term() -> None:
    """PRICE-1: a price_change notice goes to the account on that plan and term only."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly")
    kwargs = {
        "new_price": 3500,
        "effective_at": t("2026-03-01T00:00:00Z"),
        "at": t("2026-01-20T00:00:00Z"),
        "notice_effective_at": t("2026-01-20T00:00:00Z"),
        "channel": "email",
    }
    assert h.account.notify_price_change(plan="basic", term="annual", **kwargs) is False
    assert h.account.notify_price_change(plan="pro", term="monthly", **kwargs) is False
    assert h.account.collect_events() == []
    assert h.account.notify_price_change(plan="basic", term="monthly", **kwargs) is True
    notice = names(h.drain())
    assert notice == ["NoticeSent"]
    sent = one(h, "NoticeSent")
    assert (sent.kind, sent.at, sent.channel) == ("price_change", kwargs["at"], "email")
    assert sent.details["new_price"] == 3500
    assert view(h)["notices"][0]["kind"] == "price_change"

    ended = subscribed(MONTHLY_AUTORENEW, term="monthly", method="paypal")
    ended.do("record_payment", amount=2900, reference="p1", at=T0)
    ended.advance("2026-02-10T00:00:00Z")
    assert ended.account.notify_price_change(plan="basic", term="monthly", **kwargs) is False


@pytest.mark.parametrize(
    ("profile", "period"),
    [
        (ANNUAL_B2B, Period(months=1)),
        (MONTHLY_AUTORENEW, Period(days=30)),
        (CRM_RETENTION, Period(days=30)),
        (DEVICE_CLOUD, Period(days=30)),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_price_2_minimum_notice_per_profile(profile: Any, period: Period) -> None:
    """PRICE-2: b2b one calendar month, the others 30 days (checked end to end in the
    integration suite, where `announce_price_change` answers price_notice_too_short)."""
    assert profile.min_price_notice == period
    notice_effective = t("2026-01-31T09:00:00Z")
    earliest = profile.min_price_notice.after(notice_effective)
    expected = {
        Period(months=1): t("2026-02-28T09:00:00Z"),
        Period(days=30): t("2026-03-02T09:00:00Z"),
    }[period]
    assert earliest == expected


def test_price_3_new_price_for_terms_starting_at_or_after_effective_at() -> None:
    """PRICE-3: a renewal at exactly effective_at pays the new price; a running term keeps it."""
    at_renewal = PriceChange("basic", "monthly", 3500, t("2026-02-05T09:00:00Z"), 0)
    h = Harness(MONTHLY_AUTORENEW, T0, changes=[at_renewal])
    h.do("subscribe", plan="basic", term="monthly", method="card", at=T0)
    h.advance("2026-02-05T09:00:01Z")
    assert [i.amount for i in of(h, "InvoiceIssued")] == [2900, 3500]

    after = PriceChange("basic", "monthly", 3500, t("2026-02-05T09:00:01Z"), 0)
    k = Harness(MONTHLY_AUTORENEW, T0, changes=[after])
    k.do("subscribe", plan="basic", term="monthly", method="card", at=T0)
    k.advance("2026-03-05T09:00:01Z")
    assert [i.amount for i in of(k, "InvoiceIssued")] == [2900, 2900, 3500]

    late = Harness(MONTHLY_AUTORENEW, "2026-02-06T00:00:00Z", changes=[at_renewal])
    late.do("subscribe", plan="basic", term="monthly", method="card", at="2026-02-06T00:00:00Z")
    assert one(late, "InvoiceIssued").amount == 3500


def b2b_noticed_by_courier() -> Harness:
    """An annual-b2b subscriber sent a price notice by courier on Nov 30 (effective Dec 1)."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual")
    h.account.notify_price_change(
        plan="b2b",
        term="annual",
        new_price=150000,
        effective_at=t("2027-01-05T09:00:00Z"),
        at=t("2026-11-30T09:00:00Z"),
        notice_effective_at=t("2026-12-01T09:00:00Z"),
        channel="courier",
    )
    h.drain()
    return h


def test_price_4_b2b_opt_out_within_30_days_of_notice_past_the_cutoff() -> None:
    """PRICE-4 + NOTICE-1: opt-out counted from the notice's effective time (courier +1 day)."""
    h = b2b_noticed_by_courier()
    h.at_then("2026-12-31T09:00:00Z", "request_cancellation")  # past the Dec 21 cutoff
    request = one(h, "CancellationRequested")
    assert (request.stops_renewal, request.ends_at, request.rule) == (
        True,
        t("2027-01-05T09:00:00Z"),
        "PRICE-4",
    )
    h.advance("2027-01-05T09:00:01Z")
    assert one(h, "SubscriptionEnded").at == t("2027-01-05T09:00:00Z")
    assert len(of(h, "InvoiceIssued")) == 1


def test_price_4_opt_out_window_closes_after_30_days() -> None:
    """PRICE-4: one second past notice effective time + 30 days, RENEW-4 applies again."""
    h = b2b_noticed_by_courier()
    h.at_then("2026-12-31T09:00:01Z", "request_cancellation")
    request = one(h, "CancellationRequested")
    assert (request.stops_renewal, request.ends_at) == (False, t("2028-01-05T09:00:00Z"))


# ================================================================ 5. cancellation
def test_cancel_1_access_to_term_end_then_ended() -> None:
    """CANCEL-1: stops auto-renewal; pending_cancellation with access to term end; ended."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("start_trial", plan="basic", at=T0)
    h.do("subscribe", plan="basic", term="monthly", method="card", at="2026-01-10T12:00:00Z")
    h.advance("2026-02-11T00:00:00Z")
    assert h.do("request_cancellation", at="2026-02-20T00:00:00Z") == ["CancellationRequested"]
    state = view(h)
    assert (state["status"], state["access"], state["access_until"]) == (
        "pending_cancellation",
        True,
        "2026-03-10T12:00:00Z",
    )
    assert h.advance("2026-03-10T12:00:00Z") == []
    assert h.advance("2026-03-10T12:00:01Z") == ["SubscriptionEnded"]
    state = view(h)
    assert (state["status"], state["access"], state["access_until"]) == ("ended", False, None)
    assert len(of(h, "InvoiceIssued")) == 2
    assert state["balance"]["refunded"] == "0.00"


def test_cancel_1_nothing_to_cancel() -> None:
    """CANCEL-1: nothing live to cancel is nothing_to_cancel (new account, ended one)."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    rejects(h, ErrorCode.NOTHING_TO_CANCEL, "request_cancellation", at=T0)
    h.do("subscribe", plan="basic", term="monthly", method="card", at=T0)
    h.do("request_cancellation", at="2026-01-06T09:00:00Z")
    h.advance("2026-02-06T00:00:00Z")
    rejects(h, ErrorCode.NOTHING_TO_CANCEL, "request_cancellation", at="2026-02-06T00:00:00Z")


@pytest.mark.parametrize(
    ("profile", "term"),
    [
        (MONTHLY_AUTORENEW, "annual"),
        (ANNUAL_B2B, "annual"),
        (CRM_RETENTION, "annual"),
        (CRM_RETENTION, "monthly"),
        (MONTHLY_AUTORENEW, "quarterly"),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_cancel_2_no_refund_on_customer_cancellation(profile: Any, term: str) -> None:
    """CANCEL-2: monthly-autorenew, annual-b2b and crm-retention never refund a cancellation."""
    h = subscribed(profile, term=term)
    h.advance("2026-01-20T00:00:00Z")
    h.do("request_cancellation", at="2026-01-20T00:00:00Z")
    end = add_months(t(T0), 1 if term == "monthly" else 3 if term == "quarterly" else 12)
    for when in ("2026-05-01T00:00:00Z", "2026-10-01T00:00:00Z"):  # no ACCOUNT-3 closure
        if t(when) < end:
            h.at_then(when, "record_activity")
    h.advance(end + SECOND)
    assert of(h, "RefundIssued") == []
    assert of(h, "CreditNoteIssued") == []
    state = view(h)
    assert state["balance"]["refunded"] == "0.00"
    assert state["status"] == "ended"


@pytest.mark.parametrize(
    ("cancel_at", "paid", "refund", "credit_note", "access_until"),
    [
        # scenario 04: 4 started months of 5.00 owed out of 50.00 paid
        ("2026-04-25T00:00:00Z", 5000, 3000, 0, "2026-05-20T08:00:00Z"),
        # at exactly S + 3 months the 4th month has started
        ("2026-04-20T08:00:00Z", 5000, 3000, 0, "2026-05-20T08:00:00Z"),
        ("2026-04-20T07:59:59Z", 5000, 3500, 0, "2026-04-20T08:00:00Z"),
        # at the start instant one month has started
        ("2026-01-20T08:00:00Z", 5000, 4500, 0, "2026-02-20T08:00:00Z"),
        # 11 started months at 5.00 cap at the 50.00 invoice: nothing back; access S + 11
        ("2026-11-25T00:00:00Z", 5000, 0, 0, "2026-12-20T08:00:00Z"),
        # nothing paid: the unpaid part is cancelled down to C = 20.00, no refund
        ("2026-04-25T00:00:00Z", 0, 0, 3000, "2026-05-20T08:00:00Z"),
        # 30.00 received: credit note down to max(C, received) = 30.00, refund 10.00
        ("2026-04-25T00:00:00Z", 3000, 1000, 2000, "2026-05-20T08:00:00Z"),
        # 10.00 received: credit note down to C = 20.00, nothing to refund
        ("2026-04-25T00:00:00Z", 1000, 0, 3000, "2026-05-20T08:00:00Z"),
    ],
)
def test_cancel_3_device_cloud_annual_prorated(
    cancel_at: str, paid: int, refund: int, credit_note: int, access_until: str
) -> None:
    """CANCEL-3: C = min(invoice, m x monthly); credit note to max(C, received); refund."""
    h = Harness(DEVICE_CLOUD, "2026-01-15T08:00:00Z")
    start = "2026-01-20T08:00:00Z"
    method = "card" if paid == 5000 else "bank_transfer"
    h.do("subscribe", plan="cloud", term="annual", method=method, at=start)
    if 0 < paid < 5000:
        h.do("record_payment", amount=paid, reference="bank-1", at=start)
    h.advance(cancel_at)
    h.do("request_cancellation", at=cancel_at)
    request = one(h, "CancellationRequested")
    assert (request.ends_at, request.rule) == (t(access_until), "CANCEL-3")
    assert sum(r.amount for r in of(h, "RefundIssued")) == refund
    assert sum(c.amount for c in of(h, "CreditNoteIssued")) == credit_note
    state = view(h)
    c_owed = 5000 - credit_note
    assert state["invoices"][0]["amount"] == f"{c_owed // 100}.{c_owed % 100:02d}"
    assert state["access_until"] == access_until
    assert state["balance"]["refunded"] == f"{refund // 100}.{refund % 100:02d}"
    assert int(state["balance"]["paid"].replace(".", "")) - refund <= c_owed  # never over
    h.advance(t(access_until) + SECOND)
    assert (view(h)["status"], view(h)["access"]) == ("ended", False)
    assert of(h, "Renewed") == []


def test_cancel_3_device_cloud_monthly_no_refund_access_to_term_end() -> None:
    """CANCEL-3 (s8.2.2): device-cloud monthly: no refund, access to term end."""
    h = subscribed(DEVICE_CLOUD, plan="cloud", term="monthly")
    h.do("request_cancellation", at="2026-01-20T00:00:00Z")
    assert one(h, "CancellationRequested").ends_at == t("2026-02-05T09:00:00Z")
    assert of(h, "RefundIssued") == []
    h.advance("2026-02-05T09:00:01Z")
    assert view(h)["status"] == "ended"


def test_cancel_4_b2b_access_ends_at_term_end() -> None:
    """CANCEL-4: b2b termination: deactivation not before the end of the current term."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual")
    h.do("request_cancellation", at="2026-03-01T00:00:00Z")
    state = view(h)
    assert (state["status"], state["access"], state["access_until"]) == (
        "pending_cancellation",
        True,
        "2027-01-05T09:00:00Z",
    )
    h.advance("2027-01-05T09:00:00Z")
    assert view(h)["access"] is True
    h.advance("2027-01-05T09:00:01Z")
    assert one(h, "SubscriptionEnded").at == t("2027-01-05T09:00:00Z")
    assert view(h)["access"] is False


# ================================================================ 6. payments
def test_pay_1_payment_allocated_excess_to_credit_set_off_later() -> None:
    """PAY-1: money pays what is owed; the excess is credit, set off against later charges."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly", method="paypal")
    h.do("record_payment", amount=5000, reference="pp-1", at=T0)
    payment = one(h, "PaymentReceived")
    assert (payment.allocations, payment.to_credit) == ([["inv:1", 2900]], 2100)
    assert view(h)["balance"]["credit"] == "21.00"
    # paypal does not renew (RENEW-2): a new subscription's invoice is paid from credit
    h.advance("2026-02-06T00:00:00Z")
    h.do("subscribe", plan="basic", term="monthly", method="card", at="2026-02-06T00:00:00Z")
    applied = one(h, "CreditApplied")
    assert applied.allocations == [["inv:2", 2100]]
    request = one(h, "CollectionRequested")
    assert request.amount == 800  # only what the credit did not cover is collected
    state = view(h)
    assert state["balance"]["credit"] == "0.00"
    assert state["balance"]["outstanding"] == "0.00"
    assert state["balance"]["paid"] == "58.00"


@pytest.mark.parametrize("amount", [0, -100])
def test_pay_1_amount_must_be_positive(amount: int) -> None:
    """PAY-1: a payment must be > 0: invalid_amount."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly", method="paypal")
    rejects(h, ErrorCode.INVALID_AMOUNT, "record_payment", amount=amount, reference="x", at=T0)


def test_pay_1_same_reference_twice_books_once() -> None:
    """Section 0 idempotency: the same payment reference twice is a no-op the second time."""
    h = subscribed(MONTHLY_AUTORENEW, term="annual", method="bank_transfer")
    assert h.account.record_payment(amount=10000, reference="bank-1", at=t(T0)) is True
    h.drain()
    assert (
        h.account.record_payment(amount=10000, reference="bank-1", at=t("2026-01-06T09:00:00Z"))
        is False
    )
    assert h.account.collect_events() == []
    assert len(of(h, "PaymentReceived")) == 1
    assert view(h)["balance"]["paid"] == "100.00"


def test_pay_2_overdue_past_due_then_suspended_after_7_days_then_restored() -> None:
    """PAY-2: overdue once past due; past_due (access); suspended after 7 days; paid: back."""
    h = subscribed(MONTHLY_AUTORENEW, term="annual", method="paypal")
    assert view(h)["status"] == "active"
    assert h.advance(T0) == []  # at exactly the due date the invoice is not overdue yet
    assert h.advance(t(T0) + SECOND) == ["InvoiceOverdue"]
    state = view(h)
    assert (state["status"], state["access"]) == ("past_due", True)
    assert state["invoices"][0]["status"] == "overdue"
    assert h.advance("2026-01-12T09:00:00Z") == []
    assert h.advance("2026-01-12T09:00:01Z") == ["AccessSuspended"]
    assert one(h, "AccessSuspended").at == t("2026-01-12T09:00:00Z")
    state = view(h)
    assert (state["status"], state["access"]) == ("suspended", False)
    assert of(h, "CompensationCharged") == [] and of(h, "InterestCharged") == []  # PAY-3
    h.do("record_payment", amount=20000, reference="pp-1", at="2026-01-13T00:00:00Z")
    assert view(h)["status"] == "suspended"  # partly paid: still suspended
    got = h.do("record_payment", amount=9000, reference="pp-2", at="2026-01-14T00:00:00Z")
    assert got == ["PaymentReceived", "ArrearsCleared"]
    state = view(h)
    assert (state["status"], state["access"]) == ("active", True)
    assert state["invoices"][0]["status"] == "paid"


def test_pay_2_b2b_suspends_as_soon_as_overdue() -> None:
    """PAY-2: annual-b2b suspend_after_days = 0: suspended from the overdue instant."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual", method="bank_transfer")
    h.advance("2026-01-19T09:00:01Z")
    assert one(h, "AccessSuspended").at == t("2026-01-19T09:00:00Z")
    assert (view(h)["status"], view(h)["access"]) == ("suspended", False)


def test_pay_3_b2b_interest_per_started_month_and_fixed_compensation() -> None:
    """PAY-3: 1% of unpaid principal at due + k months; 20% compensation once (scenario 03)."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual", method="bank_transfer")
    got = h.advance("2026-01-19T09:00:01Z")
    assert got[:3] == ["InvoiceOverdue", "CompensationCharged", "InterestCharged"]
    assert one(h, "CompensationCharged").amount == 24000
    first = one(h, "InterestCharged")
    assert (first.at, first.amount, first.month, first.principal) == (
        t("2026-01-19T09:00:00Z"),
        1200,
        0,
        120000,
    )
    assert view(h)["balance"]["outstanding"] == "1452.00"
    h.do("record_payment", amount=50000, reference="bank-0001", at="2026-02-10T00:00:00Z")
    assert view(h)["balance"]["principal"] == "952.00"
    assert h.advance("2026-02-19T09:00:00Z") == []
    h.advance("2026-02-19T09:00:01Z")
    second = of(h, "InterestCharged")[1]
    assert (second.at, second.amount, second.month) == (t("2026-02-19T09:00:00Z"), 952, 1)
    assert len(of(h, "CompensationCharged")) == 1  # once
    h.do("record_payment", amount=96152, reference="bank-0002", at="2026-02-20T00:00:00Z")
    state = view(h)
    assert state["balance"]["outstanding"] == "0.00"
    assert state["status"] == "active"
    h.advance("2026-06-01T00:00:00Z")  # principal paid: no more interest
    assert len(of(h, "InterestCharged")) == 2


@pytest.mark.parametrize(
    ("price", "compensation", "interest"),
    [
        (120000, 24000, 1200),
        (50000, 15000, 500),  # 20% = 100.00 < the 150.00 minimum
        (75000, 15000, 750),  # exactly the minimum
        (123450, 24690, 1235),  # 1% of 1234.50 = 12.345 -> 12.35 (half-up)
    ],
)
def test_pay_3_compensation_minimum_and_half_up_interest(
    price: int, compensation: int, interest: int
) -> None:
    """PAY-3: compensation max(20%, 150.00); interest rounds half-up to the cent."""
    h = Harness(ANNUAL_B2B, T0, catalog={"b2b": {"annual": price}})
    h.do("subscribe", plan="b2b", term="annual", method="bank_transfer", at=T0)
    h.advance("2026-01-19T09:00:01Z")
    assert one(h, "CompensationCharged").amount == compensation
    assert one(h, "InterestCharged").amount == interest


@pytest.mark.parametrize(
    "profile", [MONTHLY_AUTORENEW, CRM_RETENTION, DEVICE_CLOUD], ids=lambda p: p.name
)
def test_pay_3_other_profiles_charge_no_interest_or_fees(profile: Any) -> None:
    """PAY-3: only annual-b2b charges late interest and fixed compensation."""
    plan = "cloud" if profile is DEVICE_CLOUD else "basic"
    h = subscribed(profile, plan=plan, term="annual", method="bank_transfer")
    h.advance("2026-06-01T00:00:00Z")
    assert of(h, "InvoiceOverdue")
    assert of(h, "CompensationCharged") == [] and of(h, "InterestCharged") == []
    assert view(h)["balance"]["outstanding"] == view(h)["balance"]["principal"]


def test_pay_4_b2b_costs_then_compensation_then_interest_then_principal() -> None:
    """PAY-4: annual-b2b allocation order, then principal."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual", method="bank_transfer")
    h.advance("2026-01-19T09:00:01Z")
    h.do("record_collection_cost", amount=5000, at="2026-02-01T00:00:00Z")
    h.do("record_payment", amount=50000, reference="bank-1", at="2026-02-02T00:00:00Z")
    allocations = one(h, "PaymentReceived").allocations
    assert [(cid.split(":")[0], part) for cid, part in allocations] == [
        ("cost", 5000),
        ("comp", 24000),
        ("int", 1200),
        ("inv", 19800),
    ]
    balance = view(h)["balance"]
    assert (balance["fees"], balance["interest"], balance["principal"]) == (
        "0.00",
        "0.00",
        "1002.00",
    )


def test_pay_4_other_profiles_oldest_invoice_first() -> None:
    """PAY-4: other profiles pay principal only, oldest invoice first."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly", method="card", psp="decline")
    h.advance("2026-03-06T00:00:00Z")  # invoices 1..3, all declined
    assert len(of(h, "InvoiceIssued")) == 3
    h.do("record_payment", amount=4000, reference="bank-1", at="2026-03-06T00:00:00Z")
    assert one(h, "PaymentReceived").allocations == [["inv:1", 2900], ["inv:2", 1100]]


def test_pay_4_allocate_orders_by_class_then_age() -> None:
    """PAY-4: `allocate` pays classes in order, oldest first within a class."""
    owed = [
        Owed("inv:2", "principal", 2, 1000),
        Owed("inv:1", "principal", 1, 1000),
        Owed("int:1:0", "interest", 3, 100),
        Owed("comp:1", "compensation", 4, 500),
        Owed("cost:9", "collection_cost", 9, 50),
    ]
    lines, rest = allocate(1700, owed, ("collection_cost", "compensation", "interest", "principal"))
    assert lines == [
        ("cost:9", 50),
        ("comp:1", 500),
        ("int:1:0", 100),
        ("inv:1", 1000),
        ("inv:2", 50),
    ]
    assert rest == 0
    lines, rest = allocate(5000, owed, ("principal",))
    assert lines[:2] == [("inv:1", 1000), ("inv:2", 1000)]
    assert rest == 5000 - 2650  # kinds missing from the order are still paid, after it


def test_pay_5_b2b_collection_costs() -> None:
    """PAY-5: annual-b2b may add collection costs; they are owed (fees) and paid first."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual", method="bank_transfer")
    assert h.do("record_collection_cost", amount=2500, at="2026-01-10T00:00:00Z") == [
        "CollectionCostRecorded"
    ]
    balance = view(h)["balance"]
    assert (balance["fees"], balance["outstanding"]) == ("25.00", "1225.00")
    rejects(
        h, ErrorCode.INVALID_AMOUNT, "record_collection_cost", amount=0, at="2026-01-10T00:00:00Z"
    )


def test_pay_5_only_b2b_records_collection_costs() -> None:
    """PAY-5: other profiles have no collection costs: the command is refused, nothing kept."""
    h = subscribed(MONTHLY_AUTORENEW, term="annual", method="bank_transfer")
    assert h.account.collect_events() == []
    with pytest.raises(Rejected):
        h.do("record_collection_cost", amount=2500, at="2026-01-10T00:00:00Z")
    assert h.account.collect_events() == []


def test_pay_6_dispute_window_is_7_days_inclusive() -> None:
    """PAY-6: within 7 days of issue (at exactly +7 days is on time); later is closed."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual", method="bank_transfer")
    rejects(
        h,
        ErrorCode.DISPUTE_WINDOW_CLOSED,
        "dispute_invoice",
        n=1,
        reason="late",
        at="2026-01-12T09:00:01Z",
    )
    assert h.do("dispute_invoice", n=1, reason="wrong seats", at="2026-01-12T09:00:00Z") == [
        "InvoiceDisputed"
    ]
    rejects(
        h, ErrorCode.UNKNOWN_INVOICE, "dispute_invoice", n=2, reason="?", at="2026-01-12T09:00:00Z"
    )


def test_pay_6_dispute_does_not_stop_the_invoice_being_due() -> None:
    """PAY-6: a disputed invoice still falls due, with its late charges."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual", method="bank_transfer")
    h.do("dispute_invoice", n=1, reason="wrong seats", at="2026-01-06T09:00:00Z")
    h.advance("2026-01-19T09:00:01Z")
    assert one(h, "InvoiceOverdue").n == 1
    assert one(h, "CompensationCharged").amount == 24000
    state = view(h)
    assert state["invoices"][0]["status"] == "disputed"
    assert state["status"] == "suspended"


def test_pay_6_unknown_invoice_on_a_new_account() -> None:
    """PAY-6: no invoice n on the account: unknown_invoice."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    rejects(h, ErrorCode.UNKNOWN_INVOICE, "dispute_invoice", n=1, reason="?", at=T0)


# ================================================================ 7. accounts and data
def test_account_1_update_personal_data() -> None:
    """ACCOUNT-1: update_personal_data replaces the (sealed) personal fields."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    assert h.do("update_personal_data", personal="sealed-v2", at="2026-01-06T00:00:00Z") == [
        "PersonalDataUpdated"
    ]
    assert h.account.personal == "sealed-v2"
    assert one(h, "PersonalDataUpdated").personal == "sealed-v2"


@pytest.mark.parametrize(
    ("birth_date", "adult"),
    [
        (date(2008, 1, 6), False),  # 18 tomorrow
        (date(2010, 6, 1), False),
        (date(2008, 1, 5), True),  # 18 today
        (date(1970, 1, 1), True),
    ],
)
def test_account_2_minimum_age_18(birth_date: date, adult: bool) -> None:
    """ACCOUNT-2: registering a person under 18 is rejected underage, recording nothing."""
    kwargs = {
        "ref": "kid",
        "profile": MONTHLY_AUTORENEW,
        "currency": "EUR",
        "at": t(T0),
        "personal": "sealed",
        "birth_date": birth_date,
    }
    if adult:
        account = Account.register(**kwargs)
        assert names(account.collect_events()) == ["Registered"]
    else:
        with pytest.raises(Rejected) as caught:
            Account.register(**kwargs)
        assert caught.value.code is ErrorCode.UNDERAGE


def test_account_3_crm_inactivity_6_calendar_months_closes_and_erases() -> None:
    """ACCOUNT-3: crm-retention: 6 calendar months without activity: closed, erased at once."""
    h = Harness(CRM_RETENTION, "2026-01-31T10:00:00Z")
    assert h.advance("2026-07-31T10:00:00Z") == []
    assert h.advance("2026-07-31T10:00:01Z") == [
        "AccountClosed",
        "PersonalDataErased",
        "InvoiceIdentityErased",
    ]
    closed = one(h, "AccountClosed")
    assert (closed.at, closed.reason) == (t("2026-07-31T10:00:00Z"), "inactivity")
    state = view(h)
    assert (state["status"], state["privacy"]["personal_data"]) == ("closed", "erased")


@pytest.mark.parametrize(
    ("command", "kwargs"),
    [
        ("record_activity", {}),
        ("export_personal_data", {}),
        ("update_personal_data", {"personal": "sealed-v2"}),
        ("subscribe", {"plan": "basic", "term": "monthly", "method": "paypal"}),
    ],
)
def test_account_3_customer_commands_count_as_activity(
    command: str, kwargs: dict[str, Any]
) -> None:
    """ACCOUNT-3: registration, record_activity or any other customer command is activity."""
    h = Harness(CRM_RETENTION, "2026-01-31T10:00:00Z")
    h.at_then("2026-04-30T10:00:00Z", command, **kwargs)
    if command == "subscribe":  # do not let the unpaid monthly invoice end things early
        h.do("record_payment", amount=2900, reference="pay", at="2026-04-30T10:00:00Z")
    h.advance("2026-07-31T10:00:01Z")
    assert of(h, "AccountClosed") == []
    h.advance("2026-10-30T10:00:01Z")
    assert one(h, "AccountClosed").at == t("2026-10-30T10:00:00Z")


def test_account_3_activity_at_exactly_the_deadline_is_on_time() -> None:
    """ACCOUNT-3 + section 0: an action at exactly a deadline sees the state before the work."""
    h = Harness(CRM_RETENTION, "2026-01-31T10:00:00Z")
    h.at_then("2026-07-31T10:00:00Z", "record_activity")
    h.advance("2026-08-01T00:00:00Z")
    assert of(h, "AccountClosed") == []


def test_account_3_device_cloud_inactivity_365_days() -> None:
    """ACCOUNT-3: device-cloud: 365 days without activity."""
    h = Harness(DEVICE_CLOUD, T0)
    assert h.advance("2027-01-05T09:00:00Z") == []
    h.advance("2027-01-05T09:00:01Z")
    assert one(h, "AccountClosed").at == t("2027-01-05T09:00:00Z")
    assert one(h, "PersonalDataErased").reason == "inactivity"


def test_account_3_inactivity_closure_ends_a_live_subscription() -> None:
    """ACCOUNT-3: closing for inactivity ends what is live and erases, despite GDPR-2."""
    h = subscribed(CRM_RETENTION, term="monthly", method="card", at="2026-01-31T10:00:00Z")
    h.advance("2026-07-31T10:00:01Z")
    assert one(h, "SubscriptionEnded").reason == "account_closed"
    assert one(h, "PersonalDataErased").at == t("2026-07-31T10:00:00Z")
    assert of(h, "ErasureScheduled") == []


@pytest.mark.parametrize("profile", [MONTHLY_AUTORENEW, ANNUAL_B2B], ids=lambda p: p.name)
def test_account_3_other_profiles_never_close_for_inactivity(profile: Any) -> None:
    """ACCOUNT-3: other profiles: never."""
    h = Harness(profile, T0)
    h.advance("2030-01-01T00:00:00Z")
    assert of(h, "AccountClosed") == []


def test_account_3_trial_cancellation_is_customer_activity() -> None:
    """ACCOUNT-3: "any other command of the customer's" includes cancelling a trial (a fifth
    profile with an inactivity rule and a cancellable trial, defined as data only)."""
    profile = dataclasses.replace(DEVICE_CLOUD, name="device-cloud-flex", trial_cancellable=True)
    h = Harness(profile, T0)
    h.do("start_trial", plan="cloud", at=T0)  # activity at T0
    h.do("request_cancellation", at="2026-01-10T09:00:00Z")  # activity at Jan 10
    h.advance("2027-01-05T09:00:01Z")  # 365 days after T0, but not after Jan 10
    assert of(h, "AccountClosed") == []
    h.advance("2027-01-10T09:00:01Z")
    assert one(h, "AccountClosed").at == t("2027-01-10T09:00:00Z")


def test_account_4_closure_rejected_with_every_reason() -> None:
    """ACCOUNT-4: too_new, balance, open_invoices, active_subscription, dispute, all at once."""
    h = Harness(DEVICE_CLOUD, T0)
    h.do(
        "subscribe", plan="cloud", term="annual", method="bank_transfer", at="2026-01-06T09:00:00Z"
    )
    h.do("dispute_invoice", n=1, reason="wrong", at="2026-01-07T09:00:00Z")
    h.advance("2026-01-08T09:00:00Z")
    error = rejects(
        h, ErrorCode.CLOSURE_REJECTED, "request_account_closure", at="2026-01-08T09:00:00Z"
    )
    assert set(error.reasons) == {
        "too_new",
        "balance",
        "open_invoices",
        "active_subscription",
        "dispute",
    }
    assert len(error.reasons) == 5
    assert error.as_dict()["reasons"] == list(error.reasons)


@pytest.mark.parametrize(
    ("at", "reasons"),
    [("2026-01-12T08:59:59Z", ("too_new",)), ("2026-01-12T09:00:00Z", ())],
)
def test_account_4_device_cloud_too_new_for_7_days(at: str, reasons: tuple[str, ...]) -> None:
    """ACCOUNT-4: device-cloud: less than 7 days since registration is too_new."""
    h = Harness(DEVICE_CLOUD, T0)
    if reasons:
        error = rejects(h, ErrorCode.CLOSURE_REJECTED, "request_account_closure", at=at)
        assert error.reasons == reasons
    else:
        assert h.do("request_account_closure", at=at)[0] == "AccountClosed"


def test_account_4_credit_held_is_a_balance_reason() -> None:
    """ACCOUNT-4: balance covers credit held as well as money owed."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("record_payment", amount=1000, reference="gift", at=T0)
    error = rejects(
        h, ErrorCode.CLOSURE_REJECTED, "request_account_closure", at="2026-01-06T09:00:00Z"
    )
    assert error.reasons == ("balance",)


def test_account_4_closure_succeeds_when_nothing_applies() -> None:
    """ACCOUNT-4: with no reason, the account closes (and GDPR-2 erases at closure)."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly")
    h.do("request_cancellation", at="2026-01-06T09:00:00Z")
    h.advance("2026-02-06T00:00:00Z")
    got = h.do("request_account_closure", at="2026-02-06T00:00:00Z")
    assert got == ["AccountClosed", "PersonalDataErased", "InvoiceIdentityRetained"]
    assert view(h)["status"] == "closed"
    assert view(h)["access"] is False


def test_account_5_device_cloud_email_cooldown_is_10_days() -> None:
    """ACCOUNT-5: device-cloud keeps a closed account's email from registering for 10 days
    (the store-level check runs in the integration suite); no other profile has one."""
    assert DEVICE_CLOUD.email_cooldown_days == 10
    assert all(
        p.email_cooldown_days == 0 for p in BUILT_IN_PROFILES.values() if p is not DEVICE_CLOUD
    )


CLOSED_ACCOUNT_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("start_trial", {"plan": "basic"}),
    ("subscribe", {"plan": "basic", "term": "monthly", "method": "card"}),
    ("purchase_prepaid", {"plan": "basic", "months": 3, "method": "card"}),
    ("cancel_queued", {}),
    ("record_collection_cost", {"amount": 1000}),
    ("dispute_invoice", {"n": 1, "reason": "?"}),
    ("request_cancellation", {}),
    ("record_activity", {}),
    ("update_personal_data", {"personal": "sealed-v2"}),
    ("request_account_closure", {}),
    # the 1.1 exceptions (record_payment, request_data_deletion, export_personal_data)
    # are tested in tests/unit/test_spec_1_1_rules.py
]


@pytest.mark.parametrize(
    ("command", "kwargs"), CLOSED_ACCOUNT_COMMANDS, ids=[c for c, _ in CLOSED_ACCOUNT_COMMANDS]
)
def test_account_6_commands_on_a_closed_account(command: str, kwargs: dict[str, Any]) -> None:
    """ACCOUNT-6: every command on a closed account is account_closed, but the 1.1
    exceptions."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly")
    h.do("request_cancellation", at="2026-01-06T09:00:00Z")
    h.advance("2026-02-06T00:00:00Z")
    h.do("request_account_closure", at="2026-02-06T00:00:00Z")
    rejects(h, ErrorCode.ACCOUNT_CLOSED, command, at="2026-02-07T00:00:00Z", **kwargs)


@pytest.mark.parametrize(
    ("profile", "requested", "due"),
    [
        (MONTHLY_AUTORENEW, "2026-01-09T10:00:00Z", "2026-02-08T10:00:00Z"),  # 30 days
        (CRM_RETENTION, "2026-01-09T10:00:00Z", "2026-01-30T10:00:00Z"),  # 15 working days
        (CRM_RETENTION, "2026-01-10T10:00:00Z", "2026-01-30T10:00:00Z"),  # from a Saturday
        (ANNUAL_B2B, "2026-01-09T10:00:00Z", "2026-02-08T10:00:00Z"),
        (DEVICE_CLOUD, "2026-01-09T10:00:00Z", "2026-02-08T10:00:00Z"),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_gdpr_1_deletion_deadline_and_automatic_erasure(
    profile: Any, requested: str, due: str
) -> None:
    """GDPR-1: the deadline is recorded (and kept), the contact data is erased at once,
    well before it; GDPR-3: the invoice identity is retained for the financial records,
    with the reason and the date, and nothing is left to do at the deadline."""
    h = Harness(profile, "2026-01-02T10:00:00Z")
    assert h.do("request_data_deletion", at=requested) == [
        "DataDeletionRequested",
        "PersonalDataErased",
        "InvoiceIdentityErased",
    ]
    assert one(h, "DataDeletionRequested").due_at == t(due)
    erased = one(h, "PersonalDataErased")
    assert (erased.at, erased.reason) == (t(requested), "deletion_request")
    # no invoice was ever issued: no financial record keeps the invoice identity
    privacy = view(h, requested)["privacy"]
    assert privacy == {"personal_data": "erased", "deletion_due_at": due, "deletion_overdue": False}
    assert h.advance(t(due) + SECOND) == []
    assert view(h, t(due) + SECOND)["privacy"] == privacy
    assert h.do("request_data_deletion", at=t(due) + SECOND) == []  # nothing left to erase


def test_gdpr_3_invoice_identity_shredded_10_years_after_the_last_invoice() -> None:
    """GDPR-3 on the scenario clock: the billing name and address outlive the contact data
    for `financial_retention_years` after the last invoice, then the scheduler erases
    them; an invoice issued after the erasure pushes that date."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly", at="2026-01-02T10:00:00Z")
    assert h.do("request_data_deletion", at="2026-01-20T10:00:00Z") == [
        "DataDeletionRequested",
        "PersonalDataErased",
        "InvoiceIdentityRetained",
    ]
    retained = one(h, "InvoiceIdentityRetained")
    assert retained.until == t("2036-01-02T10:00:00Z")  # invoice 1 + 10 years
    assert "GDPR-3" in retained.reason and "10 years" in retained.reason
    h.do("request_cancellation", at="2026-01-25T10:00:00Z")
    h.advance("2026-03-01T00:00:00Z")  # the subscription ended; no invoice after the first
    assert h.advance("2036-01-02T10:00:00Z") == []  # not before
    assert h.advance("2036-01-02T10:00:01Z") == ["InvoiceIdentityErased"]
    assert h.a.billing_state == "erased" and h.a.next_deadline() is None


def test_gdpr_3_a_later_invoice_extends_the_invoice_identity() -> None:
    h = subscribed(MONTHLY_AUTORENEW, term="monthly", at="2026-01-02T10:00:00Z")
    h.do("request_data_deletion", at="2026-01-20T10:00:00Z")  # the subscription goes on
    h.advance("2026-02-02T10:00:01Z")  # renewed: invoice 2 on 2026-02-02
    h.do("request_cancellation", at="2026-02-10T10:00:00Z")
    h.advance("2026-03-03T00:00:00Z")
    h.drain()
    assert h.advance("2036-01-02T10:00:01Z") == ["InvoiceIdentityRetained"]
    assert h.a.billing_erase_at == t("2036-02-02T10:00:00Z")
    assert h.advance("2036-02-02T10:00:01Z") == ["InvoiceIdentityErased"]


def test_gdpr_2_crm_erases_6_months_after_the_last_subscription_ended() -> None:
    """GDPR-2: crm keeps personal data 6 months after termination; later activity does not
    move it."""
    h = subscribed(CRM_RETENTION, term="monthly", at="2026-01-02T10:00:00Z")
    h.do("request_cancellation", at="2026-01-10T10:00:00Z")
    h.advance("2026-02-02T10:00:01Z")
    scheduled = one(h, "ErasureScheduled")
    assert (scheduled.at, scheduled.erase_at) == (
        t("2026-02-02T10:00:00Z"),
        t("2026-08-02T10:00:00Z"),
    )
    h.at_then("2026-03-01T10:00:00Z", "record_activity")
    h.at_then("2026-06-01T10:00:00Z", "record_activity")
    assert h.advance("2026-08-02T10:00:00Z") == []
    assert view(h)["privacy"]["personal_data"] == "present"
    assert h.advance("2026-08-02T10:00:01Z") == ["PersonalDataErased", "InvoiceIdentityRetained"]
    assert one(h, "PersonalDataErased").reason == "retention"
    assert of(h, "AccountClosed") == []


def test_gdpr_2_crm_new_subscription_cancels_the_erasure() -> None:
    """GDPR-2: a new subscription inside the retention period cancels that erasure."""
    h = subscribed(CRM_RETENTION, term="monthly", at="2026-01-02T10:00:00Z")
    h.do("request_cancellation", at="2026-01-10T10:00:00Z")
    h.advance("2026-05-01T10:00:00Z")
    got = h.do("subscribe", plan="basic", term="annual", method="card", at="2026-05-01T10:00:00Z")
    assert got[0] == "ErasureCancelled"
    h.advance("2026-09-01T00:00:00Z")
    assert of(h, "PersonalDataErased") == []
    assert view(h)["privacy"]["personal_data"] == "present"


def test_gdpr_2_crm_termination_is_the_earlier_of_end_and_closure() -> None:
    """GDPR-2: closing at the customer's request after the subscription ended keeps the
    earlier erasure date; closing with nothing ended starts it at closure."""
    h = subscribed(CRM_RETENTION, term="monthly", at="2026-01-02T10:00:00Z")
    h.do("request_cancellation", at="2026-01-10T10:00:00Z")
    h.advance("2026-03-01T00:00:00Z")
    h.do("request_account_closure", at="2026-03-01T00:00:00Z")
    assert h.account.erase_at == t("2026-08-02T10:00:00Z")
    h.advance("2026-08-02T10:00:01Z")
    assert one(h, "PersonalDataErased").at == t("2026-08-02T10:00:00Z")

    k = Harness(CRM_RETENTION, "2026-01-02T10:00:00Z", ref="k")
    got = k.do("request_account_closure", at="2026-02-01T10:00:00Z")
    assert got == ["AccountClosed", "ErasureScheduled"]
    assert k.account.erase_at == t("2026-08-01T10:00:00Z")
    assert k.advance("2026-08-01T10:00:00Z") == []
    assert k.advance("2026-08-01T10:00:01Z") == ["PersonalDataErased", "InvoiceIdentityErased"]


def test_gdpr_2_b2b_soft_delete_at_deactivation_anonymise_6_months_later() -> None:
    """GDPR-2: annual-b2b soft-deletes at the end of access and anonymises 6 months later."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual")
    h.do("request_cancellation", at="2026-03-01T00:00:00Z")
    h.advance("2027-01-05T09:00:00Z")
    assert view(h)["privacy"]["personal_data"] == "present"
    h.advance("2027-01-05T09:00:01Z")
    soft = one(h, "PersonalDataSoftDeleted")
    assert (soft.at, soft.anonymise_at) == (t("2027-01-05T09:00:00Z"), t("2027-07-05T09:00:00Z"))
    assert view(h)["privacy"]["personal_data"] == "soft_deleted"
    assert h.advance("2027-07-05T09:00:00Z") == []
    assert h.advance("2027-07-05T09:00:01Z") == [
        "PersonalDataAnonymised",
        "InvoiceIdentityRetained",
    ]
    assert view(h)["privacy"]["personal_data"] == "anonymised"


@pytest.mark.parametrize("profile", [MONTHLY_AUTORENEW, DEVICE_CLOUD], ids=lambda p: p.name)
def test_gdpr_2_erase_at_closure(profile: Any) -> None:
    """GDPR-2: monthly-autorenew and device-cloud keep data while open, erase at closure."""
    plan = "cloud" if profile is DEVICE_CLOUD else "basic"
    h = subscribed(profile, plan=plan, term="monthly")
    h.do("request_cancellation", at="2026-01-06T09:00:00Z")
    h.advance("2026-03-01T00:00:00Z")
    assert view(h)["status"] == "ended"
    assert view(h)["privacy"]["personal_data"] == "present"
    got = h.do("request_account_closure", at="2026-03-01T00:00:00Z")
    assert got == ["AccountClosed", "PersonalDataErased", "InvoiceIdentityRetained"]
    assert one(h, "PersonalDataErased").at == t("2026-03-01T00:00:00Z")


def test_gdpr_3_financial_records_survive_erasure() -> None:
    """GDPR-3: invoices, payments and the journal keep their amounts after erasure."""
    h = subscribed(MONTHLY_AUTORENEW, term="annual")
    before = view(h)
    invoices = copy.deepcopy(h.account.invoices)
    h.do("request_data_deletion", at="2026-01-06T09:00:00Z")
    h.advance("2026-03-01T00:00:00Z")
    assert h.account.personal_state == "erased"
    assert h.account.invoices == invoices
    after = view(h)
    assert after["balance"] == before["balance"]
    assert after["invoices"] == before["invoices"]
    assert all(p.financial_retention_years == 10 for p in BUILT_IN_PROFILES.values())


def test_gdpr_4_export_is_recorded() -> None:
    """GDPR-4 / GDPR-6: export_personal_data is itself recorded in the audit trail."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    assert h.do("export_personal_data", at="2026-01-06T09:00:00Z") == ["PersonalDataExported"]
    assert one(h, "PersonalDataExported").at == t("2026-01-06T09:00:00Z")


def test_gdpr_5_erasure_is_an_event_history_stays_and_replays() -> None:
    """GDPR-5: erasure records PersonalDataErased, leaves every event, and replays."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("request_data_deletion", at="2026-01-06T09:00:00Z")
    recorded = list(h.events)
    h.advance("2026-03-01T00:00:00Z")
    assert h.events[: len(recorded)] == recorded
    assert one(h, "Registered").personal == "sealed"  # the ciphertext stays in place
    replayed = None
    for event in h.events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.personal_state == "erased"
    assert replayed.personal == "sealed"


def test_gdpr_6_processing_records_carry_what_when_legal_basis_and_actor() -> None:
    """GDPR-6: registration, update, export and erasure each leave an audit record (what,
    when, legal basis, by whom) in the GDPR audit projection, kept after erasure."""
    h = Harness(MONTHLY_AUTORENEW, T0)
    h.do("update_personal_data", personal="sealed-v2", at="2026-01-06T09:00:00Z")
    h.do("export_personal_data", at="2026-01-07T09:00:00Z")
    h.do("request_data_deletion", at="2026-01-08T09:00:00Z")
    h.advance("2026-03-01T00:00:00Z")
    doc = new_doc(h.ref)
    for event in h.events:
        apply(doc, event)
    records = doc["privacy"].get("records")
    assert records, "the account view keeps no processing records"
    processing = {
        "Registered": T0,
        "PersonalDataUpdated": "2026-01-06T09:00:00Z",
        "PersonalDataExported": "2026-01-07T09:00:00Z",
        "PersonalDataErased": "2026-01-08T09:00:00Z",
    }  # at once (GDPR-1)
    assert len(records) >= len(processing)
    for record in records:
        basis = [k for k in record if "basis" in k]
        actor = [k for k in record if k in ("actor", "by", "processed_by", "requested_by")]
        assert basis and record[basis[0]], record
        assert actor and record[actor[0]], record
        assert record.get("what"), record
    recorded_at = {r["at"] for r in records}
    assert set(processing.values()) <= recorded_at
    assert doc["privacy"]["personal_data"] == "erased"  # and the records are still there


# ================================================================ section 0 / section 8
def test_section0_scheduled_work_is_recorded_at_its_due_instant() -> None:
    """Section 0: work for T runs once the clock is strictly past T, recorded at T."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly")
    ran = advance(h.account, t("2026-06-01T00:00:00Z"), h.book)
    assert ran[0] == t("2026-02-05T09:00:00Z")
    assert ran == sorted(ran)


def test_status_precedence_ended_whatever_is_owed() -> None:
    """Section 8: with nothing live, the status is ended even with money owed."""
    h = subscribed(MONTHLY_AUTORENEW, term="monthly", method="paypal")
    h.advance("2026-03-01T00:00:00Z")
    state = view(h)
    assert state["status"] == "ended"
    assert state["balance"]["outstanding"] == "29.00"
    assert state["access"] is False


def test_run_due_is_one_piece_at_a_time_in_time_order() -> None:
    """Section 0: scheduled work runs in time order, each piece recorded with its T."""
    h = subscribed(ANNUAL_B2B, plan="b2b", term="annual", method="bank_transfer")
    at = h.account.run_due(before=t("2026-06-01T00:00:00Z"), book=h.book)
    assert at == t("2026-01-19T09:00:00Z")
    assert names(h.account.collect_events())[0] == "InvoiceOverdue"
    assert h.account.run_due(before=t("2026-01-19T09:00:00Z"), book=book()) is None


def test_status_precedence_suspended_over_past_due_over_pending_cancellation() -> None:
    """Section 8: suspended > past_due > pending_cancellation > active."""
    h = subscribed(MONTHLY_AUTORENEW, term="annual", method="paypal")
    h.do("request_cancellation", at=T0)
    assert view(h)["status"] == "pending_cancellation"
    h.advance(t(T0) + SECOND)
    assert (view(h)["status"], view(h)["access"]) == ("past_due", True)
    h.advance("2026-01-12T09:00:01Z")
    assert (view(h)["status"], view(h)["access"]) == ("suspended", False)
    h.do("record_payment", amount=29000, reference="pp", at="2026-01-13T00:00:00Z")
    assert (view(h)["status"], view(h)["access"]) == ("pending_cancellation", True)


def test_collection_answers_are_idempotent() -> None:
    """Section 0 idempotency: a provider callback delivered twice books one payment."""
    h = Harness(MONTHLY_AUTORENEW, T0, psp="none")
    h.do("subscribe", plan="basic", term="monthly", method="card", at=T0)
    reference = one(h, "CollectionRequested").reference
    assert reference == "collect:acme:1"
    assert h.account.collection_succeeded(reference=reference, at=t(T0)) is True
    assert h.account.collection_succeeded(reference=reference, at=t(T0)) is False
    assert h.account.collection_failed(reference=reference, at=t(T0)) is False
    assert names(h.drain()) == ["PaymentReceived"]


def test_account_4_a_live_trial_blocks_closure_as_an_active_subscription() -> None:
    """ACCOUNT-4 with TRIAL-5: closing would end a trial that cannot be cancelled."""
    from datetime import UTC, datetime, timedelta

    from domain.account import Account
    from domain.errors import ErrorCode, Rejected
    from domain.pricing import PriceBook
    from domain.profiles import BUILT_IN_PROFILES

    t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    account = Account.register(
        ref="t",
        profile=BUILT_IN_PROFILES["device-cloud"],
        currency="EUR",
        at=t0,
        personal="sealed",
        birth_date=None,
    )
    account.start_trial(plan="cloud", at=t0, book=PriceBook({"cloud": {"monthly": 500}}))
    pending = len(account.collect_events())
    with pytest.raises(Rejected) as refused:
        account.request_account_closure(at=t0 + timedelta(days=8))
    assert refused.value.code is ErrorCode.CLOSURE_REJECTED
    assert refused.value.reasons == ("active_subscription",)
    assert pending == 2 and account.collect_events() == []


def test_replay_tolerates_a_profile_recorded_by_another_version() -> None:
    """Replayed `Registered` bodies must not fail: unknown profile keys are ignored and
    missing ones take their defaults, while recorded numbers are kept."""
    from domain.profiles import ANNUAL_B2B, profile_from_record

    recorded = ANNUAL_B2B.as_dict()
    assert profile_from_record(recorded) == ANNUAL_B2B
    recorded["grace_days_added_in_v9"] = 3
    del recorded["dispute_window_days"]
    replayed = profile_from_record(recorded)
    assert replayed.late_fee_min_minor == 15000
    assert replayed.min_price_notice == ANNUAL_B2B.min_price_notice
    assert replayed.dispute_window_days == 7
